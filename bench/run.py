"""The benchmark behind ``make bench``: what tracing costs next to plain Locust.

1. bakes the template with its default answers into a temporary folder and uses
   the baked ``tideways_locust`` package from there (``PYTHONPATH``), run in the shared
   baked-project virtualenv (``scripts/baked_venv.py``);
2. starts a target much faster than the load generator: nginx from Debian's
   packages (installed with ``apt-get`` when ``nginx`` is missing), run as our own
   process from a generated config in the temporary folder, on 127.0.0.1 at a
   free port, one process pinned to core 1, answering ``ok`` (``traced`` when the
   request carries ``X-Tideways-Profiler``, which tells from the byte counts how
   many requests Locust traced without slowing Locust down);
3. times one profiling header with ``timeit`` (``bench/header_cost.py``);
4. runs each configuration as ``locust --headless`` pinned to core 0, in
   alternating order over several rounds: plain ``HttpUser`` and
   ``FastHttpUser`` against ``HttpTidewaysUser`` and ``FastHttpTidewaysUser`` at
   trace rates 1 and 100 (``bench/locustfiles/``), each user requesting ``/``
   with no wait; the same four clients with 1,000 users for peak memory; and,
   in the same rounds, each traced configuration side by side with its plain
   baseline (two Locust processes at once on core 0), plus each plain one
   beside itself as a control, and plain Locust sending the same two headers
   as its session's headers (``headers.py``) beside plain Locust: what the
   headers cost with no runtime at all;
5. profiles with py-spy, beside plain Locust, the configurations that missed a goal;
6. writes ``results.md``, ``results.json`` and ``chart.png`` (``bench/results/``,
   or ``bench/results/quick/`` for ``--quick``), and prints the goals' table.

Why side by side: on a shared virtual machine a run alone swings by ±20 % from
one run to the next, for reasons the guest cannot see, far more than the goals'
margins. Two Locust processes on one core share it through the scheduler and
meet the machine at the same moments, so their ratio keeps within about ±1 %
(the control pairs show it). The goals' ratios come from those pairs; the
ratios of the runs alone are reported beside them.

requests/s is the median over the rounds of each run's steady rate: the requests
completed in whole seconds after the warm-up, from Locust's ``--json-file``
(both sides of a pair over the seconds they share).
Peak memory is the Locust process's maximum resident set (``wait4``'s
``ru_maxrss``). Only 127.0.0.1 is ever loaded; every process is bounded in
time and stopped at the end, also on failure or Ctrl-C.

Exit status: 0 when every run was valid (goals missed are reported, not
failed), 1 when a run failed, had failed requests or traced the wrong share,
2 on bad options.
"""

from __future__ import annotations

import argparse
import contextlib
import ctypes
import datetime
import hashlib
import http.client
import json
import math
import os
import platform
import re
import shutil
import signal
import socket
import statistics
import subprocess
import sys
import tempfile
import time
from collections import Counter
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import NamedTuple

REPO = Path(__file__).resolve().parents[1]
BENCH = REPO / "bench"
LOCUSTFILES = BENCH / "locustfiles"
RESULTS = BENCH / "results"
QUICK_RESULTS = RESULTS / "quick"

LOCUST_CORE = 0
TARGET_CORE = 1
HOST_ADDRESS = "127.0.0.1"  # the only address this script ever loads
PLAIN_BODY = b"ok"
TRACED_BODY = b"traced"
API_KEY = "bench-throwaway-key-not-a-real-one"
SAMPLE_INTERVAL = 0.2  # seconds between /proc samples of Locust's and nginx's CPU time
QUIET_LIMIT = 0.10  # a second is quiet when other processes used less than this share of either pinned core
MIN_QUIET_SECONDS = 3
START_TIMEOUT = 15  # seconds for nginx to answer
RUN_GRACE = 60  # seconds a Locust run may take past its --run-time (start-up, shutdown)
APT_TIMEOUT = 900


class BenchError(Exception):
    """A reason to stop, said in one line."""


# --- what is measured -------------------------------------------------------------


@dataclass(frozen=True)
class Config:
    key: str
    label: str
    client: str  # HttpUser or FastHttpUser
    user_class: str
    locustfile: str
    trace_rate: float | None  # None: plain Locust, tideways_locust not imported
    kind: str = "throughput"  # or "memory"
    headers_only: bool = False  # plain Locust sending the trace headers itself: only side by side

    @property
    def expected_traced(self) -> float | None:
        """The percentage of responses that should say ``traced``."""
        return 100.0 if self.headers_only else self.trace_rate


def _configs() -> list[Config]:
    configs = []
    for kind, prefix in (("throughput", ""), ("memory", "mem_")):
        for client, short in (("HttpUser", "http"), ("FastHttpUser", "fast")):
            traced = client.replace("HttpUser", "HttpTidewaysUser")
            rates = (None, 1.0, 100.0) if kind == "throughput" else (None, 100.0)
            for rate in rates:
                if rate is None:
                    configs.append(
                        Config(
                            f"{prefix}{short}_plain",
                            f"plain {client}",
                            client,
                            f"Plain{client}",
                            "plain.py",
                            None,
                            kind,
                        )
                    )
                else:
                    configs.append(
                        Config(
                            f"{prefix}{short}_{rate:g}",
                            f"{traced} at {rate:g}",
                            client,
                            f"Traced{client}",
                            "traced.py",
                            rate,
                            kind,
                        )
                    )
    for client, short in (("HttpUser", "http"), ("FastHttpUser", "fast")):
        configs.append(
            Config(
                f"{short}_headers",
                f"plain {client} with the two headers as session headers",
                client,
                f"Headers{client}",
                "headers.py",
                None,
                headers_only=True,
            )
        )
    return configs


CONFIGS = _configs()
CONFIG_BY_KEY = {config.key: config for config in CONFIGS}
ALONE = [config for config in CONFIGS if not config.headers_only]  # the configurations also run alone


@dataclass(frozen=True)
class Pair:
    """Two Locust processes at once on Locust's core: the scheduler gives each half of it, and
    both meet the same machine at the same moments, so their ratio is free of its drifts."""

    key: str
    base: str
    other: str

    @property
    def label(self) -> str:
        base, other = CONFIG_BY_KEY[self.base], CONFIG_BY_KEY[self.other]
        return f"{other.label} beside {base.label}" if self.base != self.other else f"{base.label} beside itself"


PAIRS = [
    Pair(f"{client}_{what}", f"{client}_plain", f"{client}_{'plain' if what == 'aa' else what}")
    for client in ("http", "fast")
    for what in ("aa", "1", "100", "headers")
]
PAIR_BY_KEY = {pair.key: pair for pair in PAIRS}


@dataclass(frozen=True)
class Goal:
    key: str
    measure: str
    op: str  # ">=" or "<="
    target: float
    unit: str = ""

    def text(self) -> str:
        return f"{self.op} {self.target:g}{self.unit}"

    def met(self, measured: float | None) -> bool | None:
        if measured is None or math.isnan(measured):
            return None
        return measured >= self.target if self.op == ">=" else measured <= self.target


GOALS = [
    Goal("http_1", "requests/s, HttpTidewaysUser at trace rate 1 / plain HttpUser", ">=", 0.99),
    Goal("http_100", "requests/s, HttpTidewaysUser at trace rate 100 / plain HttpUser", ">=", 0.97),
    Goal("fast_1", "requests/s, FastHttpTidewaysUser at 1 / plain FastHttpUser", ">=", 0.98),
    Goal("fast_100", "requests/s, FastHttpTidewaysUser at 100 / plain FastHttpUser", ">=", 0.95),
    Goal("header", "cost of one signed header", "<=", 5.0, " µs"),
    Goal("memory", "memory of a 1,000-user run with tracing / without", "<=", 1.05),
]


# --- options ------------------------------------------------------------------------


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

    def summary(self) -> dict:
        return {
            "run_time_s": self.run_time,
            "rounds": self.rounds,
            "users": self.users,
            "memory_users": self.memory_users,
            "memory_run_time_s": self.memory_run_time,
            "warmup_s": self.warmup,
            "quick": self.quick,
        }


QUICK = {"run_time": 6, "rounds": 1, "memory_run_time": 5, "warmup": 2, "profile_time": 4}
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
        default="auto",
        help="py-spy profiles of traced beside plain Locust: for the goals missed (auto, default), "
        "for every traced configuration (always), or none",
    )
    parser.add_argument("--output", type=Path, help="folder for the results (default bench/results)")
    parser.add_argument(
        "--quick", action="store_true", help="a short smoke run: 6 s runs, 1 round, to bench/results/quick"
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
        profile=args.profile,
        profile_time=min(defaults["profile_time"], run_time),
    )


# --- processes ----------------------------------------------------------------------


def _die_with_parent() -> None:
    """In the child, before exec: the kernel sends SIGTERM if this script dies, even by SIGKILL."""
    with contextlib.suppress(OSError, AttributeError):
        ctypes.CDLL(None, use_errno=True).prctl(1, signal.SIGTERM)  # 1: PR_SET_PDEATHSIG


