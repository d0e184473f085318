"""The regression gate's own benchmark: how often ``python -m tideways_locust.compare`` cries wolf, and
how often it catches a real slowdown (``make bench-gate``).

It bakes the default answers, then runs real one-minute load tests of the baked
``tests/locustfiles/compare.py`` (three endpoints, six users, no wait) against the baked
checking target, whose ``--delay`` and ``--jitter-ms`` make the product pages take 200 to
240 ms and the other two 20 to 60 ms. Each lane (a target port of its own, lanes run at once)
runs A, then again and again a slowed run B (the product pages 10, 20 or 30 % slower on
average, in turn) followed by an A. Each A is compared with the lane's A before it (an A/A
pair: any regression is a false alarm) and each B with the A before it (caught when the
product pages are flagged, client side).

Goal (issue 21): no false alarm in 20 A/A pairs; every 30 % slowdown caught. Results go to
``bench/results/gate.json`` and ``gate.md`` (``--quick``: 10-second runs, a few pairs, into
``bench/results/quick/``).
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import subprocess
import sys
import tempfile
import threading
import time
from dataclasses import asdict, dataclass, field
from datetime import UTC, datetime
from pathlib import Path

from bench.report import table
from bench.settings import QUICK_RESULTS, RESULTS
from scripts import processes

API_KEY = "bench-gate-key-not-a-real-one"
USERS = 6
BASE_MS = 20  # every path
PRODUCTS_MS = 180  # the product pages, on top of the base
JITTER_MS = 40  # a random 0 to this, every request
SLOWDOWNS = (0.10, 0.20, 0.30)
ENDPOINT = "GET /products/{id}"
GOAL_PAIRS = 20  # A/A pairs without a false alarm


def products_delay(slowdown: float) -> float:
    """The product pages' extra delay that makes their mean time ``slowdown`` longer."""
    mean = BASE_MS + PRODUCTS_MS + JITTER_MS / 2
    return PRODUCTS_MS + mean * slowdown


@dataclass
class Job:
    lane: int
    number: int  # in the lane
    slowdown: float  # 0: an A run
    baseline: int | None  # the number of the lane's run it is compared with

    @property
    def name(self) -> str:
        kind = "a" if not self.slowdown else f"b{round(self.slowdown * 100)}"
        return f"lane{self.lane}-{self.number:02d}-{kind}"


def plan(lanes: int, repetitions: int) -> list[list[Job]]:
    """Each lane: A, then ``repetitions`` times a B (the slowdowns in turn) and an A."""
    planned = []
    turn = 0
    for lane in range(lanes):
        jobs = [Job(lane, 0, 0.0, None)]
        last_a = 0
        for _ in range(repetitions):
            slowdown = SLOWDOWNS[turn % len(SLOWDOWNS)]
            turn += 1
            jobs.append(Job(lane, len(jobs), slowdown, last_a))
            jobs.append(Job(lane, len(jobs), 0.0, last_a))
            last_a = len(jobs) - 1
        planned.append(jobs)
    return planned


@dataclass
class Verdict:
    name: str
    baseline: str
    slowdown: float
    exit_code: int
    regressions: list[str]
    p95_change: dict[str, float | None] = field(default_factory=dict)

    @property
    def caught(self) -> bool:
        return f"client {ENDPOINT}" in self.regressions

    @property
    def false_alarm(self) -> bool:
        return not self.slowdown and bool(self.regressions)


def parse_args(argv: list[str] | None) -> argparse.Namespace:
    p = argparse.ArgumentParser(prog="python -m bench.gate", description=__doc__.split("\n\n")[0])
    p.add_argument("--quick", action="store_true", help="10-second runs, 6 repetitions, into bench/results/quick/")
    p.add_argument("--lanes", type=int, default=4, help="lanes run at once (default 4)")
    p.add_argument("--repetitions", type=int, default=6, help="B-and-A repetitions a lane (default 6)")
    p.add_argument("--run-time", type=int, default=60, help="seconds a run (default 60)")
    p.add_argument("--keep", action="store_true", help="keep the runs' folders")
    args = p.parse_args(argv)
    if args.quick:
        args.lanes, args.repetitions, args.run_time = 2, 3, 10
    for name, low, high in (("lanes", 1, 8), ("repetitions", 1, 30), ("run_time", 5, 600)):
        value = getattr(args, name)
        if not low <= value <= high:
            p.error(f"--{name.replace('_', '-')} {value!r} is not allowed: give a whole number from {low} to {high}")
    return args


