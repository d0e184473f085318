"""Headless Locust runs of a baked project, started from the template's tests.

A run is stopped the way its run time would stop it (the baked project's
``tests/locustfiles/stop_when_told.py``: SIGUSR1) as soon as the condition the test
waits for holds, or left to end on its own when it stops itself (every login failed).
No test waits for a run time.
"""

from __future__ import annotations

import signal
import subprocess
import tempfile
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from scripts.baked_venv import project_env
from scripts.processes import free_port

STOP_WHEN_TOLD = "tests/locustfiles/stop_when_told.py"  # the baked project's
WITHIN = 60.0  # seconds a condition may take to hold
RUN_TIME = "90s"  # a run's own end, past WITHIN: a test that waited in vain fails first


@dataclass
class Run:
    returncode: int
    stderr: str


def run_locust(
    project: Path,
    python: Path,
    locustfile: str,
    *args: str,
    until: Callable[[], bool] | None = None,
    env: dict[str, str] | None = None,
) -> Run:
    """``locust --headless -f LOCUSTFILE ARGS`` in ``project``; stopped once ``until()`` holds, else
    awaited until it ends on its own (at ``RUN_TIME`` at the latest)."""
    command = [
        str(python), "-m", "locust", "--headless", "--only-summary", "-f", f"{locustfile},{STOP_WHEN_TOLD}",
        "-t", RUN_TIME, "--tideways-run-file", "", "--tideways-event", "none", *args,
    ]  # fmt: skip
    return _run(command, [], project, env, until)


def run_distributed(
    project: Path,
    python: Path,
    locustfile: str,
    *args: str,
    workers: int = 2,
    until: Callable[[], bool] | None = None,
    env: dict[str, str] | None = None,
) -> Run:
    """``run_locust`` with a headless master on 127.0.0.1 (``ARGS`` are the master's) and ``workers``
    workers, which get everything from the master; the master's output is the run's."""
    port = str(free_port())
    files = f"{locustfile},{STOP_WHEN_TOLD}"
    master = [
        str(python), "-m", "locust", "--headless", "--only-summary", "-f", files, "-t", RUN_TIME,
        "--tideways-run-file", "", "--tideways-event", "none", "--master", "--master-bind-host", "127.0.0.1",
        "--master-bind-port", port, "--expect-workers", str(workers), "--expect-workers-max-wait", "30", *args,
    ]  # fmt: skip
    worker = [str(python), "-m", "locust", "-f", files, "--worker", "--master-host", "127.0.0.1", "--master-port", port]
    return _run(master, [worker] * workers, project, env, until)


def _run(command: list[str], others: list[list[str]], project: Path, env, until) -> Run:
    """``command`` (stopped once ``until()`` holds) beside ``others``, which end with it (or are killed)."""
    environment = {**project_env(), **(env or {})}
    with tempfile.TemporaryFile() as err:
        process = subprocess.Popen(command, cwd=project, env=environment, stdout=subprocess.DEVNULL, stderr=err)
        helpers = [
            subprocess.Popen(other, cwd=project, env=environment, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
            for other in others
        ]
        try:
            if until is not None:
                deadline, seen = time.monotonic() + WITHIN, False
                while process.poll() is None and time.monotonic() < deadline:
                    seen = until()
                    if seen:
                        break
                    time.sleep(0.05)
                assert process.poll() is None, f"locust ended before: {until.__doc__ or 'the condition held'}"
                assert seen, f"not within {WITHIN:g} s: {until.__doc__ or 'the condition'}"
                process.send_signal(signal.SIGUSR1)
            process.wait(timeout=150)
            for helper in helpers:
                helper.wait(timeout=30)  # a worker quits when its master does
        finally:
            for running in [process, *helpers]:
                if running.poll() is None:
                    running.kill()
                    running.wait(timeout=20)
            err.seek(0)
            stderr = err.read().decode("utf-8", "replace")
    return Run(process.returncode, stderr)
