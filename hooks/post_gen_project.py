"""Remove what the answers did not ask for, then tell the user what to do next.

Which files belong to which choice is said once, in ``answers.py``
(``FILES_OF_CHOICE``); cookiecutter hands this script the list while it
renders it (the ``unchosen_paths`` filter). An answer this bake has nothing
to change with gets one ``WARNING:`` line at the end (the ``answer_notes``
filter, ``answers.notes``); it does not fail the bake.
"""

import json
import shutil
import sys
from pathlib import Path

ANSWERS = json.loads(r"""{{ cookiecutter | tojson }}""")
UNCHOSEN = json.loads(r"""{{ cookiecutter | unchosen_paths | tojson }}""")
NOTES = json.loads(r"""{{ cookiecutter | answer_notes | tojson }}""")

NEXT_STEPS = """
Baked {slug}/: a Locust load test for {host} that triggers Tideways traces.

Next steps:
  cd {slug}
  python -m venv .venv && . .venv/bin/activate
  pip install -r requirements.txt
  cp .env.example .env        # then put your Tideways API key in .env
  locust                      # web UI on http://localhost:8089
  locust --headless           # or a headless run with the settings in locust.conf
  python -m tideways_locust.report   # then Locust beside Tideways (TIDEWAYS_API_TOKEN in .env)
"""


def remove_unchosen(project: Path) -> None:
    for relative in UNCHOSEN:
        path = project / relative
        if path.is_dir():
            shutil.rmtree(path)
        elif path.exists():
            path.unlink()


# The users come from an API description, or from the endpoints answer; the importer and
# what it generates are baked only for the first.
API_PATHS = ["api_import", "generated", "tests/test_api_import.py"]


def import_api(project: Path) -> None:
    """Generate the users' requests with the baked project's own importer (``python -m api_import``)."""
    source = ANSWERS.get("__api_source", "")
    if not source:
        for relative in API_PATHS:
            path = project / relative
            shutil.rmtree(path) if path.is_dir() else path.unlink(missing_ok=True)
        return
    sys.path.insert(0, str(project))
    from api_import.generate import summary, write
    from api_import.problems import DescriptionError

    try:
        result, _written = write(project, source, ANSWERS["host"].rstrip("/"))
    except DescriptionError as problem:
        print(f"ERROR: api_description: {problem}", file=sys.stderr)
        sys.exit(1)  # cookiecutter removes the half-made project
    print("Users from " + ANSWERS["api_description"] + ":\n" + "\n".join(f"  {line}" for line in summary(result)))


def main() -> None:
    project = Path.cwd()
    remove_unchosen(project)
    import_api(project)
    print(NEXT_STEPS.format(slug=ANSWERS["project_slug"], host=ANSWERS["host"]))
    for note in NOTES:
        print(f"WARNING: {note}", file=sys.stderr)


if __name__ == "__main__":
    main()
