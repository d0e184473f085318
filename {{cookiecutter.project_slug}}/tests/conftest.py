"""Real Locust runs against a local target that checks every profiling header.

``start_target`` starts ``tests/target.py`` on 127.0.0.1; ``run_locust`` runs
``locust`` in a subprocess with a clean environment: no ``LOCUST_*`` variable
of yours leaks in, and each run is bounded in time.
"""

from __future__ import annotations

import os
import select
import signal
import socket
import subprocess
import sys
import time
from dataclasses import dataclass, field
from pathlib import Path

import pytest

from tests.target import read_log, summarize

ROOT = Path(__file__).resolve().parents[1]
SCENARIO = ROOT / "tests" / "locustfiles" / "scenario.py"
API_KEY = "test-key-\u00e4\u00f6-not-a-real-one"
RUN_TIMEOUT = 90


@dataclass
class Target:
    url: str
    log: Path
    process: subprocess.Popen
    output: list[str] = field(default_factory=list)

    def records(self) -> list[dict]:
        return read_log(self.log)

    def summary(self) -> dict[str, int]:
        return summarize(self.records())

    def stop(self) -> None:
        if self.process.poll() is None:
            self.process.send_signal(signal.SIGTERM)
            try:
                out, _ = self.process.communicate(timeout=10)
            except subprocess.TimeoutExpired:
                self.process.kill()
                out, _ = self.process.communicate()
            self.output.extend(out.splitlines())


def _read_line(process: subprocess.Popen, timeout: float) -> str:
    ready, _, _ = select.select([process.stdout], [], [], timeout)
    if not ready:
        process.kill()
        raise RuntimeError("the target did not start in time")
    return process.stdout.readline()


@pytest.fixture
def start_target(tmp_path):
    """``start_target(key)`` starts a checking target and returns a :class:`Target`."""
    started: list[Target] = []

    def start(key: str = API_KEY) -> Target:
        log = tmp_path / f"target-{len(started)}.jsonl"
        process = subprocess.Popen(
            [sys.executable, str(ROOT / "tests" / "target.py"), "--key", key, "--log", str(log)],
            stdout=subprocess.PIPE,
            text=True,
        )
        line = _read_line(process, timeout=30)
        assert line.startswith("listening on "), line
        target = Target(url=line.split()[-1], log=log, process=process)
        started.append(target)
        return target

    yield start
    for target in started:
        target.stop()


def locust_env(**variables: str) -> dict[str, str]:
    """The environment without LOCUST_* variables, plus ``variables``."""
    env = {name: value for name, value in os.environ.items() if not name.startswith("LOCUST_")}
    env["PYTHONPATH"] = str(ROOT)
    env.update(variables)
    return env


def locust_command(*args: str) -> list[str]:
    return [sys.executable, "-m", "locust", *args]


def run_locust(*args: str, env: dict[str, str] | None = None, cwd: Path = ROOT) -> subprocess.CompletedProcess:
    """``locust --headless ARGS``, bounded by ``RUN_TIMEOUT`` seconds."""
    return subprocess.run(
        locust_command("--headless", "--only-summary", *args),
        env=env if env is not None else locust_env(),
        cwd=cwd,
        capture_output=True,
        text=True,
        timeout=RUN_TIMEOUT,
    )


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def wait_until(condition, timeout: float, interval: float = 0.2):
    """Poll ``condition`` until it returns something true; at most ``timeout`` seconds."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        result = condition()
        if result:
            return result
        time.sleep(interval)
    raise AssertionError(f"not true within {timeout} s: {condition.__doc__ or condition}")
