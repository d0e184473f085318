"""Tell the user what to do next with the project that was just baked."""

import json

ANSWERS = json.loads(r"""{{ cookiecutter | tojson }}""")

NEXT_STEPS = """
Baked {slug}/: a Locust load test for {host} that triggers Tideways traces.

Next steps:
  cd {slug}
  python -m venv .venv && . .venv/bin/activate
  pip install -r requirements.txt
  cp .env.example .env        # then put your Tideways API key in .env
  locust                      # web UI on http://localhost:8089
  locust --headless           # or a headless run with the settings in locust.conf
"""


def main() -> None:
    print(NEXT_STEPS.format(slug=ANSWERS["project_slug"], host=ANSWERS["host"]))


if __name__ == "__main__":
    main()
