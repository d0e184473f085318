"""The demo behind ``make demo``: bake, load a local target, show what was traced.

1. bakes the template with its default answers into a temporary folder;
2. starts the baked project's checking target (``tests/target.py``) on
   127.0.0.1, which checks every ``X-Tideways-Profiler`` header as Tideways does;
3. runs a short ``locust --headless`` in the baked project against it, signing
   with a throwaway API key that is never printed; the run's Tideways event (a
   marker) goes to the baked stand-in of Tideways' API (``tests/tideways_api.py``,
   started first), never to app.tideways.io;
4. prints how many requests were sent, traced and accepted, and the first
   records of the run's trace log (reference id, request, status);
5. runs the baked report command against that stand-in (whose figures come
   from what the target received) and prints the run's link and the report's
   figures. The report stays in ``--reports`` (default ``.cache/demo-reports/``).

Exits non-zero when Locust fails, nothing was traced, any header was refused,
the trace log does not hold one record per traced request, or the report fails.
"""

from __future__ import annotations

import argparse
import importlib.util
import json
import os
import secrets
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path

from cookiecutter.main import cookiecutter

from scripts import processes
from scripts.baked_venv import REPO, ensure_baked_venv

PROJECT = "demo/shop"  # a Tideways organization/project for the links; the stand-in serves it


