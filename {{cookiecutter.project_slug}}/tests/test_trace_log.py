"""Finding the traces again: reference ids, links, the trace log, the run file and the summary, in real runs."""

from __future__ import annotations

import json
import re
import signal
import subprocess
from collections import Counter
from pathlib import Path

import pytest

from tests.conftest import (
    API_KEY,
    ROOT,
    RUN_DIR,
    SCENARIO,
    SHORT,
    WORKERS,
    all_of,
    arrived,
    locust_command,
    locust_env,
    run_locust,
    run_master_and_workers,
    run_scenario,
    scenario_done,
    wait_until,
    web_ui,
)
from tests.target import whole_lines

SUMMARY = re.compile(
    r"Tideways: (\d+) requests sent, (\d+) traced \(([\d.]+) %, asked ([\d.]+) %, each request drawn on its own: "
    r"the share nears the rate over many requests\), "
    r"X-Tideways-Ref (?:is (\S+)|starts with (\S+)-), traces: (.+), trace log: (.+)"
)
HELD = ROOT / "tests" / "locustfiles" / "held.py"
PROJECT = "acme/shop"


def read_log(path) -> list[dict]:
    return [json.loads(line) for line in path.read_text(encoding="utf-8").splitlines()]


RECORD_FIELDS = {"time", "name", "method", "path", "status", "response_time_ms", "ref", "answered", "worker", "link"}


def check_log_against_target(log: list[dict], target) -> None:
    """Request mode: one record per traced request, ids unique, and untraced requests carry no id."""
    records = target.records()
    traced = [r for r in records if r["profiler"] is not None]
    assert traced, "something was traced"
    assert all(r["verdict"] == "accepted" for r in traced)
    assert all("x-tideways-ref" not in r["headers"] for r in records if r["profiler"] is None)
    refs = [r["headers"]["x-tideways-ref"] for r in traced]
    assert len(set(refs)) == len(refs), "reference ids are unique"
    assert sorted(record["ref"] for record in log) == sorted(refs), "one record per traced request"
    by_ref = {r["headers"]["x-tideways-ref"]: r for r in traced}
    for record in log:
        assert set(record) == RECORD_FIELDS
        assert record["path"] == by_ref[record["ref"]]["path"]
        assert record["method"] == by_ref[record["ref"]]["method"]
        assert (record["status"], record["answered"]) == (200, True)


def traced_by_processes(target, count: int):
    """A condition: ``target`` accepted traced requests of ``count`` processes (request mode's
    ``X-Tideways-Ref`` is RUN-PROCESS-NUMBER)."""

    def enough() -> bool:
        refs = [r["headers"].get("x-tideways-ref", "") for r in target.records() if r["verdict"] == "accepted"]
        return len({ref.rsplit("-", 2)[-2] for ref in refs if ref.count("-") >= 2}) >= count

    enough.__doc__ = f"traced requests of {count} processes"
    return enough


def traced_requests(target) -> list[tuple[str, str]]:
    """(method, path) of every request the target received with a valid profiling header."""
    return sorted((r["method"], r["path"]) for r in target.records() if r["verdict"] == "accepted")


def check_log_is_what_the_target_received(records: list[dict], target) -> None:
    """The log holds exactly the traced requests the target received. The target may still be
    reading the last ones from its sockets when Locust has exited, so it gets a few seconds."""
    logged = sorted((r["method"], r["path"]) for r in records)
    try:
        wait_until(lambda: traced_requests(target) == logged, timeout=5)
    except AssertionError:
        assert logged == traced_requests(target)


def summary_of(stderr: str) -> re.Match:
    lines = [line for line in stderr.splitlines() if "Tideways: " in line and "traced" in line]
    assert len(lines) == 1, stderr[-3000:]
    match = SUMMARY.search(lines[0])
    assert match, lines[0]
    return match


