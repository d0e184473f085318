"""What one Locust run measured: requests/s over the quiet seconds of a window, CPU, traced share.

A run's requests per second come from Locust's ``--json-file``; its CPU and the machine's from the
:class:`~bench.processes.Sample` s taken while it ran. Seconds in which other processes (other
developers' tests on a shared machine) took a pinned core are left out when enough quiet ones remain.
"""

from __future__ import annotations

import json
import math
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path

from bench.processes import Sample

QUIET_LIMIT = 0.10  # a second is quiet when other processes used less than this share of either pinned core
MIN_QUIET_SECONDS = 3


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


def measure_window(
    per_second: dict[int, int], samples: list[Sample], warmup: int, bounds: tuple[int, int] | None = None
) -> dict | None:
    """requests/s and CPU over the whole seconds after ``warmup``, leaving out the last (partial) one.

    Each second in which other processes took more than ``QUIET_LIMIT`` of Locust's or the target's
    core (busy time of the core from ``/proc/stat`` less our own processes' CPU time) is left out, when
    at least ``MIN_QUIET_SECONDS`` quiet seconds remain; otherwise every second counts and the run is
    marked noisy. None when no whole second follows the warm-up. ``bounds`` (first second, last
    second) replaces the run's own: a window shared by runs side by side.
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


def shared_seconds(per_seconds: list[dict[int, int]]) -> tuple[int, int] | None:
    """The first and last second in which every one of runs side by side completed requests."""
    spans = [(min(seconds), max(seconds)) for seconds in per_seconds if seconds]
    if len(spans) != len(per_seconds) or not spans:
        return None
    return max(first for first, _ in spans), min(last for _, last in spans)


def check_traced(rate: float | None, requests: int, traced: int, always: int = 0) -> str | None:
    """A problem when the share of traced requests is not the configured trace rate.

    ``always`` requests are traced whatever the rate (trace coverage: the first of each endpoint);
    the rate samples the rest."""
    if requests == 0:
        return "no request completed"
    if rate is None:
        return None if traced == 0 else f"{traced} requests carried a profiling header in a plain run"
    p = rate / 100
    always = min(always, requests)
    tolerance = 6 * math.sqrt(p * (1 - p) / requests) + 0.002
    share = traced / requests
    if abs(share - (always + p * (requests - always)) / requests) > tolerance:
        also = f" and the first {always}" if always else ""
        return f"{share:.2%} of the requests were traced, expected {rate:g} %{also}"
    return None