def load_target_module(project: Path):
    """The baked ``tests/target.py`` (standard library only) for its log helpers."""
    spec = importlib.util.spec_from_file_location("baked_target", project / "tests" / "target.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def parse_args(argv: list[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description="Bake a project and run a short traced load test locally.")
    parser.add_argument("--run-time", default="10s", help="Locust --run-time (default 10s)")
    parser.add_argument("--users", type=int, default=20, help="concurrent users (default 20)")
    parser.add_argument(
        "--trace-rate", default="10", help="percent of requests to trace (default 10, above the baked 1 to show more)"
    )
    parser.add_argument("--keep", action="store_true", help="keep the baked project and print where it is")
    parser.add_argument(
        "--reports",
        type=Path,
        default=REPO / ".cache" / "demo-reports",
        help="folder for the Tideways report (default .cache/demo-reports)",
    )
    parser.add_argument(
        "--screenshot",
        type=Path,
        help="also save a picture of the HTML report here (Playwright and a Chromium, as `make test` installs)",
    )
    return parser.parse_args(argv)


def screenshot(page: Path, picture: Path) -> None:
    """A full-page PNG of ``page`` in the system's Chromium."""
    from playwright.sync_api import sync_playwright

    browser = next((shutil.which(name) for name in ("chromium", "google-chrome") if shutil.which(name)), None)
    if browser is None:
        raise SystemExit("--screenshot needs Chromium: `make test` installs Debian's chromium")
    picture.parent.mkdir(parents=True, exist_ok=True)
    with sync_playwright() as playwright:
        chromium = playwright.chromium.launch(executable_path=browser, args=["--no-sandbox"])
        context = chromium.new_context(java_script_enabled=False, viewport={"width": 1100, "height": 800})
        context.new_page().goto(page.resolve().as_uri())
        context.pages[0].screenshot(path=str(picture), full_page=True)
        chromium.close()
    print(f"Saved a picture of the report to {picture}")


def start_tideways_api(python: Path, project: Path, log: Path, calls: Path, env: dict):
    """The baked stand-in of Tideways' API, its figures from the target's ``log``: its process, its
    URL and the environment (with a throwaway token) that reaches it."""
    api_env = {**env, "TIDEWAYS_API_TOKEN": secrets.token_hex(16)}  # throwaway, like the key
    api_env["TIDEWAYS_APIKEY"] = env["LOCUST_TIDEWAYS_APIKEY"]  # its events endpoint checks the run's key
    command = [str(python), "tests/tideways_api.py", "--project", PROJECT, "--target-log", str(log)]
    command += ["--calls", str(calls)]
    api, api_url = processes.start_server(command, cwd=project, env=api_env)
    return api, api_url, api_env


def tideways_report(python: Path, project: Path, api_url: str, reports: Path, api_env: dict) -> int:
    """The baked report command against the API stand-in; prints the run's link and figures."""
    shutil.rmtree(reports, ignore_errors=True)
    command = ["-m", "tideways_locust.report", "--wait", "0", "--out", str(reports.resolve())]
    print(f"\nRunning: python {' '.join(command)} (Tideways' API: a local stand-in at {api_url})", flush=True)
    report = subprocess.run(
        [str(python), *command], cwd=project, env={**api_env, "TIDEWAYS_API_URL": api_url}, timeout=300
    )
    if report.returncode != 0:
        return report.returncode
    data = json.loads((reports / "tideways-report.json").read_text(encoding="utf-8"))
    client, server = data["client"]["total"], data["server"]["total"]
    print(
        f"Locust: {client['requests']} requests, p95 {client['p95_ms']:g} ms; "
        f"Tideways: {server['requests']} requests "
        f"({data['server']['reached_php_percent']:g} % of Locust's reached PHP), p95 {server['p95_ms']:g} ms"
    )
    print(
        f"The links above and below are the stand-in's: they name {PROJECT}, a Tideways project made up for the "
        "demo, so they open nothing in Tideways. A project baked with your tideways_project links to its own traces."
    )
    if data["traces"]:
        print(f"The stand-in's slowest traces (links into the made-up {PROJECT}):")
    for trace in data["traces"][:3]:
        print(f"  slow trace {trace['response_time_ms']:g} ms  {trace['transaction']}  {trace['url']}")
    print(f"Open {reports / 'tideways-report.html'} in a browser.")
    return 0


def bake(work: Path) -> Path:
    """The defaults baked into ``work``. The bake's hook prints the next steps for a project a person keeps;
    the demo's is removed at its end, so they are left out (its other lines, warnings, are shown)."""
    with tempfile.TemporaryFile() as captured:
        sys.stdout.flush()
        saved = os.dup(1)
        os.dup2(captured.fileno(), 1)  # the hook is a process of its own: its output goes to file descriptor 1
        try:
            project = Path(cookiecutter(str(REPO), no_input=True, output_dir=str(work)))
        finally:
            sys.stdout.flush()
            os.dup2(saved, 1)
            os.close(saved)
        captured.seek(0)
        said = captured.read().decode("utf-8", "replace")
    print(said.split("Next steps:", 1)[0].rstrip(), flush=True)
    return project


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    python = ensure_baked_venv()
    work = Path(tempfile.mkdtemp(prefix="tideways-locust-demo-"))
    project = bake(work)
    print(f"Baked the default answers into {project}, a temporary folder the demo removes at its end (--keep keeps it)")

    api_key = secrets.token_hex(16)  # throwaway: the target checks with it, nobody else knows it
    env = {name: value for name, value in os.environ.items() if not name.startswith("LOCUST_")}
    env["LOCUST_TIDEWAYS_APIKEY"] = api_key
    trace_log = work / "traces.jsonl"
    env["LOCUST_TIDEWAYS_TRACE_LOG"] = str(trace_log)
    env["LOCUST_TIDEWAYS_PROJECT"] = PROJECT
    env["LOCUST_TIDEWAYS_RUN_FILE"] = str(project / "reports" / "tideways-run.json")
    api, api_url, api_env = start_tideways_api(python, project, work / "target.jsonl", work / "api-calls.jsonl", env)
    env["LOCUST_TIDEWAYS_EVENTS_URL"] = api_url.removesuffix("/apps/api") + "/api/events"
    try:
        report = traced_run(args, python, project, work, env, api_url, api_env)
    finally:
        processes.stop(api)
    if args.keep:
        print(f"The baked project stays in {project}")
    else:
        shutil.rmtree(work)
    return report


def traced_run(args, python: Path, project: Path, work: Path, env: dict, api_url: str, api_env: dict) -> int:
    """Steps 2 to 5, with the API stand-in running; the exit code."""
    log, calls, trace_log = work / "target.jsonl", work / "api-calls.jsonl", work / "traces.jsonl"
    serve = [str(python), "tests/target.py", "--log", str(log), "--work-ms", "40"]
    target, url = processes.start_server(serve, cwd=project, env=env)
    try:
        print(f"Target {url} checks every X-Tideways-Profiler header the way Tideways does")
        command = [
            "locust",
            "--headless",
            "--only-summary",
            "--host",
            url,
            "--users",
            str(args.users),
            "--spawn-rate",
            str(args.users),
            "--run-time",
            args.run_time,
            "--tideways-trace-rate",
            args.trace_rate,
            "--stop-timeout",
            "10",
        ]
        print("Running:", " ".join(command), "(the API key: a throwaway one in LOCUST_TIDEWAYS_APIKEY)", flush=True)
        locust = subprocess.run([str(python), "-m", *command], cwd=project, env=env, timeout=600)
    finally:
        processes.stop(target)

    target_module = load_target_module(project)
    counts = target_module.summarize(target_module.read_log(log))
    traces = target_module.read_log(trace_log) if trace_log.exists() else []
    print(f"\nTrace log {trace_log.name}, the first of {len(traces)} records (find them in Tideways by tw.ref):")
    for record in traces[:5]:
        request = f"{record['method']} {record['path']}"
        print(f"  {record['ref']}  {request}  {record['status']}  {record['response_time_ms']} ms")
    share = 100 * counts["traced"] / counts["requests"] if counts["requests"] else 0.0
    print(
        f"\nTideways demo: {counts['requests']} requests sent, {counts['traced']} traced "
        f"({share:.1f} %, asked {args.trace_rate} % plus the first of each endpoint (the baked coverage), "
        f"each request drawn on its own: the share nears the rate over many requests), "
        f"{counts['accepted']} accepted, {counts['rejected']} rejected by the header check."
    )
    events = [call["event"] for call in target_module.read_log(calls) if call["path"] == "/api/events"]
    for event in events:  # the run posts one, unless Tideways' events are turned off
        print(f"Tideways event: {event['type']} {event['name']!r} (to the stand-in; in Tideways' charts for real)")
    report = tideways_report(python, project, api_url, args.reports, api_env) if locust.returncode == 0 else None
    if locust.returncode != 0:
        print(f"Locust exited with {locust.returncode}", file=sys.stderr)
        return 1
    if counts["traced"] == 0 or counts["rejected"] or len(traces) != counts["traced"]:
        print("Expected traced requests, no rejected header and one trace log record each", file=sys.stderr)
        return 1
    if report != 0:
        print(f"The Tideways report failed with exit code {report}", file=sys.stderr)
        return 1
    if args.screenshot:
        screenshot(args.reports / "tideways-report.html", args.screenshot)
    return 0


if __name__ == "__main__":
    sys.exit(main())