class Children:
    """Every process this script starts, each in its own session, stopped at the end."""

    def __init__(self) -> None:
        self.processes: list[subprocess.Popen] = []

    def start(self, command: list[str], **kwargs) -> subprocess.Popen:
        process = subprocess.Popen(command, start_new_session=True, preexec_fn=_die_with_parent, **kwargs)
        self.processes.append(process)
        return process

    @staticmethod
    def stop(process: subprocess.Popen, timeout: float = 10) -> None:
        if process.returncode is not None:
            return
        with contextlib.suppress(ProcessLookupError):
            os.killpg(process.pid, signal.SIGTERM)
        try:
            process.wait(timeout=timeout)
        except subprocess.TimeoutExpired:
            with contextlib.suppress(ProcessLookupError):
                os.killpg(process.pid, signal.SIGKILL)
            process.wait(timeout=timeout)

    def stop_all(self) -> None:
        for process in reversed(self.processes):
            self.stop(process)


def wait_with_usage(
    process: subprocess.Popen, timeout: float, on_tick: Callable[[], None] | None = None
) -> tuple[int, object]:
    """Wait for ``process`` at most ``timeout`` s; its exit code and ``rusage`` (``wait4``)."""
    deadline = time.monotonic() + timeout
    while True:
        pid, status, usage = os.wait4(process.pid, os.WNOHANG)
        if pid:
            process.returncode = os.waitstatus_to_exitcode(status)
            return process.returncode, usage
        if time.monotonic() > deadline:
            Children.stop(process)
            raise BenchError(f"{process.args[:6]}... did not finish within {timeout:.0f} s and was stopped")
        if on_tick:
            on_tick()
        time.sleep(SAMPLE_INTERVAL)


def wait_all(
    processes: list[subprocess.Popen], timeout: float, on_tick: Callable[[], None] | None = None
) -> list[tuple[int, object]]:
    """``wait_with_usage`` for processes that run at the same time, in their order."""
    deadline = time.monotonic() + timeout
    done: dict[int, tuple[int, object]] = {}
    while len(done) < len(processes):
        for index, process in enumerate(processes):
            if index not in done:
                pid, status, usage = os.wait4(process.pid, os.WNOHANG)
                if pid:
                    process.returncode = os.waitstatus_to_exitcode(status)
                    done[index] = (process.returncode, usage)
        if len(done) == len(processes):
            break
        if time.monotonic() > deadline:
            for process in processes:
                Children.stop(process)
            raise BenchError(f"Locust runs did not finish within {timeout:.0f} s and were stopped")
        if on_tick:
            on_tick()
        time.sleep(SAMPLE_INTERVAL)
    return [done[index] for index in range(len(processes))]


def cpu_seconds(pid: int) -> float | None:
    """User plus system CPU time of ``pid`` so far, from ``/proc/PID/stat``."""
    try:
        stat = Path(f"/proc/{pid}/stat").read_text()
    except OSError:
        return None
    fields = stat[stat.rindex(")") + 2 :].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def core_busy_seconds() -> dict[int, float]:
    """Busy time of each core so far (user, nice, system, irq, softirq, steal), from ``/proc/stat``."""
    busy = {}
    tick = os.sysconf("SC_CLK_TCK")
    with contextlib.suppress(OSError):
        for line in Path("/proc/stat").read_text().splitlines():
            name, *values = line.split()
            if name.startswith("cpu") and name != "cpu":
                user, nice, system, _idle, _iowait, irq, softirq, steal = (int(v) for v in values[:8])
                busy[int(name[3:])] = (user + nice + system + irq + softirq + steal) / tick
    return busy


class Sample(NamedTuple):
    """Cumulative CPU seconds at Unix time ``t``: one Locust, all of ours on its core, nginx, this
    script, and each pinned core."""

    t: float
    locust: float
    ours: float
    target: float
    own: float
    locust_core: float
    target_core: float


def interpolate(samples: list[tuple[float, float]], at: float) -> float | None:
    """The value at time ``at`` from (time, value) samples, linear between neighbours."""
    if not samples:
        return None
    if at <= samples[0][0]:
        return samples[0][1]
    for (t0, v0), (t1, v1) in zip(samples, samples[1:], strict=False):
        if t0 <= at <= t1:
            return v0 if t1 == t0 else v0 + (v1 - v0) * (at - t0) / (t1 - t0)
    return samples[-1][1]


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind((HOST_ADDRESS, 0))
        return sock.getsockname()[1]


# --- nginx --------------------------------------------------------------------------


def ensure_nginx() -> str:
    """The nginx binary; installs Debian's ``nginx`` package with apt-get when it is missing."""
    found = shutil.which("nginx") or next((p for p in ("/usr/sbin/nginx",) if os.access(p, os.X_OK)), None)
    if found:
        return found
    if not shutil.which("apt-get"):
        raise BenchError("nginx is missing and there is no apt-get here: install nginx, then run again")
    if os.geteuid() != 0:
        raise BenchError("nginx is missing: install it with `sudo apt-get install nginx`, then run again")
    print("nginx is missing: installing Debian's package with `apt-get update` and `apt-get install nginx` ...")
    env = {**os.environ, "DEBIAN_FRONTEND": "noninteractive"}
    for command in (
        ["apt-get", "update", "-qq"],
        ["apt-get", "install", "-y", "-qq", "--no-install-recommends", "nginx"],
    ):
        result = subprocess.run(command, env=env, capture_output=True, text=True, timeout=APT_TIMEOUT)
        if result.returncode != 0:
            raise BenchError(f"`{' '.join(command)}` failed: {(result.stderr or result.stdout).strip()[-500:]}")
    found = shutil.which("nginx") or "/usr/sbin/nginx"
    if not os.access(found, os.X_OK):
        raise BenchError("apt-get installed nginx but no nginx binary was found")
    print(f"Installed {found}. This benchmark runs its own nginx; it does not use the package's service.")
    return found


def nginx_config(work: Path, port: int) -> str:
    """One process, no logs, ``ok`` for every request (``traced`` with a profiling header)."""
    for name in ("client_body", "proxy", "fastcgi", "uwsgi", "scgi"):
        (work / name).mkdir(exist_ok=True)
    return f"""# Generated by bench/run.py: the benchmark's target, on {HOST_ADDRESS} only.
daemon off;
master_process off;  # a single process: pinned, measured and stopped by its pid
worker_processes 1;
pid {work}/nginx.pid;
error_log {work}/error.log warn;
worker_rlimit_nofile 8192;
events {{
    worker_connections 4096;
}}
http {{
    access_log off;
    keepalive_timeout 300s;
    keepalive_requests 100000000;
    client_body_temp_path {work}/client_body;
    proxy_temp_path {work}/proxy;
    fastcgi_temp_path {work}/fastcgi;
    uwsgi_temp_path {work}/uwsgi;
    scgi_temp_path {work}/scgi;
    map $http_x_tideways_profiler $bench_body {{
        "" "{PLAIN_BODY.decode()}";
        default "{TRACED_BODY.decode()}";
    }}
    server {{
        listen {HOST_ADDRESS}:{port} backlog=4096;
        location / {{
            default_type text/plain;
            return 200 $bench_body;
        }}
    }}
}}
"""


def fetch(port: int, headers: dict[str, str] | None = None) -> bytes:
    connection = http.client.HTTPConnection(HOST_ADDRESS, port, timeout=2)
    try:
        connection.request("GET", "/", headers=headers or {})
        return connection.getresponse().read()
    finally:
        connection.close()


@dataclass
class Target:
    url: str
    port: int
    process: subprocess.Popen


def start_nginx(binary: str, work: Path, children: Children) -> Target:
    folder = work / "nginx"
    folder.mkdir()
    last_error = ""
    for _attempt in range(3):  # a free port can be taken between looking and binding
        port = free_port()
        config = folder / "nginx.conf"
        config.write_text(nginx_config(folder, port))
        log = open(folder / "output.log", "ab")  # noqa: SIM115 - the child keeps writing to it
        process = children.start(
            [
                "taskset",
                "-c",
                str(TARGET_CORE),
                binary,
                "-p",
                str(folder),
                "-c",
                str(config),
                "-e",
                str(folder / "error.log"),
            ],
            stdout=log,
            stderr=subprocess.STDOUT,
        )
        log.close()
        deadline = time.monotonic() + START_TIMEOUT
        while time.monotonic() < deadline and process.poll() is None:
            try:
                if fetch(port) == PLAIN_BODY and fetch(port, {"X-Tideways-Profiler": "x"}) == TRACED_BODY:
                    return Target(f"http://{HOST_ADDRESS}:{port}", port, process)
            except OSError as error:
                last_error = str(error)
            time.sleep(0.1)
        Children.stop(process)
        last_error = (
            (folder / "error.log").read_text(errors="replace") if (folder / "error.log").exists() else ""
        ) or last_error
    raise BenchError(f"nginx did not start on {HOST_ADDRESS}: {last_error.strip()[-500:]}")


# --- one Locust run -----------------------------------------------------------------


