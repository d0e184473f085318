"""Remove what the answers did not ask for, then tell the user what to do next.

Which files belong to which choice is said once, in ``answers.py``
(``FILES_OF_CHOICE``); cookiecutter hands this script the list while it
renders it (the ``unchosen_paths`` filter).
"""

import json
import shutil
from pathlib import Path

ANSWERS = json.loads(r"""{{ cookiecutter | tojson }}""")
UNCHOSEN = json.loads(r"""{{ cookiecutter | unchosen_paths | tojson }}""")

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


def main() -> None:
    remove_unchosen(Path.cwd())
    print(NEXT_STEPS.format(slug=ANSWERS["project_slug"], host=ANSWERS["host"]))


if __name__ == "__main__":
    main()
