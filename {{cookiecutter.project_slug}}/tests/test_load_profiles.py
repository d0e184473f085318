"""Real headless runs of each load profile, short stages, against the checking target.

A profile's run ends on its own when its stages are over (or a breakpoint stage
broke); each test reads what the run file says of every stage. The users a stage
held are those the master saw in its last look before the stage ended (it looks
every quarter second, the shape moves on once a second), so a stage of a few
seconds has a second or more to spare.
"""

from __future__ import annotations

import json
import re
import subprocess
import sys

import pytest

from tests.conftest import (
    API_KEY,
    LOCUSTFILES,
    ROOT,
    RUN_TIMEOUT,
    WORKERS,
    free_port,
    http_get,
    locust_command,
    locust_env,
    run_locust,
    run_master_and_workers,
    stop_server,
    wait_until,
)
from tideways_locust.report.stages import BROKE_TRACES

PROFILES = LOCUSTFILES / "profiles.py"


def run_profile(target, tmp_path, *args: str, user_class: str = "ProfileUser", **env):
    run_file = tmp_path / "run.json"
    result = run_locust(
        "-f", str(PROFILES), "--host", target.url, *args, user_class,
        env=locust_env(LOCUST_TIDEWAYS_APIKEY=API_KEY, LOCUST_TIDEWAYS_RUN_FILE=str(run_file), **env),
    )  # fmt: skip
    return result, (json.loads(run_file.read_text()) if run_file.exists() else None)


def complete(load: dict) -> list[dict]:
    return [stage for stage in load["stages"] if stage["complete"]]


def test_steps_hold_each_level_for_its_time(start_target, tmp_path):
    target = start_target()
    result, run = run_profile(
        target, tmp_path, "--load-profile", "steps", "--load-start", "1", "--load-step", "2", "--load-max", "5",
        "--load-step-time", "4s",
    )  # fmt: skip
    assert result.returncode == 0, result.stderr[-3000:]
    load = run["load"]
    assert load["profile"] == "steps" and load["unit"] == "users"
    assert [s["label"] for s in load["stages"]] == ["1", "3", "5"]
    assert [s["users"] for s in complete(load)] == [1, 3, 5][: len(complete(load))]
    assert len(complete(load)) >= 2, load["stages"]
    assert all(s["requests"] > 0 and s["p95_ms"] is not None for s in load["stages"])
    assert sum(s["requests"] for s in load["stages"]) <= run["requests"]
    assert run["settings"]["load_profile"] == "steps, 3 stages, 12s: 1 to 5 users"
    assert run["settings"]["run_time_s"] == 12, "the stages set the length"
    assert "Load profile steps, 3 stages, 12s: 1 to 5 users" in result.stderr
    assert "not used: --run-time" not in result.stderr, "no run time was given"


def test_a_ramp_reaches_its_levels_and_ends_at_zero(start_target, tmp_path):
    target = start_target()
    result, run = run_profile(target, tmp_path, "--load-profile", "ramp", "--load-stages", "2s:2, 3s:4, 3s:4, 2s:0")
    assert result.returncode == 0, result.stderr[-3000:]
    stages = run["load"]["stages"]
    assert [(s["level_start"], s["level_end"]) for s in stages] == [(0, 2), (2, 4), (4, 4), (4, 0)]
    assert stages[2]["users_max"] == 4 and stages[2]["users"] == 4, "the hold holds 4"
    assert stages[1]["users_max"] >= 3, "climbing to 4"


def test_a_spike_rises_from_its_base_and_falls_back(start_target, tmp_path):
    target = start_target()
    result, run = run_profile(
        target, tmp_path, "--load-profile", "spike", "--load-base", "1", "--load-peak", "4",
        "--load-spike-at", "3s", "--load-spike-for", "4s", "-t", "10s",
    )  # fmt: skip
    assert result.returncode == 0, result.stderr[-3000:]
    stages = run["load"]["stages"]
    assert [s["label"] for s in stages] == ["base 1", "peak 4", "after 1"]
    assert stages[0]["users"] == 1 and stages[1]["users"] == 4
    assert stages[1]["rps"] > 2 * stages[0]["rps"], "four users send more than one"


