"""Coverage, budget, redirects and lost workers: what the run traces is what the application takes.

Real headless runs against the checking target (``tests/target.py``), which accepts
a profiling header only when Tideways' server would: the traces it accepted are the
traces the application took. Each endpoint of ``ENDPOINT_USERS`` is a request name;
the rarer ones are asked for once in many task runs, so at trace rate 1 they would
end a short run without a callgraph.
"""

from __future__ import annotations

import json
import os
import signal
import time
from collections import Counter
from pathlib import Path

import pytest

from tests.conftest import (
    API_KEY,
    SHORT,
    WORKERS,
    arrived,
    locust_env,
    run_locust,
    run_master_and_workers,
)
from tideways_locust.sampling import BUDGET_WINDOW, Budget, Coverage, Sampler, budget_shares
from tideways_locust.tracelog import FLUSH_INTERVAL

ENDPOINTS = 12

ENDPOINT_USERS = """
import os
import random

from locust import constant

from tideways_locust import FastHttpTidewaysUser, HttpTidewaysUser

ENDPOINTS = COUNT
# Endpoint i is asked for with a weight of 1 / (i + 1) ** 2: the last ones once in a few hundred task runs.
WEIGHTS = [1 / (i + 1) ** 2 for i in range(ENDPOINTS)]


def send(user):
    worker = {"X-Worker": str(os.getpid())}
    i = random.choices(range(ENDPOINTS), WEIGHTS)[0]
    user.client.get(f"/e/{i}?n={random.randrange(1000)}", name=f"/e/{i}", headers=worker)


def uniform(user):
    worker = {"X-Worker": str(os.getpid())}
    i = random.randrange(ENDPOINTS)
    user.client.get(f"/e/{i}", headers=worker)


def login(user):
    # A login form's POST, answered with a redirect within the origin, then a page.
    user.client.post("/from?redirect=302&to=/landing", name="POST login", data="user=a")
    user.client.get("/page")


class HttpEndpointUser(HttpTidewaysUser):
    tasks = [send]
    wait_time = constant(0.002)


class FastHttpEndpointUser(FastHttpTidewaysUser):
    tasks = [send]
    wait_time = constant(0.002)


class UniformUser(FastHttpTidewaysUser):
    tasks = [uniform]
    wait_time = constant(0.002)


class HttpLoginUser(HttpTidewaysUser):
    tasks = [login]
    wait_time = constant(0.005)


class FastHttpLoginUser(FastHttpTidewaysUser):
    tasks = [login]
    wait_time = constant(0.005)
""".replace("COUNT", str(ENDPOINTS))


@pytest.fixture
def endpoint_users(tmp_path) -> Path:
    path = tmp_path / "endpoint_users.py"
    path.write_text(ENDPOINT_USERS)
    return path


def endpoint_of(record: dict) -> str:
    return record["path"].split("?")[0]


def accepted(records: list[dict]) -> list[dict]:
    traced = [r for r in records if r["profiler"] is not None]
    assert all(r["verdict"] == "accepted" for r in traced), Counter(r["verdict"] for r in traced)
    return traced


def lines_with(stderr: str, text: str) -> list[str]:
    return [line for line in stderr.splitlines() if text in line]


# -- the parts, alone --


def test_a_budget_holds_over_any_window_and_counts_what_it_refused(monkeypatch):
    now = [1000.0]
    monkeypatch.setattr("tideways_locust.sampling.time.monotonic", lambda: now[0])
    budget = Budget(3)
    assert [bool(budget.take()) for _ in range(5)] == [True, True, True, False, False]
    assert budget.capped == 2
    now[0] += BUDGET_WINDOW - 0.01
    assert not budget.take(), "the first of the three is not a window old yet"
    now[0] += 0.01
    assert budget.take() and budget.take() and budget.take() and not budget.take()
    budget.give_back(now[0])
    assert budget.take(), "a token given back is taken again"
    assert not Budget(0).take(), "a share of 0 traces nothing"


def test_coverage_grants_the_first_n_of_each_endpoint():
    coverage = Coverage(2)
    assert [coverage.claim("GET /a") for _ in range(3)] == [True, True, False]
    assert coverage.claim("GET /b") and "GET /a" in coverage.done and "GET /b" not in coverage.done


def test_the_sampler_spends_the_budget_on_coverage_first_then_the_rate():
    sampler = Sampler(Coverage(1), Budget(2))
    assert sampler.choose("GET /a", hit=False), "the first of an endpoint, whatever the draw"
    assert not sampler.choose("GET /a", hit=False), "then the rate decides"
    assert sampler.choose("GET /a", hit=True)
    assert not sampler.choose("GET /b", hit=True), "the budget is spent: not even coverage"
    assert sampler.budget.capped == 1
    sampler = Sampler(Coverage(1), None)
    assert sampler.choose("GET /a", hit=True) and sampler.choose("GET /b", hit=False)
    assert not sampler.choose("GET /a", hit=False)