@dataclass
class Run:
    config: str
    round: int
    users: int
    run_time: int
    returncode: int
    requests: int = 0
    failures: int = 0
    traced: int = 0
    rps: float | None = None
    window_s: int = 0
    quiet_s: int = 0  # seconds of the window in which no other process took a pinned core (QUIET_LIMIT)
    noisy: bool = False  # too few quiet seconds: requests/s is over the whole window
    foreign_locust_core: float | None = None  # other processes' mean share of Locust's core
    foreign_target_core: float | None = None
    locust_cpu: float | None = None  # share of one core during the window
    cpu_us_per_request: float | None = None
    target_cpu: float | None = None
    peak_rss_kib: int = 0
    problems: list[str] = field(default_factory=list)


@dataclass
class PairRun:
    pair: str
    round: int
    base: Run
    other: Run

    @property
    def ratio(self) -> float | None:
        """requests/s of ``other`` over ``base``, in the same seconds."""
        return self.other.rps / self.base.rps if self.other.rps and self.base.rps else None

    @property
    def cpu_ratio(self) -> float | None:
        """CPU per request of ``base`` over ``other``: the same ratio, from CPU time."""
        a, b = self.base.cpu_us_per_request, self.other.cpu_us_per_request
        return a / b if a and b else None

    def as_dict(self) -> dict:
        return {
            "pair": self.pair,
            "round": self.round,
            "ratio": self.ratio,
            "cpu_ratio": self.cpu_ratio,
            "base": self.base.__dict__,
            "other": self.other.__dict__,
        }


def measure_window(
    per_second: dict[int, int], samples: list[Sample], warmup: int, bounds: tuple[int, int] | None = None
) -> dict | None:
    """requests/s and CPU over the whole seconds after ``warmup``, leaving out the last (partial) one.

    Other developers' processes may share the machine: each second in which they took
    more than ``QUIET_LIMIT`` of Locust's or nginx's core (busy time of the core from
    ``/proc/stat`` less our own processes' CPU time) is left out, when at least
    ``MIN_QUIET_SECONDS`` quiet seconds remain; otherwise every second counts and the
    run is marked noisy. None when no whole second follows the warm-up. ``bounds``
    (first second, last second) replaces the run's own: a window shared by runs side by side.
    """
    if not per_second:
        return None
    first, last = bounds or (min(per_second), max(per_second))
    window = list(range(first + warmup, last))
    if not window:
        return None
    covered = len(samples) >= 2 and samples[0].t <= window[0] + 1 and samples[-1].t >= last - 1

    def used(field_name: str, second: int) -> float:
        series = [(sample.t, getattr(sample, field_name)) for sample in samples]
        return (interpolate(series, second + 1) or 0.0) - (interpolate(series, second) or 0.0)

    seconds = []
    for second in window:
        if covered:
            locust, target, own = used("locust", second), used("target", second), used("own", second)
            foreign_locust = max(0.0, used("locust_core", second) - used("ours", second))
            foreign_target = max(0.0, used("target_core", second) - target - own)
        else:
            locust = target = foreign_locust = foreign_target = math.nan
        seconds.append((second, per_second.get(second, 0), locust, target, foreign_locust, foreign_target))
    quiet = [row for row in seconds if row[4] < QUIET_LIMIT and row[5] < QUIET_LIMIT]
    counted = quiet if len(quiet) >= MIN_QUIET_SECONDS else seconds
    requests = sum(row[1] for row in counted)
    locust_cpu = sum(row[2] for row in counted)

    def mean(values: list[float]) -> float | None:
        return None if not covered else sum(values) / len(values)

    return {
        "rps": requests / len(counted),
        "window_s": len(window),
        "quiet_s": len(quiet),
        "noisy": counted is seconds and len(quiet) < len(seconds),
        "locust_cpu": mean([row[2] for row in counted]),
        "target_cpu": mean([row[3] for row in counted]),
        "cpu_us_per_request": locust_cpu * 1e6 / requests if covered and requests else None,
        "foreign_locust_core": mean([row[4] for row in seconds]),
        "foreign_target_core": mean([row[5] for row in seconds]),
    }


def read_stats(path: Path) -> tuple[int, int, int, dict[int, int]]:
    """Requests, failures, content bytes and requests per second from Locust's ``--json-file``."""
    entries = json.loads(path.read_text())
    requests = sum(entry["num_requests"] for entry in entries)
    failures = sum(entry["num_failures"] for entry in entries)
    content = sum(entry["total_content_length"] for entry in entries)
    per_second: Counter[int] = Counter()
    for entry in entries:
        for second, count in entry["num_reqs_per_sec"].items():
            per_second[int(float(second))] += count
    return requests, failures, content, dict(per_second)


def traced_count(requests: int, content: int) -> int:
    """How many responses were ``traced`` rather than ``ok``, from the bytes received."""
    return round((content - len(PLAIN_BODY) * requests) / (len(TRACED_BODY) - len(PLAIN_BODY)))


def check_traced(rate: float | None, requests: int, traced: int) -> str | None:
    """A problem when the share of traced requests is not the configured trace rate."""
    if requests == 0:
        return "no request completed"
    if rate is None:
        return None if traced == 0 else f"{traced} requests carried a profiling header in a plain run"
    p = rate / 100
    tolerance = 6 * math.sqrt(p * (1 - p) / requests) + 0.002
    share = traced / requests
    if abs(share - p) > tolerance:
        return f"{share:.2%} of the requests were traced, expected {rate:g} %"
    return None


def locust_env(project: Path, traced: bool) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("LOCUST_", "PYTHON", "VIRTUAL_ENV"))}
    env["PYTHONPATH"] = str(project)
    if traced:
        env["LOCUST_TIDEWAYS_APIKEY"] = API_KEY  # throwaway: nginx does not check it
    return env