def test_single_process_log_summary_and_ids_agree(start_target, tmp_path):
    target, other = start_target(), start_target()
    log = tmp_path / "traces.jsonl"
    result = run_scenario(
        "HttpScenario",
        target,
        other,
        "--tideways-trace-rate",
        "40",
        "--tideways-ref-mode",
        "request",
        "--tideways-project",
        PROJECT,
        LOCUST_TIDEWAYS_TRACE_LOG=str(log),
    )
    assert result.returncode == 0, result.stderr
    records = read_log(log)
    check_log_against_target(records, target)
    sent, traced, reached, asked, whole_run, run_id, links, log_name = summary_of(result.stderr).groups()
    assert whole_run is None and int(traced) == len(records)
    assert int(sent) == len(target.records()) + len(other.records())
    assert float(reached) == pytest.approx(100 * len(records) / int(sent), abs=0.001)
    assert float(asked) == 40 and log_name == str(log)
    assert links == "one link per trace log record (--tideways-ref-mode request)"
    assert all(record["ref"].startswith(f"{run_id}-") for record in records)
    assert all(
        record["link"] == f"https://app.tideways.io/o/acme/shop/traces?cid={record['ref']}" for record in records
    )
    assert {record["worker"] for record in records} == {"local"}


@pytest.mark.locust_hooks
def test_by_default_the_run_id_is_every_reference_and_one_link_lists_the_run(start_target, tmp_path):
    target, other = start_target(), start_target()
    log, run_file, job_summary = tmp_path / "traces.jsonl", tmp_path / "out" / "run.json", tmp_path / "summary.md"
    result = run_scenario(
        "FastHttpScenario",
        target,
        other,
        "--tideways-trace-rate",
        "50",
        "--tideways-project",
        PROJECT,
        "--tideways-environment",
        "production",
        LOCUST_TIDEWAYS_TRACE_LOG=str(log),
        LOCUST_TIDEWAYS_RUN_FILE=str(run_file),
        GITHUB_STEP_SUMMARY=str(job_summary),
    )
    assert result.returncode == 0, result.stderr
    sent, traced, _reached, _asked, run_id, _prefix, link, _log = summary_of(result.stderr).groups()
    assert link == f"https://app.tideways.io/o/acme/shop/traces?cid={run_id}"
    refs = {r["headers"]["x-tideways-ref"] for r in target.records() if r["profiler"] is not None}
    assert refs == {run_id}
    records = read_log(log)
    assert len(records) == int(traced)
    check_log_is_what_the_target_received(records, target)
    assert {(r["ref"], r["link"]) for r in records} == {(run_id, link)}
    run = json.loads(run_file.read_text())
    assert run["run_id"] == run_id and run["host"] == target.url
    assert run["tideways"] == {
        "project": PROJECT,
        "environment": "production",
        "ref_mode": "run",
        "traces_link": link,
        "trace_log": str(log),
        "trace_log_not_written": 0,
        "coverage": 0,
        "budget_per_minute": None,
        "budget_capped": 0,
        "redirect_hops_traced": False,
        "lost_workers": [],
        "none_traced": None,
    }
    assert run["requests"] == int(sent) and run["traced"] == int(traced) and run["traced_exact"] is True
    per_endpoint = {f"{e['method']} {e['name']}": e["traced"] for e in run["endpoints"]}
    logged = Counter(f"{r['method']} {r['name']}" for r in records)
    assert per_endpoint == {key: logged.get(key, 0) for key in per_endpoint}, "each endpoint's traced = its log records"
    for endpoint in run["endpoints"]:
        slowest = endpoint["slowest_trace"]
        if endpoint["traced"]:
            assert slowest["ref"] == run_id and slowest["link"] == link
            times = [
                r["response_time_ms"]
                for r in records
                if (r["method"], r["name"]) == (endpoint["method"], endpoint["name"])
            ]
            assert slowest["response_time_ms"] >= max(times) - 1, "the tracer's own time is at least Locust's"
        else:
            assert slowest is None
    assert run["start"] <= run["end"] and run["minutes"]
    assert sum(minute["requests"] for minute in run["minutes"]) == run["total"]["requests"] == int(sent)
    assert sum(e["requests"] for e in run["endpoints"]) == int(sent)
    assert f"[Open the traces of this run in Tideways]({link})" in job_summary.read_text()