def test_the_budget_is_split_among_the_workers_to_the_last_one():
    assert budget_shares(30, ["b", "a"]) == {"a": 15, "b": 15}
    assert budget_shares(31, ["b", "a", "c"]) == {"a": 11, "b": 10, "c": 10}
    assert sum(budget_shares(7, [f"w{i}" for i in range(10)]).values()) == 7
    assert budget_shares(5, []) == {}


@pytest.mark.parametrize("value", ["-1", "1.5", "x", "1001"])
def test_a_bad_coverage_stops_locust_before_any_request(value, start_target, endpoint_users):
    target = start_target()
    result = run_locust(
        "-f", str(endpoint_users), "--host", target.url, "-t", "5s", "--tideways-trace-coverage", value,
        "UniformUser", env=locust_env(LOCUST_TIDEWAYS_APIKEY=API_KEY),
    )  # fmt: skip
    assert result.returncode != 0 and not target.records()
    assert f"{value!r} is not allowed: give a whole number from 0 to 1000" in result.stderr


def test_a_bad_budget_in_the_environment_is_named(start_target, endpoint_users):
    target = start_target()
    result = run_locust(
        "-f", str(endpoint_users), "--host", target.url, "-t", "5s", "UniformUser",
        env=locust_env(LOCUST_TIDEWAYS_APIKEY=API_KEY, LOCUST_TIDEWAYS_TRACE_BUDGET="thirty"),
    )  # fmt: skip
    assert result.returncode != 0 and not target.records()
    assert "'thirty' is not allowed: give a whole number from 0 to 1000000 (traced requests a minute" in result.stderr


# -- real runs --


@pytest.mark.parametrize("user_class", ["HttpEndpointUser", "FastHttpEndpointUser"])
def test_coverage_gives_every_endpoint_called_a_callgraph_at_rate_1(user_class, start_target, endpoint_users, tmp_path):
    target = start_target()
    run_file, log = tmp_path / "run.json", tmp_path / "traces.jsonl"
    result = run_locust(
        "-f", str(endpoint_users), "--host", target.url, *SHORT, user_class,
        "--tideways-trace-rate", "1", "--tideways-trace-coverage", "1",
        env=locust_env(
            LOCUST_TIDEWAYS_APIKEY=API_KEY, LOCUST_TIDEWAYS_RUN_FILE=str(run_file), LOCUST_TIDEWAYS_TRACE_LOG=str(log)
        ),
        until=arrived(target, 600),
    )  # fmt: skip
    assert result.returncode == 0, result.stderr[-3000:]
    records = target.records()
    called = {endpoint_of(r) for r in records}
    traced = Counter(endpoint_of(r) for r in accepted(records))
    assert called == set(traced), f"no callgraph: {sorted(called - set(traced))}"
    assert len(called) >= ENDPOINTS // 2, "the run called rare endpoints too"
    run = json.loads(run_file.read_text())
    by_endpoint = {e["name"]: e for e in run["endpoints"]}
    assert {name: e["traced"] for name, e in by_endpoint.items()} == dict(traced)
    assert all(e["slowest_trace"]["path"].startswith(e["name"]) for e in by_endpoint.values())
    assert run["traced"] == sum(traced.values()) == len(log.read_text().splitlines())
    assert run["tideways"]["coverage"] == 1 and run["tideways"]["budget_per_minute"] is None
    [line] = lines_with(result.stderr, "Tideways coverage")
    assert f"{len(called)} of {len(called)} endpoints traced" in line and "no callgraph" not in line


def test_with_workers_coverage_counts_the_run_not_each_worker(start_target, endpoint_users, tmp_path):
    target = start_target()
    run_file = tmp_path / "run.json"
    result = run_master_and_workers(
        endpoint_users,
        ["--host", target.url, *SHORT, "UniformUser", "--tideways-trace-rate", "0", "--tideways-trace-coverage", "3"],
        locust_env(LOCUST_TIDEWAYS_APIKEY=API_KEY, LOCUST_TIDEWAYS_RUN_FILE=str(run_file)),
        [],
        locust_env(),
        until=arrived(target, 800),
    )
    assert result.returncode == 0, result.stderr[-3000:]
    records = target.records()
    assert len({r["headers"]["x-worker"] for r in records}) == WORKERS
    traced = Counter(endpoint_of(r) for r in accepted(records))
    assert traced == {f"/e/{i}": 3 for i in range(ENDPOINTS)}, "3 a run, not 3 a worker"
    run = json.loads(run_file.read_text())
    assert run["traced"] == 3 * ENDPOINTS and run["traced_exact"] is True
    assert {e["name"]: e["traced"] for e in run["endpoints"]} == dict(traced)