@dataclass
class Bench:
    settings: Settings
    python: Path
    project: Path
    work: Path
    target: Target
    children: Children

    def locust_command(self, config: Config, users: int, run_time: int, stem: Path) -> list[str]:
        if not self.target.url.startswith(f"http://{HOST_ADDRESS}:"):
            raise BenchError(f"refusing to load {self.target.url}: only {HOST_ADDRESS}")
        command = [
            "taskset",
            "-c",
            str(LOCUST_CORE),
            str(self.python),
            "-m",
            "locust",
            "-f",
            str(LOCUSTFILES / config.locustfile),
            "--headless",
            "--only-summary",
            "--host",
            self.target.url,
            "--users",
            str(users),
            "--spawn-rate",
            str(users),
            "--run-time",
            f"{run_time}s",
            "--json-file",
            str(stem),
        ]
        if config.trace_rate is not None:
            command += ["--tideways-trace-rate", f"{config.trace_rate:g}"]
        return [*command, config.user_class]

    def start_locust(self, config: Config, users: int, run_time: int, stem: Path) -> subprocess.Popen:
        run_dir = self.work / "runs"  # empty: no locust.conf or pyproject.toml is read from it
        run_dir.mkdir(exist_ok=True)
        with open(f"{stem}.log", "wb") as log:
            return self.children.start(
                self.locust_command(config, users, run_time, stem),
                cwd=run_dir,
                env=locust_env(self.project, config.trace_rate is not None),
                stdout=log,
                stderr=subprocess.STDOUT,
            )

    def sampler(self, processes: list[subprocess.Popen], samples: list[list[Sample]]) -> Callable[[], None]:
        """Appends one :class:`Sample` for each of ``processes`` to ``samples``."""

        def sample() -> None:
            now, cores = time.time(), core_busy_seconds()
            locusts = [cpu_seconds(process.pid) for process in processes]
            target = cpu_seconds(self.target.process.pid)
            if None in locusts or target is None or not {LOCUST_CORE, TARGET_CORE} <= cores.keys():
                return
            ours = sum(locusts)
            for series, locust in zip(samples, locusts, strict=True):
                series.append(
                    Sample(now, locust, ours, target, time.process_time(), cores[LOCUST_CORE], cores[TARGET_CORE])
                )

        return sample

    def collect(self, run: Run, config: Config, stem: Path, usage, samples: list[Sample], bounds=None) -> Run:
        """Fill ``run`` from Locust's stats file and the samples; note what makes it invalid."""
        run.peak_rss_kib = usage.ru_maxrss
        memory = config.kind == "memory"
        if run.returncode != 0:
            run.problems.append(f"Locust exited with {run.returncode} (log: {stem}.log)")
        json_file = Path(f"{stem}.json")
        if not json_file.exists():
            run.problems.append(f"Locust wrote no stats (log: {stem}.log): {tail(Path(f'{stem}.log'))}")
            return run
        run.requests, run.failures, content, per_second = read_stats(json_file)
        run.traced = traced_count(run.requests, content)
        if run.failures:
            run.problems.append(f"{run.failures} of {run.requests} requests failed")
        if problem := check_traced(config.expected_traced, run.requests, run.traced):
            run.problems.append(problem)
        window = measure_window(per_second, samples, 0 if memory else self.settings.warmup, bounds)
        if window is None:
            if not memory:
                run.problems.append("the run was too short to measure requests/s after the warm-up")
            return run
        for name, value in window.items():
            setattr(run, name, value)
        return run

    def run(self, config: Config, round_no: int) -> Run:
        """One Locust process alone on its core."""
        memory = config.kind == "memory"
        users = self.settings.memory_users if memory else self.settings.users
        run_time = self.settings.memory_run_time if memory else self.settings.run_time
        stem = self.work / "runs" / f"{config.key}-round{round_no}"
        stem.parent.mkdir(exist_ok=True)
        process = self.start_locust(config, users, run_time, stem)
        samples: list[Sample] = []
        returncode, usage = wait_with_usage(process, run_time + RUN_GRACE, self.sampler([process], [samples]))
        return self.collect(Run(config.key, round_no, users, run_time, returncode), config, stem, usage, samples)

    def start_pair(self, pair: Pair, round_no: int, run_time: int, tag: str) -> tuple[list, list[Path]]:
        configs = [CONFIG_BY_KEY[pair.base], CONFIG_BY_KEY[pair.other]]
        if round_no % 2 == 0:  # who starts first alternates too
            configs.reverse()
        stems = [self.work / "runs" / f"{pair.key}-{tag}-{side}-{c.key}" for side, c in zip("ab", configs, strict=True)]
        stems[0].parent.mkdir(exist_ok=True)
        processes = [
            self.start_locust(config, self.settings.users, run_time, stem)
            for config, stem in zip(configs, stems, strict=True)
        ]
        return list(zip(configs, processes, strict=True)), stems

    def run_pair(self, pair: Pair, round_no: int) -> PairRun:
        """``pair.base`` and ``pair.other`` at once, both on Locust's core, over one shared window."""
        run_time = self.settings.run_time
        started, stems = self.start_pair(pair, round_no, run_time, f"round{round_no}")
        processes = [process for _, process in started]
        samples: list[list[Sample]] = [[], []]
        results = wait_all(processes, run_time + RUN_GRACE, self.sampler(processes, samples))
        seconds = []
        for stem in stems:
            with contextlib.suppress(OSError, ValueError, KeyError):
                per_second = read_stats(Path(f"{stem}.json"))[3]
                seconds.append((min(per_second), max(per_second)))
        bounds = (max(s[0] for s in seconds), min(s[1] for s in seconds)) if len(seconds) == 2 else None
        runs = {}
        for (config, _), stem, (returncode, usage), series in zip(started, stems, results, samples, strict=True):
            run = Run(config.key, round_no, self.settings.users, run_time, returncode)
            side = "base" if config.key == pair.base and "base" not in runs else "other"
            runs[side] = self.collect(run, config, stem, usage, series, bounds)
        return PairRun(pair.key, round_no, runs["base"], runs["other"])

    def header_cost(self) -> dict:
        command = [
            "taskset",
            "-c",
            str(LOCUST_CORE),
            str(self.python),
            str(BENCH / "header_cost.py"),
            "--repeat",
            str(self.settings.timeit_repeat),
            "--min-time",
            str(self.settings.timeit_min_time),
        ]
        result = subprocess.run(
            command,
            cwd=self.work,
            env=locust_env(self.project, traced=False),
            capture_output=True,
            text=True,
            timeout=600,
        )
        if result.returncode != 0:
            raise BenchError(f"bench/header_cost.py failed: {result.stderr.strip()[-800:]}")
        return json.loads(result.stdout)

    def profile(self, pair: Pair, py_spy: str) -> dict:
        """py-spy on both sides of ``pair`` at once, in an extra run that is not counted.

        Returns the runtime's own lines (:func:`summarize_profile`) and the functions whose
        time per request grows beside the baseline (:func:`diff_profiles`).
        """
        settings = self.settings
        run_time = settings.warmup + settings.profile_time + 3
        started, stems = self.start_pair(pair, 1, run_time, "profile")
        processes = [process for _, process in started]
        raws = [Path(f"{stem}.pyspy.txt") for stem in stems]
        spies: list[subprocess.Popen] = []
        errors = []
        try:
            time.sleep(settings.warmup)
            before, t0 = [cpu_seconds(process.pid) for process in processes], time.time()
            for process, raw in zip(processes, raws, strict=True):
                spies.append(
                    self.children.start(
                        # on the target's core, so that sampling takes as little as possible from Locust
                        ["taskset", "-c", str(TARGET_CORE), py_spy, "record", "--pid", str(process.pid)]
                        + ["--duration", str(settings.profile_time), "--rate", "300", "--nonblocking"]
                        + ["--format", "raw", "-o", str(raw)],
                        stdout=subprocess.DEVNULL,
                        stderr=subprocess.PIPE,
                        text=True,
                    )
                )
            for spy in spies:
                _, error = spy.communicate(timeout=settings.profile_time + 60)
                if spy.returncode != 0:
                    errors.append(error.strip()[-300:])
            after, t1 = [cpu_seconds(process.pid) for process in processes], time.time()
        finally:
            for spy in spies:
                Children.stop(spy)
            wait_all(processes, run_time + RUN_GRACE)
        if errors or not all(raw.exists() for raw in raws) or None in before or None in after:
            return {"pair": pair.key, "error": f"py-spy failed: {' '.join(errors) or 'no output'}"}
        per_request = []
        for stem, a, b in zip(stems, before, after, strict=True):
            per_second = read_stats(Path(f"{stem}.json"))[3]
            inside = [per_second.get(second, 0) for second in range(math.ceil(t0), math.floor(t1))]
            rate = sum(inside) / len(inside) if inside else 0
            per_request.append((b - a) * 1e6 / (rate * (t1 - t0)) if rate else math.nan)
        sides = [config.key for config, _ in started]
        base_index = sides.index(pair.base) if pair.base != pair.other else 0
        other_index = 1 - base_index
        base_raw, other_raw = (raws[i].read_text(errors="replace") for i in (base_index, other_index))
        summary = summarize_profile(other_raw, runtime_source(self.project))
        summary |= diff_profiles(base_raw, other_raw, per_request[base_index], per_request[other_index])
        summary["pair"] = pair.key
        return summary


def tail(path: Path, lines: int = 5) -> str:
    try:
        return " | ".join(path.read_text(errors="replace").strip().splitlines()[-lines:])
    except OSError:
        return "(no log)"


# --- profiles -----------------------------------------------------------------------

_FRAME = re.compile(r"^(?P<function>.*) \((?P<file>[^():]*)(?::(?P<line>\d+))?\)$")
# The runtime package: a frame in any of its modules is the runtime's own work.
RUNTIME_PACKAGE = "tideways_locust"
_RUNTIME_FILE = re.compile(r"(^|/)tideways_locust/(?P<module>[\w/]+\.py)$")
_LOCUST_FILE = re.compile(r"(^|/)locust/")


def _runtime_module(file: str) -> str | None:
    """``tracing.py`` for a frame of the runtime package's ``tracing`` module, else None."""
    match = _RUNTIME_FILE.search(file)
    return match["module"] if match else None


def runtime_files(project: Path) -> list[Path]:
    return sorted(path for path in (project / RUNTIME_PACKAGE).rglob("*.py") if "__pycache__" not in path.parts)


def runtime_source(project: Path) -> dict[str, list[str]]:
    """The lines of each module of the runtime package, by its path inside the package."""
    root = project / RUNTIME_PACKAGE
    return {
        str(path.relative_to(root)): path.read_text(encoding="utf-8").splitlines() for path in runtime_files(project)
    }


def summarize_profile(raw: str, source: dict[str, list[str]], top: int = 8) -> dict:
    """Where the runtime's own time goes, from py-spy's ``--format raw`` (``frame;frame;... count``).

    Every request runs under the runtime's ``client.request`` wrapper, so a sample whose
    deepest frame in the runtime package is calling into Locust is Locust's own work
    (``wrapped_share``), not the runtime's. The others are the runtime's cost
    (``runtime_share``), reported by the runtime's line that was running and what
    that line had called (C calls such as ``hmac`` or ``time.time`` show as the line itself).
    """
    total = in_runtime = wrapped = 0
    by_line: Counter[tuple[str, str, int, str]] = Counter()
    by_function: Counter[str] = Counter()
    for line in raw.splitlines():
        stack, _, count_text = line.rpartition(" ")
        if not count_text.isdigit():
            continue
        count = int(count_text)
        total += count
        frames = [match for frame in stack.split(";") if (match := _FRAME.match(frame.strip()))]
        runtime = [i for i, frame in enumerate(frames) if _runtime_module(frame["file"])]
        if not runtime:
            continue
        deepest = frames[runtime[-1]]
        below = frames[runtime[-1] + 1] if runtime[-1] + 1 < len(frames) else None
        if below is not None and _LOCUST_FILE.search(below["file"]):
            wrapped += count
            continue
        in_runtime += count
        for function in {frames[i]["function"] for i in runtime}:
            by_function[function] += count
        callee = f"{below['function']} ({Path(below['file']).name})" if below is not None else ""
        module = _runtime_module(deepest["file"]) or ""
        by_line[(module, deepest["function"], int(deepest["line"] or 0), callee)] += count
    lines = []
    for (module, function, number, callee), count in by_line.most_common(top):
        lines_of = source.get(module, [])
        code = lines_of[number - 1].strip() if 0 < number <= len(lines_of) else ""
        lines.append(
            {
                "module": module,
                "function": function,
                "line": number,
                "code": code,
                "calls": callee,
                "share": count / total if total else 0,
            }
        )
    return {
        "samples": total,
        "runtime_share": in_runtime / total if total else 0.0,
        "wrapped_share": wrapped / total if total else 0.0,
        "functions": {name: count / total for name, count in by_function.most_common(top)} if total else {},
        "lines": lines,
    }