def test_a_soak_holds_its_users_in_windows(start_target, tmp_path):
    target = start_target()
    args = ["--load-profile", "soak", "-u", "2", "-t", "6s", "--load-step-time", "2s"]
    result, run = run_profile(target, tmp_path, *args)
    assert result.returncode == 0, result.stderr[-3000:]
    stages = run["load"]["stages"]
    assert [s["label"] for s in stages] == ["window 1: 2", "window 2: 2", "window 3: 2"]
    assert all(s["users"] == 2 for s in stages[1:2]) and all(s["requests"] > 0 for s in stages)


@pytest.mark.parametrize("user_class", ["ProfileUser", "FastProfileUser"])
def test_an_arrival_rate_is_reached_within_5_percent_when_the_users_can(user_class, start_target, tmp_path):
    target = start_target()
    result, run = run_profile(
        target, tmp_path, "--load-profile", "ramp", "--load-stages", "2s:30/s, 6s:30/s", "-u", "10",
        user_class=user_class,
    )  # fmt: skip
    assert result.returncode == 0, result.stderr[-3000:]
    load = run["load"]
    hold = load["stages"][1]
    assert hold["asked_rps"] == pytest.approx(30, rel=0.05)
    assert hold["rps"] == pytest.approx(hold["asked_rps"], rel=0.05), hold
    assert hold["not_sent"] <= 0.05 * hold["asked"], hold
    assert load["pool"] == 10 and hold["users"] == 10
    arrived = [r for r in target.records() if r["path"] == "/profile"]
    assert run["requests"] <= len(arrived) <= run["requests"] + 10, "at most the pool's last requests unreported"
    assert "could not keep up" not in result.stderr, "nothing to advise"


@pytest.mark.locust_hooks
def test_locust_runs_the_shape_and_the_pacer(start_target, tmp_path):
    """What a profile takes from Locust, short: the shape from the locustfile, the users' wait time."""
    target = start_target()
    args = ["--load-profile", "steps", "--load-start", "10/s", "--load-step", "10/s", "--load-max", "20/s"]
    result, run = run_profile(target, tmp_path, *args, "--load-step-time", "3s", "-u", "4")
    assert result.returncode == 0, result.stderr[-3000:]
    stages = run["load"]["stages"]
    assert [s["label"] for s in stages] == ["10/s", "20/s"] and stages[0]["users"] == 4
    assert stages[0]["rps"] == pytest.approx(10, rel=0.2) and stages[1]["rps"] == pytest.approx(20, rel=0.2)
    assert run["load"]["capacity"] is not None, "steps have a capacity too"


def test_a_constant_rate_is_paced_without_a_shape(start_target, tmp_path):
    target = start_target()
    result, run = run_profile(target, tmp_path, "--load-rate", "25/s", "-u", "5", "-r", "5", "-t", "6s")
    assert result.returncode == 0, result.stderr[-3000:]
    load = run["load"]
    assert load["profile"] == "constant" and len(load["stages"]) == 1
    stage = load["stages"][0]
    assert stage["rps"] == pytest.approx(25, rel=0.05), stage
    assert run["settings"]["load_profile"] == "constant, 1 stage, 6s: 25/s, paced over 5 users"


def test_a_rate_the_users_cannot_keep_up_with_is_reported_as_not_sent(start_target, tmp_path):
    target = start_target(API_KEY, "--delay", "/profile=300")  # 3 users, 300 ms each: about 10 a second
    result, run = run_profile(target, tmp_path, "--load-rate", "30/s", "-u", "3", "-r", "3", "-t", "5s")
    assert result.returncode == 0, result.stderr[-3000:]
    load = run["load"]
    assert load["asked"] == pytest.approx(30 * load["stages"][0]["seconds"], rel=0.01)
    assert load["not_sent"] >= 0.5 * load["asked"], load
    assert load["sent"] + load["not_sent"] == pytest.approx(load["asked"], abs=2)
    line = next(line for line in result.stderr.splitlines() if "asked requests sent" in line)
    assert f"{load['not_sent']} not sent" in line and "the 3 users could not keep up; raise --users" in line


