"""The processes a benchmark starts, how long they may take, and the CPU time they and the machine use.

Locust is pinned to ``LOCUST_CORE``, the target to ``TARGET_CORE``; while they run, :class:`Sample`
s of ``/proc`` say how much of each core went to our processes and how much to anyone else.
"""

from __future__ import annotations

import contextlib
import os
import shutil
import subprocess
import time
from collections.abc import Callable
from pathlib import Path
from typing import NamedTuple

from scripts import processes

LOCUST_CORE = 0
TARGET_CORE = 1
SAMPLE_INTERVAL = 0.2  # seconds between /proc samples of Locust's and nginx's CPU time


class BenchError(Exception):
    """A reason to stop, said in one line."""


class Children:
    """Every process a benchmark starts, each in its own session, stopped at the end."""

    def __init__(self) -> None:
        self.processes: list[subprocess.Popen] = []

    def start(self, command: list[str], **kwargs) -> subprocess.Popen:
        process = processes.start(command, **kwargs)
        self.processes.append(process)
        return process

    @staticmethod
    def stop(process: subprocess.Popen, timeout: float = 10) -> None:
        processes.stop(process, timeout)

    def stop_all(self) -> None:
        for process in reversed(self.processes):
            self.stop(process)


def pinned(core: int, command: list[str]) -> list[str]:
    return ["taskset", "-c", str(core), *command]


def wait_all(
    started: list[subprocess.Popen], timeout: float, on_tick: Callable[[], None] | None = None
) -> list[tuple[int, object]]:
    """Waits for processes that run at the same time, at most ``timeout`` s, calling ``on_tick`` between
    looks; each one's exit code and ``rusage`` (``wait4``), in their order. Past the timeout all are stopped."""
    deadline = time.monotonic() + timeout
    done: dict[int, tuple[int, object]] = {}
    while True:
        for index, process in enumerate(started):
            if index not in done:
                pid, status, usage = os.wait4(process.pid, os.WNOHANG)
                if pid:
                    process.returncode = os.waitstatus_to_exitcode(status)
                    done[index] = (process.returncode, usage)
        if len(done) == len(started):
            return [done[index] for index in range(len(started))]
        if time.monotonic() > deadline:
            for process in started:
                Children.stop(process)
            raise BenchError(f"Locust did not finish within {timeout:.0f} s and was stopped")
        if on_tick:
            on_tick()
        time.sleep(SAMPLE_INTERVAL)


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
    """Cumulative CPU seconds at Unix time ``t``: one Locust, all of ours on its core, the target, this
    script, and each pinned core."""

    t: float
    locust: float
    ours: float
    target: float
    own: float
    locust_core: float
    target_core: float


def sampler(started: list[subprocess.Popen], target_pid: int, samples: list[list[Sample]]) -> Callable[[], None]:
    """A function that appends one :class:`Sample` for each of ``started`` to ``samples``."""

    def sample() -> None:
        now, cores = time.time(), core_busy_seconds()
        locusts = [cpu_seconds(process.pid) for process in started]
        target = cpu_seconds(target_pid)
        if None in locusts or target is None or not {LOCUST_CORE, TARGET_CORE} <= cores.keys():
            return
        ours = sum(locusts)
        for series, locust in zip(samples, locusts, strict=True):
            series.append(
                Sample(now, locust, ours, target, time.process_time(), cores[LOCUST_CORE], cores[TARGET_CORE])
            )

    return sample


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