def _frames(line: str) -> tuple[list[re.Match], int]:
    stack, _, count_text = line.rpartition(" ")
    if not count_text.isdigit():
        return [], 0
    return [match for frame in stack.split(";") if (match := _FRAME.match(frame.strip()))], int(count_text)


def _time_by_function(raw: str) -> tuple[int, Counter[str], Counter[str], set[str]]:
    """Samples in all, by function (inclusive, and self: the line that was running), and the
    functions that call the runtime (above its first frame in a stack)."""
    total = 0
    inclusive: Counter[str] = Counter()
    own: Counter[str] = Counter()
    callers: set[str] = set()
    for line in raw.splitlines():
        frames, count = _frames(line)
        total += count
        if not frames:
            continue
        names = [f"{frame['function']} ({frame['file']})" for frame in frames]
        for name in set(names):
            inclusive[name] += count
        runtime = [i for i, frame in enumerate(frames) if _runtime_module(frame["file"])]
        callers.update(names[: runtime[0]] if runtime else [])
        leaf = frames[-1]
        own[f"{leaf['function']} ({leaf['file']}:{leaf['line']})"] += count
    return total, inclusive, own, callers


def diff_profiles(base_raw: str, other_raw: str, base_us: float, other_us: float, top: int = 10) -> dict:
    """Where the CPU time per request grows from ``base`` to ``other`` (py-spy raw profiles).

    A function's share of the samples times the CPU per request is its time per request.
    The inclusive list leaves out the runtime (its own lines are in :func:`summarize_profile`)
    and what calls it (the task loop, the locustfile, ``client.get``), whose growth is the
    whole difference.
    """
    base_total, base_inclusive, base_own, _ = _time_by_function(base_raw)
    other_total, other_inclusive, other_own, callers = _time_by_function(other_raw)
    if not base_total or not other_total or math.isnan(base_us) or math.isnan(other_us):
        return {"base_us": base_us, "other_us": other_us, "growth": [], "own_growth": []}

    def growth(base: Counter[str], other: Counter[str], skip_whole: bool) -> list[dict]:
        rows = []
        for name in set(base) | set(other):
            a, b = base[name] / base_total, other[name] / other_total
            if skip_whole and (name in callers or f"{RUNTIME_PACKAGE}/" in name):
                continue
            rows.append({"function": name, "base_us": a * base_us, "other_us": b * other_us})
        rows.sort(key=lambda row: row["other_us"] - row["base_us"], reverse=True)
        return rows[:top]

    return {
        "base_us": base_us,
        "other_us": other_us,
        "samples_base": base_total,
        "growth": growth(base_inclusive, other_inclusive, skip_whole=True),
        "own_growth": growth(base_own, other_own, skip_whole=False),
    }


# --- results ------------------------------------------------------------------------


def median_or_none(values: list[float | None]) -> float | None:
    present = [value for value in values if value is not None]
    return statistics.median(present) if present else None


def aggregate(runs: list[Run]) -> dict[str, dict]:
    configs: dict[str, dict] = {}
    for config in CONFIGS:
        mine = [run for run in runs if run.config == config.key]
        if not mine:
            continue
        configs[config.key] = {
            "label": config.label,
            "client": config.client,
            "trace_rate": config.trace_rate,
            "kind": config.kind,
            "users": mine[0].users,
            "rps": median_or_none([run.rps for run in mine]),
            "rps_rounds": [run.rps for run in mine],
            "cpu_us_per_request": median_or_none([run.cpu_us_per_request for run in mine]),
            "locust_cpu": median_or_none([run.locust_cpu for run in mine]),
            "target_cpu": median_or_none([run.target_cpu for run in mine]),
            "peak_rss_kib": median_or_none([run.peak_rss_kib for run in mine]),
            "quiet_s": sum(run.quiet_s for run in mine),
            "window_s": sum(run.window_s for run in mine),
            "noisy_runs": sum(run.noisy for run in mine),
            "foreign_load": median_or_none(
                [
                    max(run.foreign_locust_core, run.foreign_target_core)
                    for run in mine
                    if run.foreign_locust_core is not None and run.foreign_target_core is not None
                ]
            ),
            "requests": sum(run.requests for run in mine),
            "traced": sum(run.traced for run in mine),
            "failures": sum(run.failures for run in mine),
        }
    return configs


def _ratio(configs: dict, top: str, bottom: str, field_name: str) -> float | None:
    a, b = configs.get(top, {}).get(field_name), configs.get(bottom, {}).get(field_name)
    return a / b if a is not None and b else None


def round_ratios(runs: list[Run], top: str, bottom: str, field_name: str) -> list[float]:
    """``top / bottom`` within each round: runs close in time, so slow drifts of the machine cancel."""
    by_round: dict[int, dict[str, float]] = {}
    for run in runs:
        value = getattr(run, field_name)
        if run.config in (top, bottom) and value:
            by_round.setdefault(run.round, {})[run.config] = value
    return [pair[top] / pair[bottom] for _, pair in sorted(by_round.items()) if len(pair) == 2]


def aggregate_pairs(pair_runs: list[PairRun]) -> dict[str, dict]:
    pairs: dict[str, dict] = {}
    for pair in PAIRS:
        mine = [run for run in pair_runs if run.pair == pair.key]
        if not mine:
            continue
        pairs[pair.key] = {
            "label": pair.label,
            "base": pair.base,
            "other": pair.other,
            "ratio": median_or_none([run.ratio for run in mine]),
            "ratios": [run.ratio for run in mine],
            "cpu_ratio": median_or_none([run.cpu_ratio for run in mine]),
            "base_rps": median_or_none([run.base.rps for run in mine]),
            "other_rps": median_or_none([run.other.rps for run in mine]),
            "base_cpu_us": median_or_none([run.base.cpu_us_per_request for run in mine]),
            "other_cpu_us": median_or_none([run.other.cpu_us_per_request for run in mine]),
            "quiet_s": sum(run.base.quiet_s for run in mine),
            "window_s": sum(run.base.window_s for run in mine),
        }
    return pairs


def measure_goals(
    configs: dict, header: dict, runs: list[Run] | None = None, pairs: dict[str, dict] | None = None
) -> list[dict]:
    """The goals' table: ratios side by side (``pairs``), each round's, and the ratio of runs alone."""
    runs, pairs = runs or [], pairs or {}
    measured: dict[str, float | None] = {}
    rounds: dict[str, list[float]] = {}
    alone: dict[str, float | None] = {}
    for client in ("http", "fast"):
        for rate in ("1", "100"):
            key = f"{client}_{rate}"
            measured[key] = pairs.get(key, {}).get("ratio")
            rounds[key] = [ratio for ratio in pairs.get(key, {}).get("ratios", []) if ratio is not None]
            alone[key] = _ratio(configs, key, f"{client}_plain", "rps")
    signed = header.get("decision_100", {})
    if "best_us" not in signed:  # the runtime no longer offers the decision path: the signer alone
        signed = header.get("signer", {})
    # timeit's best round, as Python's documentation advises: slower rounds are other processes.
    measured["header"] = signed.get("best_us")
    memory = [
        _ratio(configs, f"mem_{client}_100", f"mem_{client}_plain", "peak_rss_kib") for client in ("http", "fast")
    ]
    memory = [value for value in memory if value is not None]
    measured["memory"] = max(memory) if memory else None
    per_client = [round_ratios(runs, f"mem_{c}_100", f"mem_{c}_plain", "peak_rss_kib") for c in ("http", "fast")]
    rounds["memory"] = [max(pair) for pair in zip(*per_client, strict=False)] if all(per_client) else []
    rows = []
    for goal in GOALS:
        value = measured.get(goal.key)
        rows.append(
            {
                "key": goal.key,
                "measure": goal.measure,
                "goal": goal.text(),
                "measured": value,
                "unit": goal.unit,
                "passed": goal.met(value),
                "rounds": rounds.get(goal.key, []),
                "alone": alone.get(goal.key),
            }
        )
    return rows


def format_measured(value: float | None, unit: str = "") -> str:
    if value is None:
        return "n/a"
    return f"{value:.2f}{unit}" if unit else f"{value:.3f}"


def verdict(passed: bool | None) -> str:
    return {True: "pass", False: "**MISSED**", None: "not measured"}[passed]


