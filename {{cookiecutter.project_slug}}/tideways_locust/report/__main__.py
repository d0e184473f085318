"""``python -m tideways_locust.report``: after a load test, Locust's view beside Tideways' view of the same run.

It reads the run file the load test wrote (``--tideways-run-file``, by default
``reports/tideways-run.json`` in ``locust.conf``), asks Tideways' REST API for the
run's window (waiting a bounded time for Tideways to ingest it) and writes
``tideways-report.md``, ``.json`` and ``.html`` to ``reports/``. In GitHub
Actions it also appends the Markdown to the job summary.

The API token comes only from ``TIDEWAYS_API_TOKEN`` (the environment or ``.env``).
Exit codes: 0 written; 1 an API call failed (the part fetched is still written);
2 a bad option or run file (nothing written).
"""

from __future__ import annotations

import argparse
import os
import sys
from pathlib import Path

from ..links import parse_environment, parse_project
from ..options import bounded_number
from ..runrecord import write_json, write_text
from .api import DEFAULT_API_URL, TOKEN_VARIABLE, URL_VARIABLE, TidewaysApi
from .collect import Collector, RunFileError, load_run
from .coverage_render import warning_lines
from .render import html, markdown

NAMES = ("tideways-report.md", "tideways-report.json", "tideways-report.html")


def _project(value: str) -> str:
    parse_project(value)  # refuses a bad one, naming it and the form
    return value


def parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(
        prog="python -m tideways_locust.report",
        description="Write reports/tideways-report.{md,json,html}: a load test's Locust figures beside Tideways'.",
        epilog=f"The API token comes from {TOKEN_VARIABLE} (environment or .env), never from a flag. "
        f"{URL_VARIABLE} points the client at another base URL (default {DEFAULT_API_URL}).",
    )
    p.add_argument(
        "--run-file", default="reports/tideways-run.json", help="what the load test wrote (default %(default)s)"
    )
    p.add_argument("--out", default="reports", help="folder for the report files (default %(default)s)")
    p.add_argument("--project", type=_project, help="ORGANIZATION/PROJECT (default: the run's --tideways-project)")
    p.add_argument("--environment", type=parse_environment, help="Tideways environment (default: the run's)")
    p.add_argument("--service", type=parse_environment, help="Tideways service, like web (default: Tideways' default)")
    p.add_argument(
        "--wait",
        type=bounded_number(0, 900, "seconds from 0 to 900"),
        default=120.0,
        help="wait up to this long for Tideways to ingest the run's last minute (default %(default)g)",
    )
    p.add_argument(
        "--poll",
        type=bounded_number(1, 300, "seconds from 1 to 300"),
        default=20.0,
        help="between two looks (default %(default)g)",
    )
    p.add_argument(
        "--traces",
        type=bounded_number(1, 30, "a number from 1 to 30"),
        default=10,
        help="slowest traces to list (default 10)",
    )
    p.add_argument(
        "--timeout",
        type=bounded_number(1, 120, "seconds from 1 to 120"),
        default=20.0,
        help="per API call (default %(default)g)",
    )
    return p


def _load_dotenv() -> None:
    try:
        from dotenv import load_dotenv
    except ImportError:  # pragma: no cover - python-dotenv is in requirements.txt
        return
    load_dotenv(Path.cwd() / ".env", override=False)


def main(argv: list[str] | None = None) -> int:
    args = parser().parse_args(argv)
    _load_dotenv()
    try:
        run = load_run(args.run_file)
    except RunFileError as error:
        print(f"tideways report: {error}", file=sys.stderr)
        return 2
    tideways = run.get("tideways") or {}
    try:
        project = parse_project(args.project or tideways.get("project") or os.environ.get("LOCUST_TIDEWAYS_PROJECT"))
        environment = parse_environment(args.environment or tideways.get("environment") or "production")
    except argparse.ArgumentTypeError as error:
        print(f"tideways report: {args.run_file}: {error}", file=sys.stderr)
        return 2
    out = Path(args.out)
    if out.exists() and not out.is_dir():
        print(f"tideways report: --out {str(out)!r} is not allowed: give a folder", file=sys.stderr)
        return 2
    token = os.environ.get(TOKEN_VARIABLE, "").strip()
    api = None
    if project is not None and token:
        base = os.environ.get(URL_VARIABLE, "").strip() or DEFAULT_API_URL
        api = TidewaysApi(project, token, base, timeout=args.timeout)
    collector = Collector(
        run, project, environment, args.service, api, wait=args.wait, poll=args.poll, traces=int(args.traces)
    )
    report = collector.build()
    written = write_report(report, out)
    for problem in report["problems"]:
        print(f"tideways report: {problem}", file=sys.stderr)
    for line in warning_lines(report["coverage"]):  # a lost worker: the traced figures are lower bounds
        print(f"tideways report: {line}", file=sys.stderr)
    link = report["links"]["traces"]
    print(f"Traces of run {report['run']['id']}: {link or report['links']['help']}")
    print("Report: " + ", ".join(str(path) for path in written))
    return 1 if collector.failed else 0


def write_report(report: dict, out: Path) -> list[Path]:
    """The three files, each whole or not at all; and the GitHub Actions job summary when there is one."""
    return write_files(out, NAMES, markdown(report), report, html(report))


def write_files(out: Path, names: tuple[str, str, str], text: str, data: dict, page: str) -> list[Path]:
    """``names`` (Markdown, JSON, HTML) in ``out``, each whole or not at all, and the Markdown appended to
    the GitHub Actions job summary when there is one: the report's files, and the comparison's."""
    out.mkdir(parents=True, exist_ok=True)
    paths = [out / name for name in names]
    write_text(paths[0], text)
    write_json(paths[1], data)
    write_text(paths[2], page)
    summary = os.environ.get("GITHUB_STEP_SUMMARY")
    if summary:
        with open(summary, "a", encoding="utf-8") as job_summary:
            job_summary.write(text + "\n")
    return paths


if __name__ == "__main__":
    sys.exit(main())