def test_with_workers_the_budget_caps_the_run_and_says_so(start_target, endpoint_users, tmp_path):
    target = start_target()
    run_file = tmp_path / "run.json"
    result = run_master_and_workers(
        endpoint_users,
        ["--host", target.url, *SHORT, "UniformUser", "--tideways-trace-rate", "100", "--tideways-trace-budget", "30"],
        locust_env(LOCUST_TIDEWAYS_APIKEY=API_KEY, LOCUST_TIDEWAYS_RUN_FILE=str(run_file)),
        [],
        locust_env(),
        until=arrived(target, 600),
    )
    assert result.returncode == 0, result.stderr[-3000:]
    records = target.records()
    traced = accepted(records)
    assert records[-1]["time"] - records[0]["time"] < 60, "the run fits in one minute: its budget is 30 in all"
    assert len(traced) == 30, "each worker spent its share, 15"
    workers = {r["headers"]["x-worker"] for r in records}
    assert Counter(r["headers"]["x-worker"] for r in traced) == dict.fromkeys(workers, 15)
    run = json.loads(run_file.read_text())
    capped = run["tideways"]["budget_capped"]
    assert run["traced"] == 30 and capped == len(records) - 30 and run["tideways"]["budget_per_minute"] == 30
    [line] = lines_with(result.stderr, "Tideways budget")
    assert f"30 traced requests a minute capped the rate: {capped} requests chosen for a trace" in line


@pytest.mark.parametrize("user_class", ["HttpLoginUser", "FastHttpLoginUser"])
def test_through_same_origin_redirects_log_summary_and_application_agree(
    user_class, start_target, endpoint_users, tmp_path
):
    target = start_target()
    run_file, log = tmp_path / "run.json", tmp_path / "traces.jsonl"
    result = run_locust(
        "-f", str(endpoint_users), "--host", target.url, *SHORT, user_class, "--tideways-trace-rate", "100",
        env=locust_env(
            LOCUST_TIDEWAYS_APIKEY=API_KEY, LOCUST_TIDEWAYS_RUN_FILE=str(run_file), LOCUST_TIDEWAYS_TRACE_LOG=str(log)
        ),
        until=arrived(target, 150),
    )  # fmt: skip
    assert result.returncode == 0, result.stderr[-3000:]
    records = target.records()
    assert any(r["path"] == "/landing" for r in records), "the redirect was followed"
    assert all(r["profiler"] is None for r in records if r["path"] == "/landing")
    taken = len(accepted(records))
    logged = len(log.read_text().splitlines())
    run = json.loads(run_file.read_text())
    [summary] = [line for line in result.stderr.splitlines() if "Tideways: " in line and " traced (" in line]
    assert f" {taken} traced (" in summary
    assert run["traced"] == logged == taken


@pytest.mark.parametrize("found_by", ["locust", "quit"])
def test_a_lost_worker_costs_at_most_a_second_of_records_and_is_said(found_by, start_target, endpoint_users, tmp_path):
    """Killed mid-run, a worker is found missing by Locust's heartbeats (``locust``) or, killed
    shortly before the end, by its last hand-over not coming (``quit``)."""
    target = start_target()
    run_file, log = tmp_path / "run.json", tmp_path / "traces.jsonl"
    run: dict = {}
    killed: dict = {}

    def kill_one_then_run_on() -> bool:
        """one worker killed mid-run, the master saying so, then 100 more requests from the other"""
        records = target.records()
        by_worker = Counter(r["headers"]["x-worker"] for r in records)
        if not killed:
            if len(by_worker) == WORKERS and min(by_worker.values()) >= 200:
                victim = run["workers"][0]
                os.kill(victim.pid, signal.SIGKILL)
                victim.wait(timeout=10)
                killed.update(pid=str(victim.pid), at=time.time())
            return False
        if "seen" not in killed:
            if found_by == "quit" or "Tideways lost worker:" in run["output"]():
                killed["seen"] = len(records)
            return False
        return len(records) >= killed["seen"] + 100

    result = run_master_and_workers(
        endpoint_users,
        ["--host", target.url, *SHORT, "UniformUser", "--tideways-trace-rate", "30"],
        locust_env(
            LOCUST_TIDEWAYS_APIKEY=API_KEY, LOCUST_TIDEWAYS_RUN_FILE=str(run_file), LOCUST_TIDEWAYS_TRACE_LOG=str(log)
        ),
        [],
        locust_env(),
        until=kill_one_then_run_on,
        started=run,
    )
    assert killed, "a worker was killed"
    written = json.loads(run_file.read_text())
    [lost] = written["tideways"]["lost_workers"]
    assert written["traced_exact"] is False
    logged = [r for r in (json.loads(line) for line in log.read_text().splitlines()) if r["worker"] == lost["worker"]]
    taken = sorted(r["time"] for r in accepted(target.records()) if r["headers"]["x-worker"] == killed["pid"])
    missing = len(taken) - len(logged)
    assert missing >= 0 and lost["traced_reported"] == len(logged)
    # The records it had not handed over are those of its last moments: at most a second's.
    assert all(moment >= killed["at"] - 2 * FLUSH_INTERVAL for moment in taken[len(logged) :]), (missing, taken[-5:])
    assert lost["may_be_missing"] >= 1
    [line] = lines_with(result.stderr, "Tideways lost worker:")[-1:]  # the warning when found, the summary's
    assert lost["worker"] in line and f"up to about {lost['may_be_missing']} of its traced requests" in line
    [summary] = [line for line in result.stderr.splitlines() if "requests sent, at least " in line]
    assert f"at least {written['traced']} traced" in summary
