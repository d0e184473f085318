"""Run the baked tests that start Locust many times in a row and count the failures of each.

A test that fails one time in ten fails almost every ``make test``, which runs the same
Locust tests in two full baked suites and under every supported Locust. This bakes a
project once (the defaults, or the answers given), then runs the chosen baked tests
``--runs`` times, each run on its own, and prints each test that failed with how often.
It exits 1 when any test failed once.

    python -m scripts.flake_check                       # the locust_hooks tests, 20 runs
    python -m scripts.flake_check --runs 5 --marker ""  # the whole baked suite, 5 runs
    python -m scripts.flake_check --locust 2.42.0 --pytest-args "-k logins" login=form

``make flake`` runs the first (``RUNS=`` and ``FLAKE_ARGS=`` pass options on).
"""

from __future__ import annotations

import argparse
import collections
import re
import shlex
import sys
import tempfile
import time
import xml.etree.ElementTree as ElementTree
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
ANSWER = re.compile(r"^([a-z_]+)=(.*)$", re.S)


def failed_tests(junit_xml: Path) -> list[str]:
    """The ids (``file::name``) of the tests a pytest JUnit XML report says failed or errored."""
    failed = []
    for case in ElementTree.parse(junit_xml).getroot().iter("testcase"):
        if case.find("failure") is not None or case.find("error") is not None:
            module = case.get("classname", "").replace(".", "/")
            failed.append(f"{module}.py::{case.get('name')}")
    return failed


def tally(rounds: list[list[str]]) -> list[tuple[str, int]]:
    """Each test that failed in any round, with the number of rounds it failed in, most first."""
    counts = collections.Counter(test for failed in rounds for test in set(failed))
    return sorted(counts.items(), key=lambda item: (-item[1], item[0]))


def report(rounds: list[list[str]], tests: int, seconds: float) -> str:
    """The summary lines: runs, tests, failures by test."""
    runs = len(rounds)
    failing_runs = sum(1 for failed in rounds if failed)
    lines = [
        f"{runs} runs of {tests} tests in {seconds:.0f} s: "
        f"{failing_runs} with a failure, {sum(len(f) for f in rounds)} failures in all"
    ]
    lines += [f"  {count}/{runs}  {test}" for test, count in tally(rounds)]
    return "\n".join(lines)


def parse_answers(values: list[str]) -> dict[str, str]:
    answers = {}
    for value in values:
        match = ANSWER.match(value)
        if not match:
            raise SystemExit(f"flake_check: answer {value!r} is not allowed: give key=value, like login=form")
        answers[match[1]] = match[2]
    return answers


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m scripts.flake_check", description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=20, help="how many times to run the tests (default 20)")
    parser.add_argument("--marker", default="locust_hooks", help='pytest -m of the baked tests ("" for all)')
    parser.add_argument("--locust", help="a Locust version of scripts/locust-versions.json (default: the pin)")
    parser.add_argument("--pytest-args", default="", help='more pytest options, like "-k logins"')
    parser.add_argument("answers", nargs="*", help="template answers key=value for the baked project")
    args = parser.parse_args(argv)
    if not 1 <= args.runs <= 1000:
        parser.error(f"--runs {args.runs!r} is not allowed: give 1 to 1000")
    answers = parse_answers(args.answers)
    extra = shlex.split(args.pytest_args)

    from cookiecutter.main import cookiecutter

    from scripts.baked_venv import ensure_baked_venv, ensure_locust_venv, run_in_project
    from scripts.locust_versions import load

    if args.locust:
        known = [v["locust"] for v in load()]
        if args.locust not in known:
            parser.error(f"--locust {args.locust!r} is not allowed: one of {', '.join(known)}")
        python = ensure_locust_venv(args.locust)
    else:
        python = ensure_baked_venv()
    rounds: list[list[str]] = []
    tests = 0
    started = time.monotonic()
    with tempfile.TemporaryDirectory(prefix="flake-check-") as work:
        project = Path(cookiecutter(str(REPO), no_input=True, output_dir=work, extra_context=answers))
        junit = Path(work) / "junit.xml"
        selection = ["-m", args.marker] if args.marker else []
        for run in range(1, args.runs + 1):
            command = [str(python), "-m", "pytest", "-q", "-p", "no:cacheprovider", *selection, *extra]
            result = run_in_project(project, *command, f"--junitxml={junit}")
            if not junit.exists():  # pytest did not get to run the tests
                print(result.stdout[-3000:] + result.stderr[-3000:], file=sys.stderr)
                return 2
            failed = failed_tests(junit)
            tests = sum(1 for _ in ElementTree.parse(junit).getroot().iter("testcase"))
            junit.unlink()
            rounds.append(failed)
            state = f"{len(failed)} failed: {', '.join(failed)}" if failed else "passed"
            print(f"run {run}/{args.runs}: {tests} tests, {state}", flush=True)
    print(report(rounds, tests, time.monotonic() - started))
    return 1 if any(rounds) else 0


if __name__ == "__main__":
    sys.exit(main())
