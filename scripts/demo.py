"""The demo behind ``make demo``: bake, load a local target, show what was traced.

1. bakes the template with its default answers into a temporary folder;
2. starts the baked project's checking target (``tests/target.py``) on
   127.0.0.1, which checks every ``X-Tideways-Profiler`` header as Tideways does;
3. runs a short ``locust --headless`` in the baked project against it, signing
   with a throwaway API key that is never printed;
4. prints how many requests were sent, traced and accepted, and the first
   records of the run's trace log (reference id, request, status).

Exits non-zero when Locust fails, nothing was traced, any header was refused,
or the trace log does not hold one record per traced request.
"""

from __future__ import annotations

import argparse
import importlib.util
import os
import secrets
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path

from cookiecutter.main import cookiecutter

from scripts.baked_venv import REPO, ensure_baked_venv


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
    return parser.parse_args(argv)


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    python = ensure_baked_venv()
    work = Path(tempfile.mkdtemp(prefix="tideways-locust-demo-"))
    project = Path(cookiecutter(str(REPO), no_input=True, output_dir=str(work)))
    print(f"Baked the default answers into {project}")

    api_key = secrets.token_hex(16)  # throwaway: the target checks with it, nobody else knows it
    env = {name: value for name, value in os.environ.items() if not name.startswith("LOCUST_")}
    env["LOCUST_TIDEWAYS_APIKEY"] = api_key
    trace_log = work / "traces.jsonl"
    env["LOCUST_TIDEWAYS_TRACE_LOG"] = str(trace_log)
    log = work / "target.jsonl"
    target = subprocess.Popen(
        [str(python), "tests/target.py", "--log", str(log)], cwd=project, env=env, stdout=subprocess.PIPE, text=True
    )
    try:
        url = target.stdout.readline().split()[-1]
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
        target.terminate()
        target.communicate(timeout=30)

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
        f"({share:.1f} %, asked {args.trace_rate} %), {counts['accepted']} accepted, "
        f"{counts['rejected']} rejected by the header check."
    )
    if args.keep:
        print(f"The baked project stays in {project}")
    else:
        shutil.rmtree(work)
    if locust.returncode != 0:
        print(f"Locust exited with {locust.returncode}", file=sys.stderr)
        return 1
    if counts["traced"] == 0 or counts["rejected"] or len(traces) != counts["traced"]:
        print("Expected traced requests, no rejected header and one trace log record each", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