def test_breakpoint_finds_a_known_capacity_within_15_percent_and_stops(start_target, start_tideways_api, tmp_path):
    # Four workers, 50 ms of work each request: 80 requests a second, by construction.
    target = start_target(API_KEY, "--capacity", "4:50")
    api = start_tideways_api("acme/shop", target_log=target.log)
    result, run = run_profile(
        target, tmp_path, "--load-profile", "breakpoint", "--load-start", "20/s", "--load-step", "20/s",
        "--load-max", "200/s", "--load-step-time", "4s", "-u", "20", "--tideways-trace-rate", "10",
        "--tideways-project", "acme/shop",
    )  # fmt: skip
    assert result.returncode == 0, result.stderr[-3000:]
    load = run["load"]
    capacity = load["capacity"]
    assert capacity["rps"] == pytest.approx(80, rel=0.15), load["stages"]
    broke = load["stages"][capacity["first_broke"] - 1]
    assert broke["verdict"] == "broke" and broke == load["stages"][-1], "the run stopped at the first that broke"
    assert all(s["verdict"] == "held" for s in load["stages"][: capacity["first_broke"] - 1])
    assert capacity["last_held"] == capacity["first_broke"] - 1
    assert run["seconds"] < 4 * capacity["first_broke"] + 5, "soon after it broke"
    assert "capacity about" in result.stderr and "broke: reached" in result.stderr

    # The report of that run: the stages beside the stand-in's minutes, the broken stage's traces.
    report = subprocess.run(
        [sys.executable, "-m", "tideways_locust.report", "--run-file", str(tmp_path / "run.json"),
         "--out", str(tmp_path / "report"), "--wait", "0"],
        env=locust_env(TIDEWAYS_API_TOKEN=api.token, TIDEWAYS_API_URL=api.url), cwd=ROOT,
        capture_output=True, text=True, timeout=120,
    )  # fmt: skip
    assert report.returncode == 0, report.stderr
    shown = json.loads((tmp_path / "report" / "tideways-report.json").read_text())["load"]
    assert [s["index"] for s in shown["stages"]] == [s["index"] for s in load["stages"]]
    assert shown["capacity"]["rps"] == capacity["rps"] and shown["capacity"]["first_broke"] == broke["index"]
    assert all(s["server"] is not None for s in shown["stages"]), "Tideways' minutes for every stage"
    window = shown["capacity"]["traces_window"]
    assert window and shown["capacity"]["traces"], "the slowest traces of the stage that broke"
    # One call of its own (the run's slowest traces may ask for the same minutes when the run fits in one).
    [asked] = [
        c["query"]
        for c in api.calls()
        if c["path"].endswith("/traces") and c["query"].get("limit") == str(BROKE_TRACES)
    ]
    assert (asked["min_date"], asked["max_date"]) == (window["from"], window["to"])
    assert asked["sort_by"] == "response_time"
    page = (tmp_path / "report" / "tideways-report.html").read_text()
    assert 'id="capacity-rps"' in page and 'id="capacity-p95"' in page


def test_breakpoint_in_users_stops_where_req_s_stop_growing(start_target, tmp_path):
    target = start_target(API_KEY, "--capacity", "2:50")  # 40 a second; each user sends about 6 alone
    result, run = run_profile(
        target, tmp_path, "--load-profile", "breakpoint", "--load-start", "2", "--load-step", "2",
        "--load-max", "30", "--load-step-time", "4s",
    )  # fmt: skip
    assert result.returncode == 0, result.stderr[-3000:]
    capacity = run["load"]["capacity"]
    assert capacity["rps"] == pytest.approx(40, rel=0.15), run["load"]["stages"]
    assert any("while the users grew" in why for why in capacity["why"]), capacity


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["--load-profile", "ramp"], "'' is not allowed: the ramp profile needs --load-stages"),
        (["--load-profile", "ramp", "--load-stages", "2s:2, 2s:4/s"], "stage 1 2, stage 2 4/s mix users"),
        (["--load-profile", "wave"], "'wave' is not allowed: give one of constant, ramp"),
        (["--load-start", "lots"], "'lots' is not allowed: give a level as users"),
        (
            ["--load-profile", "spike", "--load-base", "1", "--load-peak", "3", "--load-spike-at", "5s",
             "--load-spike-for", "5s", "-t", "8s"],
            "the spike must end before the run does",
        ),
    ],
)  # fmt: skip
def test_a_profile_that_cannot_run_stops_locust_before_any_request(args, message, start_target, tmp_path):
    target = start_target()
    result, run = run_profile(target, tmp_path, *args)
    assert result.returncode == 2, result.stderr[-3000:]
    assert message in result.stderr
    assert "Traceback" not in result.stderr
    assert run is None and not target.records(), "nothing sent, nothing written"


