"""The benchmark's options (``python -m bench.run --help``) and the settings a run uses.

``--quick`` is the inner loop of a developer who changed the runtime: one round of short runs, only
the pairs and the memory runs (the runs alone only repeat what the pairs measure, less exactly),
compared with the committed full results, into ``bench/results/quick/``. About two minutes.
"""

from __future__ import annotations

import argparse
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from scripts.baked_venv import REPO

BENCH = REPO / "bench"
LOCUSTFILES = BENCH / "locustfiles"
RESULTS = BENCH / "results"
QUICK_RESULTS = RESULTS / "quick"


@dataclass
class Settings:
    run_time: int
    rounds: int
    users: int
    memory_users: int
    memory_run_time: int
    warmup: int
    timeit_repeat: int
    timeit_min_time: float
    output: Path
    quick: bool
    keep: bool
    profile: str
    profile_time: int
    alone: bool = True  # also run each configuration alone
    baseline: Path | None = None  # earlier results.json to compare with

    def summary(self) -> dict:
        return {
            "run_time_s": self.run_time,
            "rounds": self.rounds,
            "users": self.users,
            "memory_users": self.memory_users,
            "memory_run_time_s": self.memory_run_time,
            "warmup_s": self.warmup,
            "quick": self.quick,
            "alone": self.alone,
        }


QUICK = {"run_time": 6, "rounds": 1, "memory_run_time": 4, "warmup": 2, "profile_time": 3}
FULL = {"run_time": 12, "rounds": 4, "memory_run_time": 8, "warmup": 3, "profile_time": 10}


def _bounded_int(low: int, high: int, what: str) -> Callable[[str], int]:
    def parse(value: str) -> int:
        try:
            number = int(value)
        except ValueError:
            number = None
        if number is None or not low <= number <= high:
            raise argparse.ArgumentTypeError(f"{value!r} is not allowed: {what}, a whole number from {low} to {high}")
        return number

    return parse


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="python -m bench.run",
        description="Benchmark tideways_locust against plain Locust on this machine (127.0.0.1 only).",
    )
    parser.add_argument(
        "--run-time", type=_bounded_int(5, 600, "seconds per run"), help="seconds per throughput run (default 12)"
    )
    parser.add_argument(
        "--rounds", type=_bounded_int(1, 20, "rounds"), help="rounds of every configuration, alternating (default 4)"
    )
    parser.add_argument(
        "--users", type=_bounded_int(1, 1000, "users"), default=20, help="users of a throughput run (default 20)"
    )
    parser.add_argument(
        "--memory-users",
        type=_bounded_int(1, 5000, "users"),
        default=1000,
        help="users of a memory run (default 1000)",
    )
    parser.add_argument(
        "--memory-run-time",
        type=_bounded_int(3, 600, "seconds per memory run"),
        help="seconds per memory run (default 8)",
    )
    parser.add_argument(
        "--warmup",
        type=_bounded_int(0, 120, "seconds of warm-up"),
        help="seconds at the start of a run left out of requests/s (default 3)",
    )
    parser.add_argument(
        "--profile",
        choices=["auto", "always", "never"],
        help="py-spy profiles of traced beside plain Locust: for the goals missed (auto, the default of a "
        "full run), for every traced configuration (always), or none (the default of --quick)",
    )
    parser.add_argument("--output", type=Path, help="folder for the results (default bench/results)")
    parser.add_argument(
        "--baseline",
        type=Path,
        help="an earlier results.json to compare the ratios with (default bench/results/results.json, "
        "the committed full run)",
    )
    parser.add_argument(
        "--quick",
        action="store_true",
        help="a developer's inner loop, about two minutes: 6 s runs, 1 round, only the pairs and the memory "
        "runs, no profiles, to bench/results/quick",
    )
    parser.add_argument("--keep", action="store_true", help="keep the temporary folder: baked project, logs, stats")
    return parser


def parse_args(argv: list[str] | None = None) -> Settings:
    parser = build_parser()
    args = parser.parse_args(argv)
    defaults = QUICK if args.quick else FULL
    run_time = args.run_time or defaults["run_time"]
    warmup = args.warmup if args.warmup is not None else defaults["warmup"]
    if run_time - warmup < 3:
        parser.error(
            f"--warmup {warmup} leaves less than 3 seconds of a {run_time} s run to measure: "
            "give a longer --run-time or a shorter --warmup"
        )
    output = args.output or (QUICK_RESULTS if args.quick else RESULTS)
    if output.exists() and not output.is_dir():
        parser.error(f"--output {output} is not a folder")
    baseline = args.baseline
    if baseline is not None and not baseline.is_file():
        parser.error(f"--baseline {baseline} is not a file: give a results.json that make bench wrote")
    if baseline is None and (RESULTS / "results.json").is_file():
        baseline = RESULTS / "results.json"  # the committed full run; read before a full run writes over it
    return Settings(
        run_time=run_time,
        rounds=args.rounds or defaults["rounds"],
        users=args.users,
        memory_users=args.memory_users,
        memory_run_time=args.memory_run_time or defaults["memory_run_time"],
        warmup=warmup,
        timeit_repeat=3 if args.quick else 7,
        timeit_min_time=0.05 if args.quick else 0.2,
        output=output,
        quick=args.quick,
        keep=args.keep,
        profile=args.profile or ("never" if args.quick else "auto"),
        profile_time=min(defaults["profile_time"], run_time),
        alone=not args.quick,
        baseline=baseline,
    )