class Lane(threading.Thread):
    """The runs of one lane, one after the other, on a port of its own."""

    def __init__(self, jobs: list[Job], python: Path, project: Path, work: Path, run_time: int) -> None:
        super().__init__(daemon=True)
        self.jobs, self.python, self.project, self.work, self.run_time = jobs, python, project, work, run_time
        self.port = processes.free_port()
        self.error: str | None = None

    def run(self) -> None:
        try:
            for job in self.jobs:
                self.load_test(job)
        except Exception as error:  # noqa: BLE001 - said by main, which stops with it
            self.error = f"{self.jobs[0].name}: {error}"

    def load_test(self, job: Job) -> None:
        folder = self.work / job.name
        folder.mkdir(parents=True)
        target, url = processes.start_server(
            [str(self.python), "tests/target.py", "--key", API_KEY, "--log", str(folder / "target.jsonl"),
             "--port", str(self.port), "--delay", f"/={BASE_MS}",
             "--delay", f"/products/={products_delay(job.slowdown):g}", "--jitter-ms", str(JITTER_MS)],
            cwd=self.project,
        )  # fmt: skip
        env = {
            **processes_env(),
            "LOCUST_TIDEWAYS_APIKEY": API_KEY,
            "LOCUST_TIDEWAYS_RUN_FILE": str(folder / "tideways-run.json"),
            "LOCUST_TIDEWAYS_TRACE_LOG": str(folder / "tideways-traces.jsonl"),
            "LOCUST_TIDEWAYS_EVENT": "none",
        }
        try:
            result = subprocess.run(
                [str(self.python), "-m", "locust", "-f", "tests/locustfiles/compare.py", "--headless",
                 "--only-summary", "--host", url, "-u", str(USERS), "-r", str(USERS), "-t", f"{self.run_time}s",
                 "--stop-timeout", "10"],
                cwd=self.project, env=env, capture_output=True, text=True, timeout=self.run_time + 120,
            )  # fmt: skip
        finally:
            processes.stop(target)
        if result.returncode != 0:
            raise RuntimeError(f"{job.name}: locust exited {result.returncode}: {result.stderr[-1500:]}")
        print(f"  {job.name} done", flush=True)


def processes_env() -> dict[str, str]:
    prefixes = ("LOCUST_", "TIDEWAYS_", "LOGIN_", "PYTEST_")
    return {k: v for k, v in os.environ.items() if k != "VIRTUAL_ENV" and not k.startswith(prefixes)}


def judge(job: Job, jobs: list[Job], python: Path, project: Path, work: Path) -> Verdict:
    baseline = jobs[job.baseline]
    result = subprocess.run(
        [str(python), "-m", "tideways_locust.compare", "--reports", str(work / job.name),
         "--baseline", str(work / baseline.name)],
        cwd=project, env=processes_env(), capture_output=True, text=True, timeout=120,
    )  # fmt: skip
    if result.returncode not in (0, 4):
        raise RuntimeError(f"compare {job.name} with {baseline.name}: exit {result.returncode}: {result.stderr}")
    data = json.loads((work / job.name / "tideways-compare.json").read_text())
    return Verdict(
        name=job.name,
        baseline=baseline.name,
        slowdown=job.slowdown,
        exit_code=result.returncode,
        regressions=[f"{r['side']} {r['name']}" for r in data["regressions"]],
        p95_change={row["key"]: (row.get("change") or {}).get("p95_percent") for row in data["client"]["endpoints"]},
    )


def summarize(verdicts: list[Verdict]) -> dict:
    aa = [v for v in verdicts if not v.slowdown]
    summary = {
        "aa_pairs": len(aa),
        "false_alarms": sum(v.false_alarm for v in aa),
        "caught": {},
    }
    for slowdown in SLOWDOWNS:
        pairs = [v for v in verdicts if v.slowdown == slowdown]
        summary["caught"][f"{round(slowdown * 100)}%"] = {"pairs": len(pairs), "caught": sum(v.caught for v in pairs)}
    changes = sorted(abs(v.p95_change.get(ENDPOINT) or 0) for v in aa)
    summary["aa_largest_p95_change_percent"] = changes[-1] if changes else None
    thirty = summary["caught"]["30%"]
    enough = summary["aa_pairs"] >= GOAL_PAIRS
    summary["goal_met"] = enough and summary["false_alarms"] == 0 and thirty["caught"] == thirty["pairs"] > 0
    return summary