def goals_table(rows: list[dict]) -> str:
    lines = [
        "| measure | goal | measured | result | each round | runs alone |",
        "| --- | --- | --- | --- | --- | --- |",
    ]
    for row in rows:
        measured = format_measured(row["measured"], row["unit"])
        rounds = ", ".join(f"{value:.3f}" for value in row.get("rounds") or []) or "-"
        alone = "-" if row.get("alone") is None else f"{row['alone']:.3f}"
        lines.append(
            f"| {row['measure']} | {row['goal']} | {measured} | {verdict(row['passed'])} | {rounds} | {alone} |"
        )
    return "\n".join(lines)


def _number(value: float | None, spec: str, suffix: str = "") -> str:
    return "n/a" if value is None else f"{value:{spec}}{suffix}"


def runs_table(configs: dict) -> str:
    lines = [
        "| configuration | users | requests/s (median) | each round | Locust CPU | CPU µs/request | nginx CPU "
        "| traced | failed | peak RSS | quiet seconds | others' load |",
        "| --- | ---: | ---: | --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: |",
    ]
    for data in configs.values():
        rounds = ", ".join(_number(rps, ",.0f") for rps in data["rps_rounds"])
        traced = f"{data['traced'] / data['requests']:.2%}" if data["requests"] else "n/a"
        rss = data["peak_rss_kib"]
        lines.append(
            f"| {data['label']} | {data['users']} | {_number(data['rps'], ',.0f')} | {rounds} "
            f"| {_number(None if data['locust_cpu'] is None else data['locust_cpu'] * 100, '.0f', ' %')} "
            f"| {_number(data['cpu_us_per_request'], '.1f')} "
            f"| {_number(None if data['target_cpu'] is None else data['target_cpu'] * 100, '.0f', ' %')} "
            f"| {traced} | {data['failures']} | {_number(None if rss is None else rss / 1024, '.1f', ' MiB')} "
            f"| {data['quiet_s']}/{data['window_s']} "
            f"| {_number(None if data['foreign_load'] is None else data['foreign_load'] * 100, '.0f', ' %')} |"
        )
    return "\n".join(lines)


def pairs_table(pairs: dict) -> str:
    lines = [
        "| side by side | ratio (median) | each round | requests/s, baseline / other "
        "| CPU µs/request, baseline / other | quiet seconds |",
        "| --- | ---: | --- | --- | --- | ---: |",
    ]
    for data in pairs.values():
        rounds = ", ".join(_number(ratio, ".3f") for ratio in data["ratios"])
        lines.append(
            f"| {data['label']} | {_number(data['ratio'], '.3f')} | {rounds} "
            f"| {_number(data['base_rps'], ',.0f')} / {_number(data['other_rps'], ',.0f')} "
            f"| {_number(data['base_cpu_us'], '.1f')} / {_number(data['other_cpu_us'], '.1f')} "
            f"| {data['quiet_s']}/{data['window_s']} |"
        )
    return "\n".join(lines)


HEADER_CASES = {
    "signer": "`TidewaysSigner(key).fresh_header()`: MD5-keyed HMAC-SHA256 and the header string",
    "decision_100": "`_Tracer.{method}()` at trace rate 100: sample, check the origin, sign, new headers dict",
    "decision_1": "`_Tracer.{method}()` at trace rate 1 (one request in 100 signs)",
    "request_100": "the `client.request` wrapper at trace rate 100, less an unwrapped call",
    "request_1": "the `client.request` wrapper at trace rate 1, less an unwrapped call",
}


def header_table(header: dict) -> str:
    lines = ["| what is timed | µs per call (best round) | median round |", "| --- | ---: | ---: |"]
    for key, template in HEADER_CASES.items():
        text = template.format(method=header.get("decision_method") or "prepare")
        data = header.get(key, {})
        if "error" in data:
            lines.append(f"| {text} | not timed: {data['error']} | |")
        else:
            lines.append(
                f"| {text} | {_number(data.get('best_us'), '.2f')} | {_number(data.get('median_us'), '.2f')} |"
            )
    return "\n".join(lines)


def remaining_cost(configs: dict, pairs: dict, header: dict) -> list[str]:
    """What tracing still costs per request (side by side), against what the runtime's code takes alone."""
    notes = []
    for client, traced_name in (("http", "HttpTidewaysUser"), ("fast", "FastHttpTidewaysUser")):
        for rate in ("1", "100"):
            data = pairs.get(f"{client}_{rate}", {})
            a, b = data.get("base_cpu_us"), data.get("other_cpu_us")
            if a is None or b is None or data.get("ratio") is None:
                continue
            timed = header.get(f"request_{rate}", {}).get("best_us")
            explained = (
                f"; the wrapper with its decision and header, timed alone, takes {timed:.2f} µs" if timed else ""
            )
            notes.append(
                f"- {traced_name} at {rate}: {data['ratio']:.3f} of plain Locust's requests/s side by side. "
                f"CPU per request {a:.1f} -> {b:.1f} µs ({b - a:+.1f} µs, {(b - a) / a:+.1%}){explained}."
            )
    for client, traced_name in (("http", "HttpTidewaysUser"), ("fast", "FastHttpTidewaysUser")):
        plain, traced = configs.get(f"mem_{client}_plain", {}), configs.get(f"mem_{client}_100", {})
        a, b = plain.get("peak_rss_kib"), traced.get("peak_rss_kib")
        if a and b:
            notes.append(
                f"- {traced_name} at 100 with {traced['users']:,} users: peak RSS "
                f"{a / 1024:.1f} -> {b / 1024:.1f} MiB, {(b - a) / traced['users']:+.2f} KiB per user (the user's "
                "tracer and wrapper, the deeper stack each waiting greenlet keeps, the headers of requests in flight)."
            )
    return notes


def profile_section(profiles: list[dict]) -> list[str]:
    lines = []
    for profile in profiles:
        label = PAIR_BY_KEY[profile["pair"]].label
        if "error" in profile:
            lines += [f"- {label}: {profile['error']}", ""]
            continue
        a, b = profile["base_us"], profile["other_us"]
        lines += [
            f"### {label}",
            "",
            f"CPU per request in the profiled seconds: {a:.1f} µs plain, {b:.1f} µs traced ({b - a:+.1f} µs). "
            f"The runtime's own code is {profile['runtime_share']:.1%} of the traced process's "
            f"{profile['samples']:,} py-spy samples, about {profile['runtime_share'] * b:.1f} µs per request "
            f"({profile['wrapped_share']:.1%} are Locust's request under its wrapper). The runtime's lines "
            "(py-spy's line numbers can be one off):",
            "",
            "| function | module:line | code | calling | µs per request |",
            "| --- | --- | --- | --- | ---: |",
        ]
        for row in profile["lines"]:
            code = row["code"].replace("|", "\\|")
            lines.append(
                f"| {row['function']} | {row.get('module', 'tideways_locust.py')}:{row['line']} | `{code}` "
                f"| {row['calls'] or '(itself, C calls)'} "
                f"| {row['share'] * b:.2f} |"
            )
        lines += [
            "",
            "Where Locust and its libraries spend more per request beside plain Locust, including what they "
            "call (one profile: differences under about 3 µs are sampling noise):",
            "",
            "| function | plain µs/request | traced µs/request | more |",
            "| --- | ---: | ---: | ---: |",
        ]
        for row in profile["growth"]:
            lines.append(
                f"| `{row['function']}` | {row['base_us']:.1f} | {row['other_us']:.1f} "
                f"| {row['other_us'] - row['base_us']:+.1f} |"
            )
        lines += [
            "",
            "The lines whose own time grows most (the line that was running):",
            "",
            "| line | plain µs/request | traced µs/request | more |",
            "| --- | ---: | ---: | ---: |",
        ]
        for row in profile["own_growth"]:
            lines.append(
                f"| `{row['function']}` | {row['base_us']:.1f} | {row['other_us']:.1f} "
                f"| {row['other_us'] - row['base_us']:+.1f} |"
            )
        lines.append("")
    return lines