def test_without_a_project_the_summary_says_how_to_get_links(start_target):
    target, other = start_target(), start_target()
    # Empty on the command line: locust.conf may name one.
    result = run_scenario("HttpScenario", target, other, "--tideways-trace-rate", "10", "--tideways-project", "")
    assert result.returncode == 0, result.stderr
    *_, link, _log = summary_of(result.stderr).groups()
    assert (
        link == "no link: set --tideways-project ORGANIZATION/PROJECT (LOCUST_TIDEWAYS_PROJECT) for links to the traces"
    )


def test_a_given_run_id_starts_every_reference(start_target, tmp_path):
    target, other = start_target(), start_target()
    result = run_scenario(
        "FastHttpScenario",
        target,
        other,
        "--tideways-trace-rate",
        "100",
        "--tideways-run-id",
        "ci-4711",
        "--tideways-ref-mode",
        "request",
    )
    assert result.returncode == 0, result.stderr
    refs = [r["headers"]["x-tideways-ref"] for r in target.records()]
    assert refs and all(re.fullmatch(r"ci-4711-[0-9a-f]{8}-\d+", ref) for ref in refs)
    sent, traced, *_ = summary_of(result.stderr).groups()
    assert int(traced) == len(refs), "without a trace log the summary still counts every traced request"
    assert int(sent) == len(target.records()) + len(other.records())


@pytest.mark.locust_hooks
def test_distributed_run_logs_on_the_master_what_every_worker_traced(start_target, tmp_path):
    target, other = start_target(), start_target()
    log = tmp_path / "traces.jsonl"
    result = run_master_and_workers(
        SCENARIO,
        [
            "--host",
            target.url,
            "--tideways-trace-rate",
            "30",
            "--tideways-trace-log",
            str(log),
            "--tideways-ref-mode",
            "request",
            *SHORT,
            "HttpScenario",
        ],  # fmt: skip
        locust_env(LOCUST_TIDEWAYS_APIKEY=API_KEY, OTHER_ORIGIN=other.url),
        [],
        locust_env(OTHER_ORIGIN=other.url),
        until=all_of(scenario_done(other, times=3), traced_by_processes(target, WORKERS)),
    )
    assert result.returncode == 0, result.stderr
    records = read_log(log)
    check_log_against_target(records, target)
    assert int(summary_of(result.stderr).group(2)) == len(records)
    assert len({record["worker"] for record in records}) == 2, "each record names its worker"


@pytest.mark.locust_hooks
def test_sigterm_midway_keeps_every_record_reported(start_target, tmp_path):
    target, other = start_target(), start_target()
    log = tmp_path / "traces.jsonl"
    process = subprocess.Popen(
        locust_command("-f", str(SCENARIO), "--headless", "--only-summary", "--host", target.url,
                       "--tideways-trace-rate", "50", "--tideways-trace-log", str(log), "-u", "3", "-r", "3",
                       "-t", "60s", "HttpScenario"),
        env=locust_env(LOCUST_TIDEWAYS_APIKEY=API_KEY, OTHER_ORIGIN=other.url), cwd=RUN_DIR,
        stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
    )  # fmt: skip
    try:
        wait_until(lambda: log.exists() and len(whole_lines(log)) >= 50, timeout=30)
        before = whole_lines(log)
        process.send_signal(signal.SIGTERM)
        process.wait(timeout=30)
    finally:
        if process.poll() is None:
            process.kill()
    records = read_log(log)  # every line is whole JSON
    assert [json.dumps(r, ensure_ascii=False) for r in records[: len(before)]] == before
    # Requests still out when the signal came are in the log too, marked as unanswered.
    check_log_is_what_the_target_received(records, target)