def pair_row(v: Verdict) -> list[str]:
    change = v.p95_change.get(ENDPOINT)
    return [v.name, v.baseline, f"{round(v.slowdown * 100)} %", str(v.exit_code), ", ".join(v.regressions) or "none",
            "n/a" if change is None else f"{change:+g} %"]  # fmt: skip


def markdown(summary: dict, verdicts: list[Verdict], settings: dict) -> str:
    rows = [["A/A (no change)", str(summary["aa_pairs"]), f"{summary['false_alarms']} false alarms"]]
    for level, counts in summary["caught"].items():
        rows.append([f"product pages {level} slower", str(counts["pairs"]), f"{counts['caught']} caught"])
    lines = [
        "# The regression gate's benchmark",
        "",
        f"Written by `python -m bench.gate` at {settings['finished']} UTC: {settings['run_time_s']}-second runs "
        f"of {USERS} users, {settings['lanes']} lanes at once, default tolerance (10%+20ms) and test of chance.",
        "",
        table(["Pairs", "How many", "Verdicts"], ["---", "---:", "---"], rows),
        "",
        f"Goal: no false alarm in 20 A/A pairs, every 30 % slowdown caught: "
        f"**{'met' if summary['goal_met'] else 'missed'}**"
        + ("" if summary["aa_pairs"] >= GOAL_PAIRS else f" (only {summary['aa_pairs']} A/A pairs: a quick run)"),
        "",
        f"Largest p95 change of the product pages between two A runs: {summary['aa_largest_p95_change_percent']} %.",
        "",
        "## Every pair",
        "",
        table(
            ["Run", "Baseline", "Slowdown", "Exit", "Regressions", f"{ENDPOINT} p95 change"],
            ["---", "---", "---:", "---:", "---", "---:"],
            [pair_row(v) for v in verdicts],
        ),
        "",
    ]
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    from bench.run import bake
    from scripts.baked_venv import ensure_baked_venv

    python = ensure_baked_venv()
    work = Path(tempfile.mkdtemp(prefix="bench-gate-"))
    started = time.monotonic()
    try:
        project = bake(work)
        planned = plan(args.lanes, args.repetitions)
        runs = sum(len(jobs) for jobs in planned)
        minutes = (len(planned[0]) * (args.run_time + 5)) / 60
        print(f"{runs} runs of {args.run_time} s in {args.lanes} lanes: about {minutes:.0f} minutes", flush=True)
        lanes = [Lane(jobs, python, project, work / "runs", args.run_time) for jobs in planned]
        for lane in lanes:
            lane.start()
        for lane in lanes:
            lane.join()
        failed = [lane.error for lane in lanes if lane.error]
        if failed:
            print("bench.gate: " + "; ".join(failed), file=sys.stderr)
            return 1
        verdicts = [
            judge(job, jobs, python, project, work / "runs")
            for jobs in planned
            for job in jobs
            if job.baseline is not None
        ]
        summary = summarize(verdicts)
        settings = {
            "run_time_s": args.run_time,
            "lanes": args.lanes,
            "repetitions": args.repetitions,
            "users": USERS,
            "finished": datetime.now(UTC).strftime("%Y-%m-%d %H:%M"),
            "minutes": round((time.monotonic() - started) / 60, 1),
        }
        out = QUICK_RESULTS if args.quick else RESULTS
        out.mkdir(parents=True, exist_ok=True)
        (out / "gate.json").write_text(
            json.dumps({"settings": settings, "summary": summary, "pairs": [asdict(v) for v in verdicts]}, indent=2)
            + "\n"
        )
        (out / "gate.md").write_text(markdown(summary, verdicts, settings))
        print(markdown(summary, verdicts, settings).split("## Every pair")[0])
        print(f"Results: {out / 'gate.md'}, {out / 'gate.json'}")
        return 0 if summary["goal_met"] or args.quick else 1
    finally:
        if args.keep:
            print(f"Runs kept in {work}")
        else:
            shutil.rmtree(work, ignore_errors=True)


if __name__ == "__main__":
    sys.exit(main())
