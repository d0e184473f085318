"""``python -m tideways_locust.compare --baseline PATH``: this run against a baseline run, both sides.

This run is what the load test and the report wrote to ``--reports`` (the run
file ``tideways-run.json`` and, when the report was made, ``tideways-report.json``);
the baseline is a run file or a folder of them (a CI artifact, or ``baseline/``
written by ``--save-baseline``). It writes ``tideways-compare.{md,json,html}``
to ``--out`` and, in GitHub Actions, appends the Markdown to the job summary.

The API token (for the regressed transactions' traces) comes only from
``TIDEWAYS_API_TOKEN`` (the environment or ``.env``).
Exit codes: 0 no regression; 1 an API call failed (the rest is still written);
2 bad input, or runs that are not comparable (nothing written); 4 a regression.
"""

from __future__ import annotations

import argparse
import os
import sys
from datetime import UTC, datetime
from pathlib import Path

from ..links import parse_project
from ..options import bounded_number
from ..report.__main__ import _load_dotenv, write_files
from ..report.api import DEFAULT_API_URL, TOKEN_VARIABLE, URL_VARIABLE, TidewaysApi
from . import evidence, runs
from .options import (
    DEFAULT_FAIL_POINTS,
    DEFAULT_TOLERANCE,
    parse_endpoint_tolerances,
    parse_fail_points,
    parse_tolerance,
)
from .render import headline, html, markdown
from .verdicts import Judge, compare

NAMES = ("tideways-compare.md", "tideways-compare.json", "tideways-compare.html")
EXIT_API_FAILED = 1
EXIT_BAD_INPUT = 2
EXIT_REGRESSION = 4
FORMAT = 1


def parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(
        prog="python -m tideways_locust.compare",
        description="Compare this run (--reports) with a baseline run: each endpoint's and each Tideways "
        "transaction's p95 and failures; write tideways-compare.{md,json,html}.",
        epilog=f"The API token comes from {TOKEN_VARIABLE} (environment or .env), never from a flag. "
        "Exit codes: 0 no regression, 1 an API call failed, 2 bad input or not comparable, 4 a regression.",
    )
    p.add_argument("--baseline", help="the baseline: a run file, or a folder holding tideways-run.json")
    p.add_argument("--reports", default="reports", help="this run's folder (default %(default)s)")
    p.add_argument("--out", help="folder for the comparison's files (default: --reports)")
    p.add_argument("--force", action="store_true", help="compare runs that are not comparable, and say so")
    p.add_argument(
        "--missing-ok", action="store_true", help="no baseline at --baseline: say so and exit 0 (a first CI run)"
    )
    p.add_argument(
        "--save-baseline", metavar="FOLDER", help="copy this run's files to FOLDER as the next baseline, and stop"
    )
    p.add_argument(
        "--tolerance",
        type=parse_tolerance,
        help=f"p95 tolerance (default: this run's --compare-tolerance, else {DEFAULT_TOLERANCE})".replace("%", "%%"),
    )
    p.add_argument(
        "--fail-points",
        type=parse_fail_points,
        help=f"failure-rate tolerance in points (default: the run's, else {DEFAULT_FAIL_POINTS:g})",
    )
    p.add_argument(
        "--evidence",
        type=bounded_number(0, 20, "a number from 0 to 20"),
        default=5,
        help="fetch the traces of at most this many regressed transactions, 2 API calls each (default 5)",
    )
    p.add_argument(
        "--timeout",
        type=bounded_number(1, 120, "seconds from 1 to 120"),
        default=20.0,
        help="per API call (default %(default)g)",
    )
    return p


def judge_of(current: runs.Run, args) -> Judge:
    recorded = current.data.get("tolerance") or {}
    tolerance = args.tolerance or parse_tolerance(recorded.get("p95") or DEFAULT_TOLERANCE)
    by_name = parse_endpoint_tolerances("; ".join(f"{k}={v}" for k, v in (recorded.get("endpoints") or {}).items()))
    points = args.fail_points if args.fail_points is not None else recorded.get("fail_points", DEFAULT_FAIL_POINTS)
    return Judge(tolerance, by_name, float(points))


def api_of(current: runs.Run, args) -> TidewaysApi | None:
    token = os.environ.get(TOKEN_VARIABLE, "").strip()
    try:
        project = parse_project((current.data.get("tideways") or {}).get("project"))
    except argparse.ArgumentTypeError:
        project = None
    if project is None or not token:
        return None
    base = os.environ.get(URL_VARIABLE, "").strip() or DEFAULT_API_URL
    return TidewaysApi(project, token, base, timeout=args.timeout)