def test_a_profile_needs_the_locustfile_to_import_the_shape(start_target, tmp_path):
    target = start_target()
    result = run_locust(
        "-f", str(LOCUSTFILES / "scenario.py"), "--host", target.url, "--load-profile", "soak", "-t", "2s",
        "HttpScenario", env=locust_env(LOCUST_TIDEWAYS_APIKEY=API_KEY),
    )  # fmt: skip
    assert result.returncode == 2
    assert "--load-profile soak needs the locustfile to import the shape: from tideways_locust import LoadProfile" in (
        result.stderr
    )
    assert not target.records()


def test_a_master_and_two_workers_run_a_rate_profile(start_target, tmp_path):
    target = start_target()
    run_file = tmp_path / "run.json"
    args = ["--host", target.url, "--load-profile", "ramp", "--load-stages", "2s:20/s, 6s:20/s", "-u", "8"]
    result = run_master_and_workers(
        PROFILES, [*args, "ProfileUser"],
        locust_env(LOCUST_TIDEWAYS_APIKEY=API_KEY, LOCUST_TIDEWAYS_RUN_FILE=str(run_file)),
        ["ProfileUser"], locust_env(),
    )  # fmt: skip
    assert result.returncode == 0, result.stderr[-3000:]
    load = json.loads(run_file.read_text())["load"]
    # Workers report every few seconds, so the stages' split of the requests is a report late;
    # the run's requests against what it asked are not: the last stage gets the last reports.
    assert load["sent"] == pytest.approx(load["asked"], rel=0.1), load
    assert load["sent"] == json.loads(run_file.read_text())["requests"]
    assert len([r for r in target.records() if r["path"] == "/profile"]) == pytest.approx(load["asked"], rel=0.1)


def test_the_web_ui_of_a_master_with_two_workers_shows_the_profile(start_target):
    target = start_target()
    web, master_port = free_port(), free_port()
    master = subprocess.Popen(
        locust_command(
            "-f", str(PROFILES), "--host", target.url, "--master", "--master-bind-host", "127.0.0.1",
            "--master-bind-port", str(master_port), "--web-host", "127.0.0.1", "--web-port", str(web),
            "--expect-workers", str(WORKERS), "--load-profile", "steps", "--load-start", "1", "--load-step", "1",
            "--load-max", "3", "--load-step-time", "20s", "--autostart", "ProfileUser",
        ),
        env=locust_env(LOCUST_TIDEWAYS_APIKEY=API_KEY), stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
    )  # fmt: skip
    workers = [
        subprocess.Popen(
            locust_command("-f", str(PROFILES), "--worker", "--master-port", str(master_port), "ProfileUser"),
            env=locust_env(),
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )  # fmt: skip
        for _ in range(WORKERS)
    ]
    try:

        def profile_cell():
            """the Tideways tab names the stage the master runs"""
            stats = http_get(f"http://127.0.0.1:{web}/stats/requests")
            tables = {t["key"]: t["data"] for t in json.loads(stats).get("extended_stats", [])} if stats else {}
            row = (tables.get("tideways") or [{}])[0]
            return row if "stage 1 of 3" in str(row.get("load_profile")) and row.get("requests", 0) > 0 else None

        row = wait_until(profile_cell, timeout=RUN_TIMEOUT / 2)
        page = http_get(f"http://127.0.0.1:{web}/")
        stats = json.loads(http_get(f"http://127.0.0.1:{web}/stats/requests"))
    finally:
        for process in [master, *workers]:
            stop_server(process)
    assert row["load_profile"] == "steps (stage 1 of 3: 1)" and row["asked_rate"] == "(users, not a rate)"
    assert stats["worker_count"] == WORKERS and stats["user_count"] == 1
    assert re.search(r'"hide_common_options": ?true', page), "a shape run: Locust's page asks for no users"
