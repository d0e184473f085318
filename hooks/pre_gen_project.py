"""Refuse bad answers before cookiecutter writes anything.

The checks live in ``answers.py`` at the template's root; cookiecutter runs them
while it renders this script (the ``answer_problems`` filter), and the script
prints each problem on a line of its own: the answer, the bad value and what
is allowed. A non-zero exit makes cookiecutter remove the half-made project.
"""

import json
import sys

# The problems enter this script as JSON data, never as code.
PROBLEMS = json.loads(r"""{{ cookiecutter | answer_problems | tojson }}""")


def main() -> int:
    for problem in PROBLEMS:
        print(f"ERROR: {problem}", file=sys.stderr)
    return 1 if PROBLEMS else 0


if __name__ == "__main__":
    sys.exit(main())