def held(target, users: int):
    """A condition: every one of ``users`` users has a request held by ``target``."""
    return arrived(target, users, lambda record: record["path"] == "/held?hold=1", "requests held")


def check_cut_off(target, log: Path, run_file: Path, result, users: int) -> list[dict]:
    """Each user got ``/answered`` answered and was stopped in ``/held``: the log, the summary,
    the run file and what the application received agree exactly."""
    assert result.returncode == 0, result.stderr
    records = read_log(log)
    unanswered = [r for r in records if not r["answered"]]
    assert len(unanswered) == users, "one request a user was out when the run stopped"
    assert all(r["status"] is None and r["path"] == "/held?hold=1" and r["name"] == "/held" for r in unanswered)
    answered = [r for r in records if r["answered"]]
    assert len(answered) == users and all((r["path"], r["status"]) == ("/answered", 200) for r in answered)
    check_log_is_what_the_target_received(records, target)
    _sent, traced, *_ = summary_of(result.stderr).groups()
    assert int(traced) == len(records) == json.loads(run_file.read_text())["traced"]
    return records


@pytest.mark.locust_hooks
@pytest.mark.parametrize("user_class", ["HttpHeld", "FastHttpHeld"])
def test_requests_out_when_the_run_time_ends_get_unanswered_records(start_target, tmp_path, user_class):
    target = start_target()
    log, run_file = tmp_path / "traces.jsonl", tmp_path / "run.json"
    result = run_locust(
        "-f", str(HELD), "--host", target.url, "--tideways-trace-rate", "100", "-u", "4", "-r", "100",
        "--tideways-trace-log", str(log), user_class,
        env=locust_env(LOCUST_TIDEWAYS_APIKEY=API_KEY, LOCUST_TIDEWAYS_RUN_FILE=str(run_file)),
        until=held(target, 4),
    )  # fmt: skip
    check_cut_off(target, log, run_file, result, users=4)


def test_requests_out_on_workers_when_the_run_ends_reach_the_masters_log(start_target, tmp_path):
    target = start_target()
    log, run_file = tmp_path / "traces.jsonl", tmp_path / "run.json"
    result = run_master_and_workers(
        HELD,
        ["--host", target.url, "--tideways-trace-rate", "100", "--tideways-trace-log", str(log),
         "-u", "4", "-r", "100", "HttpHeld"],
        locust_env(LOCUST_TIDEWAYS_APIKEY=API_KEY, LOCUST_TIDEWAYS_RUN_FILE=str(run_file)),
        [],
        locust_env(),
        until=held(target, 4),
    )  # fmt: skip
    records = check_cut_off(target, log, run_file, result, users=4)
    assert len({r["worker"] for r in records}) == 2


def test_a_full_trace_log_stops_growing_and_says_what_it_did_not_take(start_target, tmp_path):
    target, other = start_target(), start_target()
    log, run_file = tmp_path / "traces.jsonl", tmp_path / "run.json"
    limit_mb = 0.002  # 2,097 bytes: a handful of records
    result = run_scenario(
        "HttpScenario", target, other, "--tideways-trace-rate", "100", "--tideways-trace-log-max-mb", str(limit_mb),
        LOCUST_TIDEWAYS_TRACE_LOG=str(log), LOCUST_TIDEWAYS_RUN_FILE=str(run_file),
    )  # fmt: skip
    assert result.returncode == 0, result.stderr[-3000:]
    records = read_log(log)
    assert 0 < log.stat().st_size <= limit_mb * 1024 * 1024
    run = json.loads(run_file.read_text())
    not_written = run["tideways"]["trace_log_not_written"]
    assert not_written > 0 and len(records) + not_written == run["traced"], "every traced request counted"
    assert run["traced"] == sum(1 for r in target.records() + other.records() if r["profiler"] is not None)
    assert result.stderr.count("is full (--tideways-trace-log-max-mb 0.002)") == 1
    assert f"trace log: {log} (full: {not_written} traced requests not logged)" in result.stderr