def server_missing(baseline: runs.Run, current: runs.Run) -> str | None:
    missing = [title for title, run in (("the baseline", baseline), ("this run", current)) if run.report is None]
    if missing:
        return (
            f"No Tideways report of {' and '.join(missing)} ({runs.REPORT_FILE} beside the run file): run "
            "python -m tideways_locust.report after each load test (it needs TIDEWAYS_API_TOKEN)"
        )
    both = (("the baseline", baseline), ("this run", current))
    empty = [title for title, run in both if not (run.report or {}).get("server")]
    if empty:
        return f"The Tideways report of {' and '.join(empty)} has no server side (the API was not reached then)"
    return None


def build(baseline: runs.Run, current: runs.Run, args, refused: list[str], noted: list[str]) -> tuple[dict, bool]:
    judge = judge_of(current, args)
    comparison = compare(baseline, current, judge)
    problems = baseline.problems + current.problems
    missing = server_missing(baseline, current)
    if missing:
        comparison["server"] = None
    api = api_of(current, args)
    tideways = current.data.get("tideways") or {}
    environment = tideways.get("environment") or "production"
    service = ((current.report or {}).get("run") or {}).get("service")
    found, failed = evidence.gather(
        comparison, baseline, current, api, environment, service, int(args.evidence), problems
    )
    total = evidence.minutes_side_by_side(baseline, current)
    charts = [{"id": "chart-total", "title": "All requests", "minutes": total}]
    for number, regression in enumerate(r for r in comparison["regressions"] if r["side"] == "client"):
        if regression["name"] != "total":
            charts.append(
                {
                    "id": f"chart-{number + 1}",
                    "title": regression["name"],
                    "minutes": evidence.minutes_side_by_side(baseline, current, regression["name"]),
                }
            )
    return {
        "format": FORMAT,
        "generated": datetime.now(UTC).isoformat(timespec="seconds"),
        "runs": {"baseline": baseline.as_dict(), "current": current.as_dict()},
        "refused": refused,
        "noted": noted,
        "problems": problems,
        "tolerance": {
            "p95": str(judge.tolerance),
            "endpoints": {name: str(t) for name, t in judge.by_name.items()},
            "fail_points": judge.fail_points,
        },
        **comparison,
        "server_missing": missing,
        "evidence": found,
        "charts": charts,
        "api_calls": api.calls if api is not None else 0,
    }, failed


def write(comparison: dict, out: Path) -> list[Path]:
    return write_files(out, NAMES, markdown(comparison), comparison, html(comparison))


def main(argv: list[str] | None = None) -> int:
    args = parser().parse_args(argv)
    _load_dotenv()
    say = "tideways compare:"
    if args.save_baseline:
        try:
            written = runs.save_baseline(args.reports, args.save_baseline)
        except runs.RunError as error:
            print(f"{say} {error}", file=sys.stderr)
            return EXIT_BAD_INPUT
        print("Baseline saved: " + ", ".join(map(str, written)) + " (commit it; the next runs compare with it)")
        return 0
    if not args.baseline:
        print(f"{say} give --baseline PATH (a run file or its folder), or --save-baseline FOLDER", file=sys.stderr)
        return EXIT_BAD_INPUT
    if args.missing_ok and not runs.exists(args.baseline):
        print(f"No baseline at {args.baseline}: nothing to compare with, this run passes.")
        return 0
    out = Path(args.out or args.reports)
    if out.exists() and not out.is_dir():
        print(f"{say} --out {str(out)!r} is not allowed: give a folder", file=sys.stderr)
        return EXIT_BAD_INPUT
    try:
        current = runs.load(args.reports, "this run", current=True)
        baseline = runs.load(args.baseline, "--baseline")
    except runs.RunError as error:
        print(f"{say} {error}", file=sys.stderr)
        return EXIT_BAD_INPUT
    refused, noted = runs.differences(baseline, current)
    if refused and not args.force:
        for line in refused:
            print(f"{say} not comparable: {line}", file=sys.stderr)
        print(f"{say} the runs asked different loads: nothing compared (--force compares them anyway)", file=sys.stderr)
        return EXIT_BAD_INPUT
    comparison, failed = build(baseline, current, args, refused, noted)
    written = write(comparison, out)
    for problem in comparison["problems"]:
        print(f"{say} {problem}", file=sys.stderr)
    print(headline(comparison))
    for regression in comparison["regressions"]:
        side = "endpoint" if regression["side"] == "client" else "transaction"
        print(f"  {side} {regression['name']}: " + "; ".join(regression["reasons"]))
    print("Comparison: " + ", ".join(map(str, written)))
    if comparison["regressions"]:
        return EXIT_REGRESSION
    return EXIT_API_FAILED if failed else 0


if __name__ == "__main__":
    sys.exit(main())