def results_markdown(results: dict) -> str:
    s = results["settings"]
    m = results["machine"]
    pairs = results.get("pairs", {})
    title = "# Benchmark results" + (" (smoke run with --quick: not for publishing)" if s["quick"] else "")
    lines = [
        title,
        "",
        f"`python -m bench.run{' --quick' if s['quick'] else ''}` on {m['date']}, {results['duration_s'] / 60:.1f} "
        f"min: {s['rounds']} round(s), each running every configuration once in alternating order, "
        f"{s['run_time_s']} s a run, {s['users']} users with no wait requesting `/` from nginx on {HOST_ADDRESS} "
        f"(core {TARGET_CORE}); Locust on core {LOCUST_CORE}. requests/s counts whole seconds after a "
        f"{s['warmup_s']} s warm-up. Memory runs: {s['memory_users']:,} users, {s['memory_run_time_s']} s.",
        "",
        "The ratios are measured side by side: the traced and the plain Locust run at the same time, both on "
        f"core {LOCUST_CORE}, which the scheduler shares between them, so both meet the same machine at the same "
        "moments. Runs alone (last column) swing by up to ±20 % from run to run on this shared virtual machine, "
        "far more than the goals' margins; side by side, the same configuration beside itself "
        f"{control_range(pairs)} (the A/A rows below): differences smaller than that are not measurable here.",
        "",
        goals_table(results["goals"]),
        "",
        "![requests/s, ratios and header cost](chart.png)",
        "",
        "## Side by side",
        "",
        pairs_table(pairs) if pairs else "Not run.",
        "",
        "## Runs alone",
        "",
        runs_table(results["configs"]),
        "",
        "Locust CPU is the share of its core Locust used while measured: near 100 % means the load generator, "
        "not nginx, sets the pace. CPU µs/request is that CPU time per completed request. Traced is the share "
        "of responses that said nginx saw an `X-Tideways-Profiler` header. Peak RSS is the Locust process's "
        "maximum resident set. Quiet seconds: the measured seconds in which other processes (other developers' "
        f"tests on this shared machine) took less than {QUIET_LIMIT:.0%} of Locust's or nginx's core; requests/s "
        f"counts only those when there are at least {MIN_QUIET_SECONDS} in a run. Others' load: their median "
        "share of the busier of the two cores during a run.",
        "",
        "## Cost of one header",
        "",
        "Timed with `timeit` in the baked project's virtualenv, pinned to core 0, before the load runs. "
        "The goal takes the decision at rate 100 (the whole cost of a signed header) and the best round, as "
        "Python's documentation advises: slower rounds are other processes.",
        "",
        header_table(results["header_cost"]),
        "",
        "## Remaining cost",
        "",
        *(remaining_cost(results["configs"], pairs, results["header_cost"]) or ["- not measured"]),
        "",
    ]
    if results.get("analysis"):
        lines += ["## Why", "", *results["analysis"], ""]
    if results.get("profiles"):
        lines += ["## Profiles", "", *profile_section(results["profiles"])]
    lines += [
        "## Machine",
        "",
        f"- CPU: {m['cpu']}, {m['cores']} cores; {m['memory']}; Linux {m['kernel']}",
        f"- Python {m['python']}, Locust {m['locust']} (requests {m['requests']}, geventhttpclient "
        f"{m['geventhttpclient']}, gevent {m['gevent']}); {m['nginx']}",
        f"- template commit {m['commit']}; the `{RUNTIME_PACKAGE}` package measured has sha256 "
        f"{m['runtime_sha256']}... (its modules, in order)",
        f"- load average when the run started: {m['loadavg']}",
        "",
    ]
    if results["problems"]:
        lines += ["## Problems", "", *[f"- {problem}" for problem in results["problems"]], ""]
    return "\n".join(lines)


def control_range(pairs: dict) -> str:
    """How far apart the same configuration beside itself came out: the resolution of a ratio."""
    ratios = [r for key in ("http_aa", "fast_aa") for r in pairs.get(key, {}).get("ratios", []) if r is not None]
    return f"came out between {min(ratios):.3f} and {max(ratios):.3f}" if ratios else "was not measured"


LIBRARIES = {"http": "requests, urllib3 and http.client", "fast": "geventhttpclient"}


def analysis(pairs: dict, header: dict, goals: list[dict]) -> list[str]:
    """The measured cost, split into what the two headers cost Locust's HTTP library
    (the headers pair: plain Locust sending them itself) and what the runtime's code adds."""
    lines = []
    controls = []
    for client, name in (("http", "HttpUser"), ("fast", "FastHttpUser")):
        control = pairs.get(f"{client}_aa", {})
        ratios = [ratio for ratio in control.get("ratios", []) if ratio is not None]
        if ratios:
            controls.append(f"plain {name} beside itself {min(ratios):.3f} to {max(ratios):.3f}")
        floor = pairs.get(f"{client}_headers", {}).get("ratio")
        if floor is not None:
            lines.append(
                f"- {name}, the headers alone: plain {name} sending the same two headers on every request as "
                f"its session's own headers (the cheapest way it offers), with no runtime, reaches {floor:.3f} "
                f"of plain {name}. That is what two more headers cost in Locust and {LIBRARIES[client]} "
                "(merging, checking and sending them), whoever adds them: every traced request pays it."
            )
        for rate in ("1", "100"):
            data = pairs.get(f"{client}_{rate}", {})
            base, ratio = data.get("base_cpu_us"), data.get("ratio")
            timed = header.get(f"request_{rate}", {}).get("best_us")
            if base is None or ratio is None or timed is None:
                continue
            text = (
                f"- {name} at {rate}: the runtime's code timed alone ({timed:.2f} µs a request) predicts "
                f"{base / (base + timed):.3f} without the headers' own cost; measured {ratio:.3f}."
            )
            if floor is not None:
                # At rate r, r % of the requests pay the headers' cost.
                headers_share = (1 - floor) * float(rate) / 100
                text += (
                    f" The headers account for {headers_share:.1%} of requests/s at this rate, the runtime's "
                    f"code for about {max(1 - ratio - headers_share, 0):.1%} (the same code runs slower under "
                    "load than timed alone: cold caches)."
                )
            lines.append(text)
    if controls:
        lines.insert(0, f"- resolution: {'; '.join(controls)} (A/A, per round).")
    missed = [row["measure"] for row in goals if row["passed"] is False]
    if missed:
        lines.append("- missed: " + "; ".join(missed) + ".")
    return lines


def write_chart(results: dict, path: Path) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    configs = {k: v for k, v in results["configs"].items() if v["kind"] == "throughput"}
    figure, (left, middle, right) = plt.subplots(
        1, 3, figsize=(18, 5.6), gridspec_kw={"width_ratios": [2.6, 3, 1.5]}, layout="constrained"
    )
    colors = {"HttpUser": "#4c72b0", "FastHttpUser": "#dd8452"}
    for index, (key, data) in enumerate(configs.items()):
        traced = CONFIG_BY_KEY[key].trace_rate is not None
        left.bar(index, data["rps"] or 0, color=colors[data["client"]], alpha=0.55 if traced else 1.0)
        rounds = [rps for rps in data["rps_rounds"] if rps is not None]
        left.plot([index] * len(rounds), rounds, "k.", markersize=5)
    left.set_xticks(range(len(configs)))
    left.set_xticklabels(
        [
            f"{data['client'].removesuffix('User')}\n"
            + ("plain" if data["trace_rate"] is None else f"traced {data['trace_rate']:g} %")
            for data in configs.values()
        ],
        fontsize=8,
    )
    left.set_ylabel("requests/s (median of rounds; dots: each round)")
    left.set_title("Locust alone on one core (these swing ±20 % run to run)")

    goals = {row["key"]: row for row in results["goals"]}
    pairs = results.get("pairs", {})
    bars = []  # (label, value, rounds, goal row or None)
    for client, name in (("http", "Http"), ("fast", "FastHttp")):
        control = pairs.get(f"{client}_aa", {})
        bars.append((f"{name}\nA/A", control.get("ratio"), control.get("ratios", []), None))
        floor = pairs.get(f"{client}_headers", {})
        if floor:
            bars.append((f"{name}\nheaders\nalone", floor.get("ratio"), floor.get("ratios", []), None))
        for rate in ("1", "100"):
            row = goals.get(f"{client}_{rate}", {})
            bars.append((f"{name} {rate} %\n{row.get('goal', '')}", row.get("measured"), row.get("rounds", []), row))
    memory = goals.get("memory", {})
    bars.append(
        (
            f"memory,\n{results['settings']['memory_users']:,} users\n{memory.get('goal', '')}",
            memory.get("measured"),
            memory.get("rounds", []),
            memory,
        )
    )
    values = [v for _, value, rounds, _ in bars for v in [value, *rounds] if v is not None]
    for index, (_, value, rounds, row) in enumerate(bars):
        passed = None if row is None else row.get("passed")
        color = "#999999" if row is None else {True: "#55a868", False: "#c44e52", None: "#dddddd"}[passed]
        middle.bar(index, value or 0, color=color)
        present = [ratio for ratio in rounds if ratio is not None]
        middle.plot([index] * len(present), present, "k.", markersize=4)
        if row is not None and row.get("goal"):
            target = float(row["goal"].split()[1])
            middle.hlines(target, index - 0.4, index + 0.4, colors="black", linestyles="dashed")
        if value is not None:
            middle.text(index, max([value, *present]), f"{value:.3f}", ha="center", va="bottom", fontsize=7.5)
    middle.set_xticks(range(len(bars)))
    middle.set_xticklabels([label for label, *_ in bars], fontsize=7)
    middle.set_ylim(min([0.85, *values]) - 0.03, max([1.1, *values]) + 0.03)
    middle.set_ylabel("traced / plain, side by side (dashed: goal; dots: rounds)")
    middle.set_title("Ratios against the goals (A/A: plain beside plain; headers alone: no runtime)")

    header = results["header_cost"]
    keys = [
        key
        for key in ("signer", "decision_100", "request_100", "decision_1", "request_1")
        if "best_us" in header.get(key, {})
    ]
    right.bar(range(len(keys)), [header[key]["best_us"] for key in keys], color="#8172b2")
    right.axhline(5.0, color="black", linestyle="dashed")
    right.set_xticks(range(len(keys)))
    right.set_xticklabels([key.replace("_", "\n") for key in keys], fontsize=8)
    right.set_ylabel("µs per call, best round (dashed: 5 µs goal)")
    right.set_title("One header (timeit)")
    figure.suptitle(
        f"tideways_locust vs plain Locust {results['machine']['locust']}, {results['machine']['date']}"
        + (" (quick smoke run)" if results["settings"]["quick"] else ""),
        fontsize=11,
    )
    figure.savefig(path, dpi=110)
    plt.close(figure)