@pytest.mark.parametrize(
    ("flag", "value"),
    [
        ("--tideways-trace-log-max-mb", "-1"),
        ("--tideways-trace-ttl", "0"),
        ("--tideways-trace-ttl", "soon"),
        ("--tideways-trace-seed", "1.5"),
        ("--tideways-run-id", "no spaces"),
        ("--tideways-trace-log", "/no/such/folder/traces.jsonl"),
    ],
)
def test_bad_new_options_stop_locust_before_any_request(flag, value, start_target):
    target = start_target()
    env = locust_env(LOCUST_TIDEWAYS_APIKEY=API_KEY)
    args = ["-f", str(SCENARIO), "--host", target.url, flag, value, *SHORT, "-t", "5s", "HttpScenario"]
    result = run_locust(*args, env=env)
    assert result.returncode != 0
    lines = [line for line in result.stderr.splitlines() if flag in line]
    assert len(lines) == 1 and repr(value) in lines[0], result.stderr
    assert target.records() == []


def test_a_seed_traces_the_same_requests_again(start_target):
    patterns = []
    for _ in range(2):
        target, other = start_target(), start_target()
        env = locust_env(LOCUST_TIDEWAYS_APIKEY=API_KEY, OTHER_ORIGIN=other.url)
        result = run_locust(
            "-f",
            str(SCENARIO),
            "--host",
            target.url,
            "--tideways-trace-rate",
            "30",
            "--tideways-trace-seed",
            "42",
            "-u",
            "1",
            "-r",
            "1",
            "HttpScenario",
            env=env,
            until=arrived(target, 150),
        )
        assert result.returncode == 0, result.stderr
        patterns.append([(r["path"], r["profiler"] is not None) for r in target.records()][:150])
    assert len(patterns[0]) == len(patterns[1]) == 150
    assert patterns[0] == patterns[1]
    assert any(traced for _, traced in patterns[0]) and not all(traced for _, traced in patterns[0])


@pytest.mark.locust_hooks
def test_web_ui_shows_the_tideways_figures_live(start_target):
    target, other = start_target(), start_target()
    env = locust_env(LOCUST_TIDEWAYS_APIKEY=API_KEY, OTHER_ORIGIN=other.url)
    args = ("--autostart", "-u", "2", "-r", "2", "--tideways-trace-rate", "100", "HttpScenario")
    with web_ui(SCENARIO, *args, env=env, host=target.url) as fetch:

        def traced_figures():
            stats = fetch("/stats/requests")
            if not stats:
                return None
            tables = {table["key"]: table["data"] for table in json.loads(stats).get("extended_stats", [])}
            rows = tables.get("tideways") or [{}]
            return rows[0] if rows[0].get("traced", 0) > 0 else None

        figures = wait_until(traced_figures, timeout=30)
        page = fetch("/")
    assert figures["rate_asked"] == 100 and figures["requests"] >= figures["traced"] > 0
    assert '"extended_tabs"' in page and "Tideways" in page
    assert API_KEY not in page


def test_credentials_in_the_host_never_reach_the_run_file_or_the_output(start_target, tmp_path):
    target, other = start_target(), start_target()
    run_file = tmp_path / "run.json"
    host = target.url.replace("http://", "http://load-user:host-secret-5c1@")
    result = run_locust(
        "-f", str(SCENARIO), "--host", host, *SHORT, "--tideways-trace-rate", "100", "HttpScenario",
        env=locust_env(LOCUST_TIDEWAYS_APIKEY=API_KEY, OTHER_ORIGIN=other.url, LOCUST_TIDEWAYS_RUN_FILE=str(run_file)),
        until=scenario_done(other, times=1),
    )  # fmt: skip
    assert result.returncode == 0, result.stderr[-3000:]
    assert json.loads(run_file.read_text())["host"] == target.url
    assert "host-secret-5c1" not in run_file.read_text() + result.stdout + result.stderr
    assert all(r["verdict"] == "accepted" for r in target.records()), "traced as with any host"
