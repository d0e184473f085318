"""Distributed runs: a master with workers, and ``--processes``, against targets on 127.0.0.1.

The API key and the trace rate are set on the master alone; Locust hands them
to every worker when a test starts. Each request of ``WORKER_USERS`` names the
process that sent it (``X-Worker``), so every worker's requests are checked on
their own.
"""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from tests.conftest import (
    API_KEY,
    ROOT,
    SCENARIO,
    SCENARIOS,
    SHORT,
    WORKERS,
    locust_env,
    run_locust,
    run_master_and_workers,
    scenario_done,
)

RATE = 30

WORKER_USERS = """
import os

from locust import constant

from tideways_locust import FastHttpTidewaysUser, HttpTidewaysUser


def send(user):
    worker = {"X-Worker": str(os.getpid())}
    user.client.get("/work", headers=worker)
    user.client.post("/work", headers=worker)


class HttpWorkerUser(HttpTidewaysUser):
    tasks = [send]
    wait_time = constant(0.005)


class FastHttpWorkerUser(FastHttpTidewaysUser):
    tasks = [send]
    wait_time = constant(0.005)
"""


@pytest.fixture
def worker_users(tmp_path) -> Path:
    path = tmp_path / "worker_users.py"
    path.write_text(WORKER_USERS)
    return path


def by_worker(records: list[dict]) -> dict[str, list[dict]]:
    workers: dict[str, list[dict]] = {}
    for record in records:
        workers.setdefault(record["headers"]["x-worker"], []).append(record)
    return workers


def every_worker_sent(target, count: int):
    """A condition: ``target`` received ``count`` requests from each of ``WORKERS`` processes."""

    def enough() -> bool:
        workers = by_worker(target.records())
        return len(workers) == WORKERS and all(len(records) >= count for records in workers.values())

    enough.__doc__ = f"{count} requests from each of {WORKERS} workers"
    return enough


def assert_traced_share(records: list[dict], rate: float) -> None:
    """Every traced request is accepted, and the traced share is the rate within 6 sigma."""
    traced = [r for r in records if r["profiler"] is not None]
    assert all(r["verdict"] == "accepted" for r in traced), {r["verdict"] for r in traced}
    assert len(records) >= 150, len(records)
    p = rate / 100
    share = len(traced) / len(records)
    sigma = (p * (1 - p) / len(records)) ** 0.5
    assert abs(share - p) < 6 * sigma, (share, len(records))


@pytest.mark.parametrize("user_class", SCENARIOS)
def test_workers_use_the_key_and_rate_set_on_the_master(user_class, start_target):
    target, other = start_target(), start_target()
    result = run_master_and_workers(
        SCENARIO,
        ["--host", target.url, "--tideways-trace-rate", "100", *SHORT, user_class],
        locust_env(LOCUST_TIDEWAYS_APIKEY=API_KEY, OTHER_ORIGIN=other.url),
        [],
        locust_env(OTHER_ORIGIN=other.url),  # no key, default rate: the master's values must arrive
        until=scenario_done(other, times=3),
    )
    assert result.returncode == 0, result.stderr
    assert target.records()
    assert all(r["verdict"] == "accepted" for r in target.records()), "every request signed and valid"
    assert other.records(), "the other origin was requested"
    assert all(r["profiler"] is None for r in other.records())


@pytest.mark.parametrize("user_class", ["HttpWorkerUser", "FastHttpWorkerUser"])
def test_every_worker_traces_the_share_set_on_the_master(user_class, start_target, worker_users):
    target = start_target()
    result = run_master_and_workers(
        worker_users,
        ["--host", target.url, "--tideways-trace-rate", str(RATE), *SHORT, user_class],
        locust_env(LOCUST_TIDEWAYS_APIKEY=API_KEY),
        # The workers' own key and rate are wrong: the master's replace them when the test starts.
        ["--tideways-trace-rate", "100"],
        locust_env(LOCUST_TIDEWAYS_APIKEY="a-wrong-key-on-the-worker"),
        until=every_worker_sent(target, 150),
    )
    assert result.returncode == 0, result.stderr
    workers = by_worker(target.records())
    assert len(workers) == WORKERS, list(workers)
    for records in workers.values():
        assert_traced_share(records, RATE)
    assert_traced_share(target.records(), RATE)
    assert API_KEY not in result.stderr


def test_processes_use_the_key_and_rate_of_the_command_line(start_target, worker_users):
    target = start_target()
    result = run_locust(
        "-f",
        str(worker_users),
        "--processes",
        str(WORKERS),
        "--host",
        target.url,
        "--tideways-trace-rate",
        str(RATE),
        *SHORT,
        "FastHttpWorkerUser",
        env=locust_env(LOCUST_TIDEWAYS_APIKEY=API_KEY),
        until=every_worker_sent(target, 150),
    )
    assert result.returncode == 0, result.stderr
    workers = by_worker(target.records())
    assert len(workers) == WORKERS, list(workers)
    for records in workers.values():
        assert_traced_share(records, RATE)


IMAGE_TAGS = {
    "Dockerfile": r"^FROM locustio/locust:(\S+)$",
    "kubernetes/values.yaml": r"^image:\n(?:  .*\n)*?  tag: \"?([^\"\s]+)\"?$",
}


@pytest.mark.project
@pytest.mark.parametrize("name", IMAGE_TAGS)
def test_the_images_run_the_pinned_locust(name):
    """The Docker image and the Kubernetes pods run the Locust version that requirements.txt pins."""
    path = ROOT / name
    if not path.exists():
        pytest.skip(f"no {name}: the project was baked without it")
    pin = re.search(r"^locust==(\S+)$", (ROOT / "requirements.txt").read_text(), re.MULTILINE)
    tag = re.search(IMAGE_TAGS[name], path.read_text(), re.MULTILINE)
    assert pin and tag, f"requirements.txt pins locust==X and {name} names the image tag X"
    assert tag[1] == pin[1], f"change the image tag in {name} with the Locust version in requirements.txt"