# --- machine ------------------------------------------------------------------------


def machine_info(python: Path, nginx: str, project: Path) -> dict:
    cpu = "unknown"
    with contextlib.suppress(OSError):
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                cpu = line.split(":", 1)[1].strip()
                break
    memory = "memory unknown"
    with contextlib.suppress(OSError, ValueError, IndexError):
        kib = int(Path("/proc/meminfo").read_text().split("MemTotal:")[1].split()[0])
        memory = f"{kib / 1024 / 1024:.0f} GiB memory"
    versions = subprocess.run(
        [
            str(python),
            "-c",
            "import json, platform; from importlib.metadata import version as v; "
            "print(json.dumps({'python': platform.python_version(), "
            "**{n: v(n) for n in ('locust', 'requests', 'geventhttpclient', 'gevent')}}))",
        ],
        capture_output=True,
        text=True,
        timeout=60,
    )
    info = json.loads(versions.stdout) if versions.returncode == 0 else {}
    nginx_version = subprocess.run([nginx, "-v"], capture_output=True, text=True, timeout=30)
    commit = subprocess.run(
        ["git", "rev-parse", "--short", "HEAD"], cwd=REPO, capture_output=True, text=True, timeout=30
    )
    dirty = subprocess.run(
        ["git", "status", "--porcelain", "--", "{{cookiecutter.project_slug}}/" + RUNTIME_PACKAGE],
        cwd=REPO,
        capture_output=True,
        text=True,
        timeout=30,
    )
    return {
        "cpu": cpu,
        "cores": os.cpu_count(),
        "memory": memory,
        "kernel": platform.release(),
        "python": info.get("python", "unknown"),
        "locust": info.get("locust", "unknown"),
        "requests": info.get("requests", "unknown"),
        "geventhttpclient": info.get("geventhttpclient", "unknown"),
        "gevent": info.get("gevent", "unknown"),
        "nginx": (nginx_version.stderr or nginx_version.stdout).strip() or "nginx version unknown",
        "commit": (commit.stdout.strip() or "unknown")
        + (f" with uncommitted changes to {RUNTIME_PACKAGE}" if dirty.stdout.strip() else ""),
        "runtime_sha256": hashlib.sha256(b"".join(p.read_bytes() for p in runtime_files(project))).hexdigest()[:12],
        "date": datetime.datetime.now(datetime.UTC).strftime("%Y-%m-%d %H:%M UTC"),
        "loadavg": " ".join(f"{value:.2f}" for value in os.getloadavg()),
    }


def check_machine() -> None:
    if not Path("/proc/self/stat").exists() or not hasattr(os, "sched_getaffinity"):
        raise BenchError("this benchmark needs Linux (/proc, CPU affinity)")
    cores = os.sched_getaffinity(0)
    if not {LOCUST_CORE, TARGET_CORE} <= cores:
        raise BenchError(
            f"this benchmark pins Locust to core {LOCUST_CORE} and nginx to core {TARGET_CORE}, "
            f"but this process may only use cores {sorted(cores)}"
        )
    if not shutil.which("taskset"):
        raise BenchError("taskset (util-linux) is missing: `apt-get install util-linux`")


def find_py_spy() -> str | None:
    beside = Path(sys.executable).parent / "py-spy"
    return str(beside) if beside.exists() else shutil.which("py-spy")


# --- main ---------------------------------------------------------------------------


def bake(work: Path) -> Path:
    from cookiecutter.main import cookiecutter

    return Path(cookiecutter(str(REPO), no_input=True, output_dir=str(work / "bake")))


def schedule(rounds: int) -> Iterator[tuple[int, Config | Pair]]:
    """Every configuration alone and every pair once a round, forwards in odd rounds, backwards in even ones."""
    everything: list[Config | Pair] = [*ALONE, *PAIRS]
    for round_no in range(1, rounds + 1):
        for item in everything if round_no % 2 else list(reversed(everything)):
            yield round_no, item


def _terminate(signum, _frame):
    raise SystemExit(128 + signum)


def main(argv: list[str] | None = None) -> int:
    settings = parse_args(argv)
    started = time.monotonic()
    signal.signal(signal.SIGTERM, _terminate)
    children = Children()
    work = Path(tempfile.mkdtemp(prefix="tideways-locust-bench-"))
    try:
        check_machine()
        nginx = ensure_nginx()
        from scripts.baked_venv import ensure_baked_venv

        python = ensure_baked_venv()
        project = bake(work)
        print(f"Baked the default answers into {project}; Locust runs {python}")
        # This process only waits and samples /proc: keep it off Locust's core.
        os.sched_setaffinity(0, {TARGET_CORE})
        target = start_nginx(nginx, work, children)
        print(f"nginx ({nginx}) serves {target.url} on core {TARGET_CORE}; Locust runs on core {LOCUST_CORE}")
        bench = Bench(settings, python, project, work, target, children)

        print("Timing one header with timeit ...", flush=True)
        header = bench.header_cost()
        runs: list[Run] = []
        pair_runs: list[PairRun] = []
        total = settings.rounds * (len(ALONE) + len(PAIRS))
        for index, (round_no, item) in enumerate(schedule(settings.rounds), start=1):
            prefix = f"[{index}/{total}] round {round_no}: {item.label}"
            if isinstance(item, Pair):
                pair_run = bench.run_pair(item, round_no)
                pair_runs.append(pair_run)
                base, other = pair_run.base, pair_run.other
                quiet = f"{base.quiet_s}/{base.window_s} s quiet"
                ratio = "n/a" if pair_run.ratio is None else f"{pair_run.ratio:.3f}"
                rates = f"{base.rps or 0:,.0f} / {other.rps or 0:,.0f} requests/s"
                problems = base.problems + other.problems
                print(f"{prefix}: {ratio} ({rates}, {quiet})", end="")
            else:
                run = bench.run(item, round_no)
                runs.append(run)
                rps = "" if run.rps is None else f"{run.rps:,.0f} requests/s ({run.quiet_s}/{run.window_s} s quiet), "
                problems = run.problems
                print(f"{prefix}, {run.users} users: {rps}peak {run.peak_rss_kib / 1024:.0f} MiB", end="")
            print(f"  PROBLEM: {'; '.join(problems)}" if problems else "", flush=True)
        configs = aggregate(runs)
        pairs = aggregate_pairs(pair_runs)
        goals = measure_goals(configs, header, runs, pairs)

        profiles: list[dict] = []
        to_profile = []
        if settings.profile == "always":
            to_profile = [pair.key for pair in PAIRS if pair.base != pair.other]
        elif settings.profile == "auto":
            to_profile = [row["key"] for row in goals if row["passed"] is False and row["key"] in PAIR_BY_KEY]
        if to_profile:
            py_spy = find_py_spy()
            if py_spy is None:
                print("py-spy is missing (pip install -r bench/requirements.txt): no profiles")
            for key in to_profile if py_spy else []:
                print(f"Profiling {PAIR_BY_KEY[key].label} with py-spy ...", flush=True)
                profiles.append(bench.profile(PAIR_BY_KEY[key], py_spy))

        results = {
            "settings": settings.summary(),
            "machine": machine_info(python, nginx, project),
            "goals": goals,
            "configs": configs,
            "header_cost": header,
            "pairs": pairs,
            "runs": [run.__dict__ for run in runs],
            "pair_runs": [pair_run.as_dict() for pair_run in pair_runs],
            "profiles": profiles,
            "analysis": analysis(pairs, header, goals),
            "problems": [
                f"{CONFIG_BY_KEY[run.config].label}, round {run.round}: {p}" for run in runs for p in run.problems
            ]
            + [
                f"{PAIR_BY_KEY[pair_run.pair].label}, round {pair_run.round}: {p}"
                for pair_run in pair_runs
                for p in pair_run.base.problems + pair_run.other.problems
            ],
            "duration_s": time.monotonic() - started,
        }
    except BenchError as error:
        print(f"ERROR: {error}", file=sys.stderr)
        return 1
    finally:
        children.stop_all()
        if settings.keep:
            print(f"The temporary folder stays in {work}")
        else:
            shutil.rmtree(work, ignore_errors=True)

    settings.output.mkdir(parents=True, exist_ok=True)
    (settings.output / "results.json").write_text(json.dumps(results, indent=2) + "\n")
    (settings.output / "results.md").write_text(results_markdown(results))
    write_chart(results, settings.output / "chart.png")
    print()
    print(goals_table(goals))
    minutes = results["duration_s"] / 60
    print(f"\nResults: {settings.output / 'results.md'}, results.json and chart.png ({minutes:.1f} min)")
    if results["problems"]:
        print("Some runs are not valid:\n  " + "\n  ".join(results["problems"]), file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
