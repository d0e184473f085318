"""The Locust versions the baked runtime is tested against, and the test itself.

``scripts/locust-versions.json`` lists the first and the last release of each minor
line the runtime supports (``SUPPORTED`` in the baked ``tideways_locust/compat.py``),
each with the Python versions that release declares. ``make test`` runs the baked
project's ``locust_hooks`` tests once a version on this machine's Python; the
template's GitHub workflow runs them for each version on each of its Pythons.

    python -m scripts.locust_versions list                 # the versions, one a line
    python -m scripts.locust_versions matrix               # the workflow's matrix, as JSON
    python -m scripts.locust_versions test 2.45.0 [--python python3.10]
    python -m scripts.locust_versions refresh --oldest 2.42  # rewrite the list (needs the package index)

``test`` bakes the default project and runs its ``locust_hooks`` tests in a cached
virtualenv with that Locust (``scripts.baked_venv.ensure_locust_venv``). ``refresh``
asks pip for the releases and their metadata; a maintainer moves ``--oldest`` so that
the list covers at least the last year of Locust releases.
"""

from __future__ import annotations

import argparse
import json
import re
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
VERSIONS_FILE = REPO / "scripts" / "locust-versions.json"
STABLE = re.compile(r"^(\d+)\.(\d+)\.(\d+)$")
# The oldest Python the baked runtime runs on (PYTHON in its compat.py): Locust up to 2.46.0
# declares 3.10 too, where FastHttpUser's geventhttpclient 2.4 breaks on a redirect after a POST.
OLDEST_PYTHON = (3, 11)


def load() -> list[dict]:
    """``[{"locust": "2.42.0", "python": ["3.10", ...]}, ...]``, oldest first."""
    return json.loads(VERSIONS_FILE.read_text())


def minor_line(version: str) -> tuple[int, int]:
    major, minor, _patch = STABLE.match(version).groups()
    return int(major), int(minor)


def first_and_last_of_each_line(releases: list[str], oldest: str) -> list[str]:
    """The first and the last stable release of each minor line from ``oldest`` ("2.42") on, oldest first."""
    lines: dict[tuple[int, int], list[tuple[int, int, int]]] = {}
    start = tuple(int(part) for part in oldest.split("."))
    for release in releases:
        match = STABLE.match(release)
        if match:
            number = tuple(int(part) for part in match.groups())
            if number[:2] >= start:
                lines.setdefault(number[:2], []).append(number)
    chosen = []
    for line in sorted(lines):
        numbers = sorted(lines[line])
        chosen += {".".join(map(str, numbers[0])): None, ".".join(map(str, numbers[-1])): None}
    return chosen


def declared_pythons(metadata: dict) -> list[str]:
    """The ``3.x`` versions a release's classifiers name, less those its ``Requires-Python`` excludes."""
    floor = re.search(r">=\s*3\.(\d+)", metadata.get("requires_python") or "")
    lowest = int(floor[1]) if floor else 0
    found = set()
    for classifier in metadata.get("classifier", []):
        match = re.fullmatch(r"Programming Language :: Python :: 3\.(\d+)", classifier)
        if match and int(match[1]) >= lowest:
            found.add(int(match[1]))
    return [f"3.{minor}" for minor in sorted(found)]


def supported_pythons(entry: dict) -> list[str]:
    """The Pythons a Locust version declares that the runtime runs on."""
    return [p for p in entry["python"] if tuple(map(int, p.split("."))) >= OLDEST_PYTHON]


def matrix(versions: list[dict]) -> dict:
    """A GitHub Actions matrix: each Locust version with each Python it declares that the runtime runs on."""
    return {"include": [{"locust": v["locust"], "python": p} for v in versions for p in supported_pythons(v)]}


def _pip(*args: str) -> str:
    return subprocess.run([sys.executable, "-m", "pip", *args], check=True, capture_output=True, text=True).stdout


def refresh(oldest: str) -> list[dict]:
    """The list from the package index: releases from ``pip index versions``, metadata from a dry run."""
    listed = re.search(r"Available versions: (.*)", _pip("index", "versions", "locust"))
    if not listed:
        raise SystemExit("pip index versions locust listed no versions")
    versions = []
    for release in first_and_last_of_each_line(listed[1].split(", "), oldest):
        dry_run = ["install", "--dry-run", "--quiet", "--ignore-installed", "--no-deps", "--report", "-"]
        report = json.loads(_pip(*dry_run, f"locust=={release}"))
        versions.append({"locust": release, "python": declared_pythons(report["install"][0]["metadata"])})
    return versions


def test(version: str, python: str) -> int:
    """Bake the default project and run its ``locust_hooks`` tests with Locust ``version``; pytest's exit code."""
    from cookiecutter.main import cookiecutter

    from scripts.baked_venv import ensure_locust_venv

    interpreter = shutil.which(python) or python
    venv_python = ensure_locust_venv(version, interpreter)
    with tempfile.TemporaryDirectory(prefix="locust-versions-") as work:
        project = Path(cookiecutter(str(REPO), no_input=True, output_dir=work))
        result = run_hook_tests(project, venv_python)
        print(result.stdout + result.stderr)
        return result.returncode


def run_hook_tests(project: Path, python: Path, *pytest_args: str) -> subprocess.CompletedProcess:
    """The baked project's ``locust_hooks`` tests with ``python``, outside any outer virtualenv."""
    from scripts.baked_venv import run_in_project

    command = [str(python), "-m", "pytest", "-q", "-p", "no:cacheprovider", "-m", "locust_hooks", *pytest_args]
    return run_in_project(project, *command)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m scripts.locust_versions", description=__doc__.splitlines()[0])
    commands = parser.add_subparsers(dest="command", required=True)
    commands.add_parser("list", help="the versions, one a line")
    commands.add_parser("matrix", help="the GitHub Actions matrix, as JSON")
    run = commands.add_parser("test", help="run the baked locust_hooks tests with one Locust version")
    run.add_argument("version", help="a Locust version from the list")
    run.add_argument("--python", default=sys.executable, help="the Python to run it on (default: this one)")
    again = commands.add_parser("refresh", help="rewrite the list from the package index")
    again.add_argument("--oldest", required=True, help='the oldest minor line to support, like "2.42"')
    args = parser.parse_args(argv)
    if args.command == "list":
        print("\n".join(v["locust"] for v in load()))
    elif args.command == "matrix":
        print(json.dumps(matrix(load())))
    elif args.command == "test":
        known = [v["locust"] for v in load()]
        if args.version not in known:
            parser.error(f"Locust {args.version!r} is not in {VERSIONS_FILE.name}; one of: {', '.join(known)}")
        return test(args.version, args.python)
    else:
        if not re.fullmatch(r"\d+\.\d+", args.oldest):
            parser.error(f"--oldest {args.oldest!r} is not a minor line like 2.42")
        versions = refresh(args.oldest)
        VERSIONS_FILE.write_text("[\n" + ",\n".join("  " + json.dumps(v) for v in versions) + "\n]\n")
        listed = f"{VERSIONS_FILE.relative_to(REPO)}: {len(versions)} versions"
        print(f"{listed}; set SUPPORTED in the baked tideways_locust/compat.py to match")
    return 0


if __name__ == "__main__":
    sys.exit(main())
