"""``python -m tideways_locust.report`` after a real run, against the Tideways API stand-in."""

from __future__ import annotations

import json
import math
import re
import subprocess
import sys
from collections import defaultdict
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from tests.conftest import API_KEY, ROOT, SCENARIO, all_of, arrived, locust_env, run_locust, scenario_done

PROJECT = "acme/shop"
MINUTE = re.compile(r"^\d{4}-\d{2}-\d{2} \d{2}:\d{2}$")
REPORT_FILES = {"tideways-report.md", "tideways-report.json", "tideways-report.html"}


def run_report(cwd: Path, *args: str, token: str = "", api_url: str = "", **env: str) -> subprocess.CompletedProcess:
    """The report command in ``cwd``, its token and API URL from the environment only."""
    variables = locust_env(**env)
    if token:
        variables["TIDEWAYS_API_TOKEN"] = token
    if api_url:
        variables["TIDEWAYS_API_URL"] = api_url
    return subprocess.run(
        [sys.executable, "-m", "tideways_locust.report", *args],
        cwd=cwd,
        env=variables,
        capture_output=True,
        text=True,
        timeout=120,
    )


def written(folder: Path) -> dict:
    names = {p.name for p in folder.iterdir()} - {"tideways-run.json"}
    assert names == REPORT_FILES, "the three files, nothing half-written beside them"
    return json.loads((folder / "tideways-report.json").read_text())


@pytest.mark.locust_hooks
def test_a_real_run_then_its_report_puts_locust_beside_tideways(start_target, start_tideways_api, tmp_path):
    target, other = start_target(), start_target()
    api = start_tideways_api(PROJECT, target_log=target.log)
    run_file, stats = tmp_path / "reports" / "tideways-run.json", tmp_path / "locust"
    result = run_locust(
        "-f", str(SCENARIO), "--host", target.url, "-u", "3", "-r", "3", "--stop-timeout", "10",
        "--tideways-trace-rate", "20", "--tideways-project", PROJECT, "--tideways-environment", "production",
        "--json-file", str(stats), "HttpScenario",
        env=locust_env(LOCUST_TIDEWAYS_APIKEY=API_KEY, OTHER_ORIGIN=other.url, LOCUST_TIDEWAYS_RUN_FILE=str(run_file)),
        until=all_of(scenario_done(other, times=3), arrived(target, 2, lambda r: r["verdict"] == "accepted")),
    )  # fmt: skip
    assert result.returncode == 0, result.stderr
    job_summary = tmp_path / "summary.md"
    report = run_report(tmp_path, "--wait", "0", token=api.token, api_url=api.url, GITHUB_STEP_SUMMARY=str(job_summary))
    assert report.returncode == 0, report.stderr
    data = written(tmp_path / "reports")
    run = json.loads(run_file.read_text())

    # The run, found from what it wrote, and the one link to its traces.
    assert data["complete"] is True and data["problems"] == []
    assert data["run"]["id"] == run["run_id"] and data["run"]["host"] == target.url
    assert data["run"]["project"] == PROJECT and data["run"]["environment"] == "production"
    link = f"https://app.tideways.io/o/acme/shop/traces?cid={run['run_id']}"
    assert data["links"]["traces"] == link
    assert f"Traces of run {run['run_id']}: {link}" in report.stdout

    # The client side is Locust's own statistics.
    locust = {(e["method"], e["name"]): e for e in json.loads((tmp_path / "locust.json").read_text())}
    client = {(e["method"], e["name"]): e for e in data["client"]["endpoints"]}
    assert client.keys() == locust.keys()
    for key, entry in client.items():
        assert (entry["requests"], entry["failures"]) == (locust[key]["num_requests"], locust[key]["num_failures"])
    assert data["client"]["total"]["requests"] == sum(e["num_requests"] for e in locust.values())

    # The server side: what reached the application (the other origin's requests did not).
    received = len(target.records())
    assert data["server"]["total"]["requests"] == received
    assert sum(t["requests"] for t in data["server"]["transactions"]) == received
    assert data["server"]["reached_php_percent"] == pytest.approx(
        100 * received / data["client"]["total"]["requests"], abs=0.01
    )
    minutes = data["minutes"]
    assert [m["minute"] for m in minutes] == sorted(m["minute"] for m in minutes) and minutes
    assert sum(m["locust_requests"] for m in minutes) == data["client"]["total"]["requests"]
    assert sum(m["tideways_requests"] or 0 for m in minutes) == received

    # The slowest callgraph traces, with links, slowest first.
    traces = data["traces"]
    accepted = [r for r in target.records() if r["verdict"] == "accepted"]
    assert 0 < len(traces) <= min(10, len(accepted))
    times = [t["response_time_ms"] for t in traces]
    assert times == sorted(times, reverse=True)
    assert all(t["url"].startswith("https://app.tideways.io/o/acme/shop/trace/") for t in traces)

    # What was asked: the run's window in UTC minutes, both bounds, the environment, callgraphs only.
    calls = api.calls()
    assert calls and all(call["authorized"] and call["status"] == 200 for call in calls)
    window = data["run"]["window"]
    [performance] = [c["query"] for c in calls if c["path"].endswith("/performance")]
    assert performance["ts"] == window["to"] and int(performance["m"]) == window["minutes"]
    assert performance["env"] == "production" and MINUTE.match(performance["ts"])
    [asked] = [c["query"] for c in calls if c["path"].endswith("/traces")]
    assert (asked["min_date"], asked["max_date"]) == (window["from"], window["to"])
    assert asked["has_callgraph"] == "true" and asked["sort_by"] == "response_time" and asked["env"] == "production"
    start = datetime.fromisoformat(run["start"]).astimezone(UTC)
    assert window["from"] == start.strftime("%Y-%m-%d %H:%M")

    # The Markdown went into the job summary; the token went nowhere.
    assert f"]({link})" in job_summary.read_text()
    outputs = [report.stdout, report.stderr, job_summary.read_text()]
    outputs += [(tmp_path / "reports" / name).read_text() for name in REPORT_FILES]
    assert not [text for text in outputs if api.token in text]


def a_run_file(
    folder: Path, project: str | None = PROJECT, minutes_ago: int = 3, host: str = "https://staging.example.com"
) -> Path:
    """A run file as the load test writes it, for runs that need no load."""
    end = datetime.now(UTC).replace(microsecond=0) - timedelta(minutes=minutes_ago)
    start = end - timedelta(seconds=90)
    entry = {"method": "GET", "name": "/", "requests": 100, "failures": 1, "median_ms": 10.0, "p95_ms": 40.0,
             "average_ms": 12.0, "max_ms": 80.0}  # fmt: skip
    run = {
        "format": 1,
        "run_id": "20261129T020000-abcd",
        "start": start.isoformat(),
        "end": end.isoformat(),
        "host": host,
        "users": 10,
        "locust": "2.47.0",
        "tideways": {"project": project, "environment": "production", "ref_mode": "run", "traces_link": None},
        "trace_rate": {"asked": 1.0, "reached": 1.0},
        "requests": 100,
        "traced": 1,
        "endpoints": [entry],
        "total": {**entry, "method": "", "name": "Aggregated"},
        "minutes": [{"minute": start.strftime("%Y-%m-%d %H:%M"), "requests": 100, "failures": 1, "p95_ms": 40}],
    }
    path = folder / "reports" / "tideways-run.json"
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(run))
    return path


RESET = 4102444800  # 2100-01-01 00:00 UTC


@pytest.mark.parametrize(
    ("script", "project", "token", "expected", "calls"),
    [
        pytest.param(None, PROJECT, "wrong-token", "401, the token was rejected: set TIDEWAYS_API_TOKEN", 1, id="401"),
        pytest.param(
            {"performance": [{"status": 403}]},
            PROJECT,
            None,
            "403 on performance: the token lacks the scope 'metrics' or access to acme/shop",
            1,
            id="403",
        ),  # fmt: skip
        pytest.param(None, "acme/other", None, "404, no project acme/other at", 1, id="404"),
        pytest.param(
            {
                "performance": [
                    {
                        "status": 429,
                        "headers": {
                            "X-RateLimit-Limit": "250",
                            "X-RateLimit-Remaining": "0",
                            "X-RateLimit-Reset": str(RESET),
                        },
                    }
                ]
            },
            PROJECT,
            None,
            "429, the organization's hourly limit of API calls (250) is used up; it resets at 2100-01-01 00:00 UTC",
            1,
            id="429",
        ),  # fmt: skip
        pytest.param(
            {"performance": [{"status": 503}] * 3},
            PROJECT,
            None,
            "performance failed with 503 (a server error) 3 times: try again later",
            3,
            id="503",
        ),  # fmt: skip
        pytest.param(
            {"performance": [{"status": 200, "raw": "<html>proxy login</html>"}]},
            PROJECT,
            None,
            "the answer of performance is not the documented JSON (not JSON)",
            1,
            id="malformed",
        ),  # fmt: skip
        pytest.param(
            {"performance": [{"delay": 3}] * 3},
            PROJECT,
            None,
            "no answer from performance within 1 s, 3 attempts",
            3,
            id="timeout",
        ),  # fmt: skip
        pytest.param(
            {"traces": [{"status": 500}] * 3},
            PROJECT,
            None,
            "traces failed with 500 (a server error) 3 times",
            4,
            id="traces-5xx-after-performance",
        ),  # fmt: skip
    ],
)
def test_api_failures_say_what_to_fix_exit_non_zero_and_keep_what_was_fetched(
    start_tideways_api, tmp_path, script, project, token, expected, calls
):
    api = start_tideways_api("acme/shop", script=script)
    a_run_file(tmp_path, project=project)
    result = run_report(tmp_path, "--wait", "0", "--timeout", "1", token=token or api.token, api_url=api.url)
    assert result.returncode == 1, result.stdout + result.stderr
    problems = [line for line in result.stderr.splitlines() if line.startswith("tideways report: Tideways API:")]
    assert len(problems) == 1 and expected in problems[0], result.stderr
    assert len(api.calls()) == calls, "429 and 4xx are never retried; 5xx and timeouts a bounded number of times"
    data = written(tmp_path / "reports")
    assert data["complete"] is False and [p for p in data["problems"] if expected in p]
    assert data["client"]["total"]["requests"] == 100, "the client side is written all the same"
    if calls == 4:
        assert data["server"]["total"] is not None, "what was fetched before the failure is kept"
    assert api.token not in result.stdout + result.stderr
    assert "wrong-token" not in result.stdout + result.stderr


def test_it_waits_a_bounded_time_for_tideways_to_ingest(start_target, start_tideways_api, tmp_path):
    target = start_target()
    api = start_tideways_api(PROJECT, target_log=target.log, script={"performance": {"empty_until_call": 3}})
    run_locust(
        "-f", str(SCENARIO), "--host", target.url, "-u", "1", "-r", "1",
        "--tideways-environment", "production", "HttpScenario",
        env=locust_env(LOCUST_TIDEWAYS_RUN_FILE=str(tmp_path / "reports" / "tideways-run.json"),
                       LOCUST_TIDEWAYS_PROJECT=PROJECT, OTHER_ORIGIN=target.url),
        until=scenario_done(target, times=1),
    )  # fmt: skip
    result = run_report(tmp_path, "--wait", "30", "--poll", "1", token=api.token, api_url=api.url)
    assert result.returncode == 0, result.stderr
    assert [c["path"].rsplit("/", 1)[-1] for c in api.calls()] == ["performance"] * 3 + ["traces"]
    assert written(tmp_path / "reports")["complete"] is True


def test_it_gives_up_waiting_and_says_so(start_tideways_api, tmp_path):
    api = start_tideways_api(PROJECT, script={"performance": {"empty_until_call": 100}})
    a_run_file(tmp_path)
    result = run_report(tmp_path, "--wait", "2", "--poll", "1", token=api.token, api_url=api.url)
    assert result.returncode == 0, result.stderr
    performance_calls = [c for c in api.calls() if c["path"].endswith("/performance")]
    # Asked again every second while the 2 s lasted: at most three times, however slow each call.
    assert 1 <= len(performance_calls) <= 3
    assert "had no figures for the run's last minute" in result.stderr
    assert "had no figures" in written(tmp_path / "reports")["problems"][0]


@pytest.mark.parametrize(
    ("project", "token", "expected"),
    [
        (PROJECT, "", "no TIDEWAYS_API_TOKEN in the environment or .env"),
        (None, "some-token", "set --tideways-project ORGANIZATION/PROJECT"),
    ],
)
def test_without_token_or_project_it_writes_the_client_side_and_says_how(tmp_path, project, token, expected):
    a_run_file(tmp_path, project=project)
    result = run_report(tmp_path, "--wait", "0", token=token, api_url="http://127.0.0.1:9/apps/api")
    assert result.returncode == 0, result.stderr
    assert expected in result.stderr
    data = written(tmp_path / "reports")
    assert data["server"] is None and data["client"]["total"]["requests"] == 100
    assert (data["links"]["traces"] is None) == (project is None)


def test_a_host_with_credentials_in_an_older_run_file_is_reported_without_them(start_tideways_api, tmp_path):
    api = start_tideways_api(PROJECT)
    a_run_file(tmp_path, host="https://load-user:host-secret-5c1@staging.example.com/shop")
    result = run_report(tmp_path, "--wait", "0", token=api.token, api_url=api.url)
    assert result.returncode == 0, result.stderr
    assert written(tmp_path / "reports")["run"]["host"] == "https://staging.example.com/shop"
    shown = [(tmp_path / "reports" / name).read_text() for name in REPORT_FILES]
    assert not any("host-secret-5c1" in text for text in [*shown, result.stdout, result.stderr])


def test_a_token_from_dotenv_is_used_and_not_shown(start_tideways_api, tmp_path):
    api = start_tideways_api(PROJECT)
    a_run_file(tmp_path)
    (tmp_path / ".env").write_text(f"TIDEWAYS_API_TOKEN={api.token}\n")
    result = run_report(tmp_path, "--wait", "0", api_url=api.url)
    assert result.returncode == 0, result.stderr
    assert api.calls() and all(call["authorized"] for call in api.calls())
    assert api.token not in result.stdout + result.stderr


@pytest.mark.parametrize(
    ("content", "expected"),
    [
        (None, "no run file: run the load test first"),
        ("{not json", "not JSON (line 1, column 2)"),
        ('{"format": 1, "run_id": "x"}', "'start' is missing"),
        ("[]", "not a run file of tideways_locust"),
    ],
)
def test_a_missing_or_bad_run_file_stops_with_one_line_and_writes_nothing(tmp_path, content, expected):
    if content is not None:
        (tmp_path / "reports").mkdir()
        (tmp_path / "reports" / "tideways-run.json").write_text(content)
    result = run_report(tmp_path, "--out", "out")
    assert result.returncode == 2
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1 and "reports/tideways-run.json" in lines[0] and expected in lines[0], result.stderr
    assert not (tmp_path / "out").exists()


@pytest.mark.parametrize(
    ("flag", "value", "allowed"),
    [
        ("--wait", "-1", "seconds from 0 to 900"),
        ("--traces", "31", "a number from 1 to 30"),
        ("--project", "acme", "ORGANIZATION/PROJECT"),
        ("--environment", "pro duction", "environment name"),
    ],
)
def test_bad_options_are_refused_naming_the_value(tmp_path, flag, value, allowed):
    a_run_file(tmp_path)
    result = run_report(tmp_path, flag, value, "--out", "out")
    assert result.returncode == 2
    assert repr(value) in result.stderr and allowed in result.stderr
    assert not (tmp_path / "out").exists()


def test_the_module_runs_from_the_project_folder():
    assert (ROOT / "tideways_locust" / "report" / "__main__.py").is_file()


# -- load profiles: the stages beside Tideways' minutes, and the capacity ------------------------

LOAD_PROFILE_HEADINGS = ("## Load profile", 'id="load-profile"')


@dataclass
class Planned:
    """One stage of a hand-made profile run: what it asked, what reached the server and how fast it answered."""

    label: str
    seconds: float
    level: tuple[float, float]  # at its start and its end
    sent: float  # requests a second that were sent (and reached the application)
    ms: float  # the server's typical response time in it
    users: int
    verdict: str | None = None
    failures: int = 0


def nearest_rank(values: list[float], share: float) -> float:
    ordered = sorted(values)
    return ordered[math.ceil(share * len(ordered)) - 1]


def load_run(
    folder: Path, profile: str, unit: str, planned: list[Planned], offset: float, **load: object
) -> tuple[dict, list[dict]]:
    """A run file of a profile run whose first stage starts ``offset`` seconds into a minute some minutes
    ago, and the target's log of its requests (the stand-in's Tideways figures come from it); both written
    to ``folder``. ``load`` adds to the run file's ``load`` (settings, pool, description, capacity)."""
    first_minute = datetime.now(UTC).replace(second=0, microsecond=0) - timedelta(minutes=9)
    start = first_minute + timedelta(seconds=offset)
    records, stages, begin = [], [], start
    for index, stage in enumerate(planned, 1):
        count = round(stage.sent * stage.seconds)
        times = [begin.timestamp() + (i + 0.5) / stage.sent for i in range(count)]
        durations = [round(stage.ms * (1 + (i % 10) / 10), 3) for i in range(count)]
        for i, (moment, duration) in enumerate(zip(times, durations, strict=True)):
            accepted = i % 4 == 0  # every fourth request traced
            records.append(
                {
                    "time": moment,
                    "duration_ms": duration,
                    "method": "GET" if i % 3 else "POST",
                    "path": f"/products/{i % 7}" if i % 3 else "/cart",
                    "headers": {"host": "shop.example.com", **({"x-tideways-ref": RUN_ID} if accepted else {})},
                    "verdict": "accepted" if accepted else None,
                    "status": 500 if i < stage.failures else 200,
                }
            )
        asked = (stage.level[0] + stage.level[1]) / 2 * stage.seconds if unit == "rate" else None
        end = begin + timedelta(seconds=stage.seconds)
        why = []
        if stage.verdict == "broke":
            why = [f"reached {stage.sent:.1f}/s of {stage.level[1]:g}/s asked"]
        stages.append(
            {
                "index": index,
                "label": stage.label,
                "start": begin.isoformat(timespec="milliseconds"),
                "end": end.isoformat(timespec="milliseconds"),
                "seconds": stage.seconds,
                "level_start": stage.level[0],
                "level_end": stage.level[1],
                "users": stage.users,
                "users_max": stage.users,
                "asked": asked,
                "asked_rps": asked / stage.seconds if asked is not None else None,
                "requests": count,
                "failures": stage.failures,
                "rps": round(count / stage.seconds, 3),
                "p50_ms": nearest_rank(durations, 0.5) + 1.5,  # Locust's time: the server's and the network's
                "p95_ms": nearest_rank(durations, 0.95) + 1.5,
                "fail_percent": round(100 * stage.failures / count, 3),
                "not_sent": max(0, math.floor(asked - count)) if asked is not None else None,
                "verdict": stage.verdict,
                "why": why,
                "complete": True,
            }
        )
        begin = end
    end = begin + timedelta(seconds=0.4)
    sent = sum(s["requests"] for s in stages)
    asked = sum(s["asked"] for s in stages) if unit == "rate" else None
    not_sent = sum(s["not_sent"] for s in stages) if unit == "rate" else None
    load = {
        "profile": profile,
        "unit": unit,
        "pool": None,
        "stages": stages,
        "asked": asked,
        "sent": sent,
        "not_sent": not_sent,
        "not_sent_percent": round(100 * not_sent / asked, 2) if asked else None,
        "capacity": None,
        **load,
    }
    endpoints = [
        locust_figures(method, name, [r for r in records if r["path"].startswith(prefix)])
        for method, name, prefix in (("GET", "/products/{id}", "/products/"), ("POST", "/cart", "/cart"))
    ]
    by_minute = defaultdict(list)
    for record in records:
        by_minute[datetime.fromtimestamp(record["time"], UTC).strftime("%Y-%m-%d %H:%M")].append(record)
    run = {
        "format": 1,
        "run_id": RUN_ID,
        "start": start.isoformat(timespec="milliseconds"),
        "end": end.isoformat(timespec="milliseconds"),
        "host": "https://shop.example.com",
        "users": max(stage.users for stage in planned),
        "locust": "2.47.0",
        "tideways": {"project": PROJECT, "environment": "production", "ref_mode": "run", "traces_link": None},
        "trace_rate": {"asked": 25.0, "reached": 25.0},
        "requests": sent,
        "traced": sum(r["verdict"] == "accepted" for r in records),
        "endpoints": endpoints,
        "total": locust_figures("", "Aggregated", records),
        "minutes": [{"minute": m, **locust_figures("", "", found)} for m, found in sorted(by_minute.items())],
        "load": load,
    }
    (folder / "reports").mkdir(parents=True, exist_ok=True)
    (folder / "reports" / "tideways-run.json").write_text(json.dumps(run))
    with open(folder / "target.jsonl", "w", encoding="utf-8") as log:
        log.writelines(json.dumps(record) + "\n" for record in records)
    return run, records


def locust_figures(method: str, name: str, records: list[dict]) -> dict:
    """What Locust noted of ``records``: its times are the server's and the network's."""
    times = [r["duration_ms"] + 1.5 for r in records]
    return {
        "method": method,
        "name": name,
        "requests": len(records),
        "failures": sum(r["status"] >= 500 for r in records),
        "median_ms": nearest_rank(times, 0.5),
        "p95_ms": nearest_rank(times, 0.95),
    }


RUN_ID = "20261202T200100-b7e1"
BREAKPOINT = [  # 1m stages from 20.1 s into a minute: each runs longest in the minute it starts in
    Planned("2/s", 60, (2, 2), sent=2, ms=20, users=10, verdict="held"),
    Planned("4/s", 60, (4, 4), sent=4, ms=30, users=10, verdict="held"),
    Planned("6/s", 60, (6, 6), sent=6, ms=45, users=10, verdict="held"),
    Planned("8/s", 60, (8, 8), sent=6.5, ms=400, users=10, verdict="broke", failures=3),
]


def breakpoint_run(folder: Path) -> tuple[dict, list[dict]]:
    """A breakpoint run of 2/s to 8/s over 10 users whose fourth stage broke, as the load test writes it."""
    run, records = load_run(
        folder,
        "breakpoint",
        "rate",
        BREAKPOINT,
        offset=20.123,
        pool=10,
        description="breakpoint, 4 stages, 4m: 2/s to 8/s, paced over 10 users",
        settings={"start": "2/s", "step": "2/s", "max": "8/s", "step_time": "1m"},
    )
    stages = run["load"]["stages"]
    run["load"]["capacity"] = {
        "rps": max(s["rps"] for s in stages),
        "last_held": 3,
        "first_broke": 4,
        "level_held": "6/s",
        "level_broke": "8/s",
        "why": stages[3]["why"],
    }
    (folder / "reports" / "tideways-run.json").write_text(json.dumps(run))
    return run, records


def minute_text(run: dict, n: int) -> str:
    """The ``n``-th minute of the run (0 its first) as Tideways keys it."""
    first = datetime.fromisoformat(run["start"]).replace(second=0, microsecond=0)
    return (first + timedelta(minutes=n)).strftime("%Y-%m-%d %H:%M")


def in_minutes(records: list[dict], minutes: list[str]) -> list[dict]:
    return [r for r in records if datetime.fromtimestamp(r["time"], UTC).strftime("%Y-%m-%d %H:%M") in minutes]


def load_seconds(run: dict, minute: str) -> float:
    """The seconds of the run in ``minute``."""
    begin = datetime.strptime(minute, "%Y-%m-%d %H:%M").replace(tzinfo=UTC)
    start, end = datetime.fromisoformat(run["start"]), datetime.fromisoformat(run["end"])
    return (min(end, begin + timedelta(minutes=1)) - max(start, begin)).total_seconds()


def test_a_breakpoint_run_shows_each_stage_beside_tideways_and_the_capacity(start_tideways_api, tmp_path):
    run, records = breakpoint_run(tmp_path)
    api = start_tideways_api(PROJECT, target_log=tmp_path / "target.jsonl")
    result = run_report(tmp_path, "--wait", "0", token=api.token, api_url=api.url)
    assert result.returncode == 0, result.stderr
    data = written(tmp_path / "reports")
    assert data["complete"] is True and data["problems"] == []
    load = data["load"]
    assert (load["profile"], load["unit"], load["pool"]) == ("breakpoint", "rate", 10)
    assert load["description"] == "breakpoint, 4 stages, 4m: 2/s to 8/s, paced over 10 users"

    # The client side of each stage is the run file's.
    for shown, noted in zip(load["stages"], run["load"]["stages"], strict=True):
        for key in ("index", "label", "users", "requests", "failures", "rps", "p50_ms", "p95_ms", "not_sent"):
            assert shown[key] == noted[key], key
        assert (shown["verdict"], shown["why"], shown["complete"]) == (noted["verdict"], noted["why"], True)
    assert [s["level"] for s in load["stages"]] == ["2/s", "4/s", "6/s", "8/s"]
    assert [s["not_sent"] for s in load["stages"]] == [0, 0, 0, 90]
    assert (load["asked"], load["sent"], load["not_sent"]) == (1200, 1110, 90)

    # The server side: each stage the minute it ran longest in (the last also the one it ended in),
    # req/s over the run's seconds in them, p95 the highest of the minutes'.
    expected = [[0], [1], [2], [3, 4]]
    for stage, numbers in zip(load["stages"], expected, strict=True):
        minutes = [minute_text(run, n) for n in numbers]
        server = stage["server"]
        assert server["minutes"] == minutes and server["shared"] is False and server["shared_with"] == []
        mine = in_minutes(records, minutes)
        assert server["requests"] == len(mine)
        assert server["rps"] == pytest.approx(len(mine) / sum(load_seconds(run, m) for m in minutes), abs=0.001)
        highest = max(nearest_rank([r["duration_ms"] for r in in_minutes(records, [m])], 0.95) for m in minutes)
        assert server["p95_ms"] == pytest.approx(highest, abs=0.01)
        assert server["errors"] == sum(r["status"] >= 500 for r in mine)
    assert load["stages"][3]["server"]["errors"] == 3

    # The capacity: the run file's, with the server side of the stages it names.
    capacity = load["capacity"]
    noted = run["load"]["capacity"]
    assert {key: capacity[key] for key in noted} == noted
    assert capacity["rps"] == 6.5
    held, broke = load["stages"][2]["server"], load["stages"][3]["server"]
    assert capacity["server"]["last_held"] == {key: held[key] for key in ("minutes", "shared", "rps", "p95_ms")}
    assert capacity["server"]["first_broke"]["p95_ms"] == broke["p95_ms"] > held["p95_ms"]

    # The slowest traces of the stage that broke: one call for that stage's minutes.
    calls = [c for c in api.calls() if c["path"].endswith("/traces")]
    assert len(api.calls()) == 3 and len(calls) == 2, "performance, the run's traces, the broken stage's"
    asked = calls[1]["query"]
    assert (asked["min_date"], asked["max_date"]) == (minute_text(run, 3), minute_text(run, 4))
    assert (asked["sort_by"], asked["limit"], asked["has_callgraph"]) == ("response_time", "5", "true")
    assert capacity["traces_window"] == {"from": minute_text(run, 3), "to": minute_text(run, 4)}
    traces = capacity["traces"]
    assert len(traces) == 5
    assert [t["response_time_ms"] for t in traces] == sorted((t["response_time_ms"] for t in traces), reverse=True)
    fastest_of_stage_4 = min(r["duration_ms"] for r in records if r["duration_ms"] >= 400)
    assert all(t["response_time_ms"] >= fastest_of_stage_4 for t in traces), "all of the broken stage"
    assert all(t["date"] in (minute_text(run, 3), minute_text(run, 4)) for t in traces)
    assert all(t["url"].startswith("https://app.tideways.io/o/acme/shop/trace/") for t in traces)

    # Both reports show it.
    text = (tmp_path / "reports" / "tideways-report.md").read_text()
    capacity_line = "**Capacity about 6.5 req/s:** stage 3 (6/s) held, stage 4 (8/s) broke"
    assert capacity_line + "\\: reached 6.5/s of 8/s asked\n" in text, "Markdown escapes a colon after a letter"
    server_line = f"On the server (Tideways): stage 3 at {held['rps']:.1f} req/s with p95 {held['p95_ms']:.1f} ms"
    assert server_line + f", stage 4 at {broke['rps']:.1f} req/s with p95 {broke['p95_ms']:.0f} ms" in text
    assert "90 of 1200 asked requests not sent (7.5 %): the users could not keep up" in text
    assert "### Slowest traces of stage 4 (8/s)" in text
    assert text.index("## Traces") < text.index("## Load profile") < text.index("## Client beside server")
    page = (tmp_path / "reports" / "tideways-report.html").read_text()
    assert 'id="capacity-rps"' in page and 'id="capacity-p95"' in page and 'id="broke-traces"' in page
    assert page.count('<tr data-stage="') == 4
    for trace in traces:
        assert f'href="{trace["url"]}"' in page.replace("&amp;", "&")


def test_when_the_broken_stages_traces_fail_the_rest_is_kept_and_it_says_which(start_tideways_api, tmp_path):
    breakpoint_run(tmp_path)
    script = {"traces": [{"status": 200}, *[{"status": 500}] * 3]}  # the run's traces, then the stage's
    api = start_tideways_api(PROJECT, target_log=tmp_path / "target.jsonl", script=script)
    result = run_report(tmp_path, "--wait", "0", token=api.token, api_url=api.url)
    assert result.returncode == 1, result.stderr
    data = written(tmp_path / "reports")
    assert data["complete"] is False
    assert data["problems"] == [
        "the traces of the stage that broke: Tideways API: traces failed with 500 (a server error) 3 times: "
        "try again later"
    ]
    assert data["traces"] and all(stage["server"]["rps"] for stage in data["load"]["stages"])
    capacity = data["load"]["capacity"]
    assert capacity["traces"] is None and capacity["traces_window"] is None
    assert capacity["server"]["first_broke"]["p95_ms"] is not None
    text = (tmp_path / "reports" / "tideways-report.md").read_text()
    assert "**Capacity about 6.5 req/s:**" in text and "### Slowest traces of stage" not in text
    assert "the traces of the stage that broke" in text


RAMP = [  # 30s, 2m and 30s from 45 s into a minute: the short stages share their minutes
    Planned("30s:5", 30, (0, 5), sent=1, ms=15, users=5),
    Planned("2m:20", 120, (5, 20), sent=3, ms=25, users=20),
    Planned("30s:0", 30, (20, 0), sent=1, ms=15, users=0),
]


def test_a_ramp_in_users_has_no_capacity_and_its_short_stages_share_their_minutes(start_tideways_api, tmp_path):
    description = "ramp, 3 stages, 3m: 0 to 20 users"
    run, records = load_run(tmp_path, "ramp", "users", RAMP, offset=45.0, description=description)
    api = start_tideways_api(PROJECT, target_log=tmp_path / "target.jsonl")
    result = run_report(tmp_path, "--wait", "0", token=api.token, api_url=api.url)
    assert result.returncode == 0, result.stderr
    load = written(tmp_path / "reports")["load"]
    assert load["capacity"] is None and load["asked"] is None and load["not_sent"] is None
    assert [s["level"] for s in load["stages"]] == ["0 to 5 users", "5 to 20 users", "20 to 0 users"]
    servers = [s["server"] for s in load["stages"]]
    # 30 s across the first two minutes; 2 minutes from 1:15, longest in 1 and 2; 30 s in minute 3.
    assert [s["minutes"] for s in servers] == [
        [minute_text(run, 0), minute_text(run, 1)],
        [minute_text(run, 1), minute_text(run, 2)],
        [minute_text(run, 3)],
    ]
    assert [(s["shared"], s["shared_with"]) for s in servers] == [(True, [2]), (False, []), (True, [2])]
    for server in servers:
        assert server["requests"] == len(in_minutes(records, server["minutes"]))
    assert len(api.calls()) == 2, "no stage broke: no more calls than a run without a profile"
    text = (tmp_path / "reports" / "tideways-report.md").read_text()
    section = text.split("## Load profile")[1].split("\n## ")[0]
    assert "**ramp, 3 stages, 3m\\: 0 to 20 users**" in section, "the description, in Markdown"
    assert "Capacity" not in section and "not sent" not in section
    header = next(line for line in section.splitlines() if line.startswith("| Stage"))
    assert "Not sent" not in header and "Verdict" not in header and "Tideways req/s" in header
    assert f"| {minute_label(run, 0)} to {minute_label(run, 1)}, shared with 2 |" in section
    page = (tmp_path / "reports" / "tideways-report.html").read_text()
    assert 'id="stages-table"' in page and "capacity-rps" not in page and "broke-traces" not in page


def minute_label(run: dict, n: int) -> str:
    return minute_text(run, n).rsplit(" ", 1)[1]


def test_a_rate_run_without_a_token_says_what_was_not_sent_and_shows_the_client_side(tmp_path):
    stage = Planned("30/s", 5, (30, 30), sent=12.4, ms=30, users=3)
    description = "constant, 1 stage, 5s: 30/s, paced over 3 users"
    run, _ = load_run(tmp_path, "constant", "rate", [stage], offset=10, pool=3, description=description)
    result = run_report(tmp_path, "--wait", "0", api_url="http://127.0.0.1:9/apps/api")
    assert result.returncode == 0, result.stderr
    data = written(tmp_path / "reports")
    load = data["load"]
    assert (load["asked"], load["sent"], load["not_sent"]) == (150, 62, 88)
    assert load["stages"][0]["server"] is None and load["server_fetched"] is False and load["capacity"] is None
    text = (tmp_path / "reports" / "tideways-report.md").read_text()
    section = text.split("## Load profile")[1].split("\n## ")[0]
    expected = "88 of 150 asked requests not sent (58.67 %): the users could not keep up (3 users paced the rate"
    assert expected in section
    [not_fetched] = [line for line in section.splitlines() if "TIDEWAYS" in line]
    assert not_fetched.startswith("The stages show the client side only\\: ")
    assert "no TIDEWAYS\\_API\\_TOKEN in the environment or .env" in not_fetched
    [row] = [line for line in section.splitlines() if line.startswith("| 1 ")]
    noted = run["load"]["stages"][0]
    assert row == f"| 1 | 30/s | 3 | 12.4 | {noted['p50_ms']:.1f} | {noted['p95_ms']:.1f} | 0 | 88 |"
    assert "Tideways" not in section.split("| Stage")[1].splitlines()[0]
    page = (tmp_path / "reports" / "tideways-report.html").read_text()
    assert 'id="shortfall"' in page and 'id="stages-server-missing"' in page


def test_a_run_without_a_profile_is_reported_as_before(start_tideways_api, tmp_path):
    api = start_tideways_api(PROJECT)
    run = json.loads(a_run_file(tmp_path / "without").read_text())  # no "load": a run file of before
    (tmp_path / "with" / "reports").mkdir(parents=True)
    (tmp_path / "with" / "reports" / "tideways-run.json").write_text(json.dumps({**run, "load": None}))
    shown = {}
    for name in ("with", "without"):
        folder = tmp_path / name
        result = run_report(folder, "--wait", "0", token=api.token, api_url=api.url)
        assert result.returncode == 0, result.stderr
        assert written(folder / "reports")["load"] is None
        shown[name] = [
            re.sub(r"(Report generated|Generated)\W+\S+", "", (folder / "reports" / file).read_text())
            for file in ("tideways-report.md", "tideways-report.html")
        ]
        assert not [text for text in shown[name] for heading in LOAD_PROFILE_HEADINGS if heading in text]
    assert shown["with"] == shown["without"], "a plain constant run (load null) is reported as an older run file"
    assert len(api.calls()) == 4, "two calls a report, as before"


# -- coverage: which endpoints got a callgraph, and the workers that were lost ---------------------------

COVERAGE_HEADINGS = ("## Coverage", 'id="coverage"', "Lost workers", 'id="lost-workers"')


def coverage_run_file(folder: Path, ref_mode: str, lost: list[dict]) -> dict:
    """``a_run_file`` with the coverage fields: GET / traced twice, POST /cart requested and never traced."""
    path = a_run_file(folder)
    run = json.loads(path.read_text())
    slowest_ref = f"{run['run_id']}-9f3e1c2a-17" if ref_mode == "request" else run["run_id"]
    run["tideways"].update(
        ref_mode=ref_mode, coverage=2, budget_per_minute=30, budget_capped=12, lost_workers=lost
    )  # fmt: skip
    run["traced_exact"] = not lost
    link = f"https://app.tideways.io/o/acme/shop/traces?cid={slowest_ref}"
    run["endpoints"][0].update(
        traced=2, slowest_trace={"ref": slowest_ref, "response_time_ms": 812.4, "path": "/?page=2", "link": link}
    )
    cart = {"method": "POST", "name": "/cart", "requests": 20, "failures": 0, "median_ms": 9.0, "p95_ms": 30.0,
            "average_ms": 10.0, "max_ms": 40.0, "traced": 0, "slowest_trace": None}  # fmt: skip
    run["endpoints"].append(cart)
    path.write_text(json.dumps(run))
    return run


def test_a_run_file_with_coverage_and_a_lost_worker_gets_the_section_and_the_warning(tmp_path):
    lost = {"worker": "host_ab12", "last_report": "2026-12-03T06:10:11+00:00", "traced_reported": 120,
            "may_be_missing": 12}  # fmt: skip
    run = coverage_run_file(tmp_path, "request", [lost])
    result = run_report(tmp_path, "--wait", "0", api_url="http://127.0.0.1:9/apps/api")
    assert result.returncode == 0, result.stderr
    assert "tideways report: Lost workers: 1 distributed worker went missing mid-run" in result.stderr
    assert (
        "tideways report: Worker host_ab12 last reported at 2026-12-03 06:10:11 UTC, with 120 traced requests: "
        "up to about 12 of its traced requests after that are not counted." in result.stderr
    )
    data = written(tmp_path / "reports")
    link = f"https://app.tideways.io/o/acme/shop/traces?cid={run['run_id']}-9f3e1c2a-17"
    found = data["coverage"]
    assert (found["ref_mode"], found["coverage"], found["budget_per_minute"], found["budget_capped"]) == (
        "request", 2, 30, 12,
    )  # fmt: skip
    assert found["traced_exact"] is False and found["lost_workers"] == [lost]
    assert [(e["method"], e["name"], e["requests"], e["traced"], e["link"]) for e in found["endpoints"]] == [
        ("GET", "/", 100, 2, link),
        ("POST", "/cart", 20, 0, None),
    ]
    assert found["no_callgraph"] == ["POST /cart"]

    text = (tmp_path / "reports" / "tideways-report.md").read_text()
    assert text.index("> **Lost workers:**") < text.index("## The run") < text.index("## Coverage")
    part = text.split("## Coverage\n")[1].split("\n## ")[0]
    assert f"| GET | / | 100 | 2 | [812 ms]({link}), /?page=2, ref {run['run_id']}-9f3e1c2a-17 |" in part
    assert "| POST | /cart | 20 | 0 | – |" in part
    assert "No callgraph\\: POST /cart (as counted\\: the traced figures are lower bounds)" in part
    assert "budget 30 a minute, which left 12 chosen requests untraced" in part

    page = (tmp_path / "reports" / "tideways-report.html").read_text()
    assert page.index('id="lost-workers"') < page.index('<section id="run">') < page.index('<section id="coverage">')
    assert re.findall(r'<a class="coverage-link" data-link="(\w+)" href="([^"]*)"', page) == [("trace", link)]
    assert '<tr data-no-callgraph="true"><td>POST</td><td class="name">/cart</td>' in page


def test_a_run_file_with_coverage_in_run_ref_mode_links_each_endpoint_to_the_runs_traces(start_tideways_api, tmp_path):
    api = start_tideways_api(PROJECT)
    run = coverage_run_file(tmp_path, "run", [])
    result = run_report(tmp_path, "--wait", "0", token=api.token, api_url=api.url)
    assert result.returncode == 0, result.stderr
    assert "Lost workers" not in result.stderr
    data = written(tmp_path / "reports")
    link = f"https://app.tideways.io/o/acme/shop/traces?cid={run['run_id']}"
    assert data["complete"] is True and data["links"]["traces"] == link
    assert data["coverage"]["traced_exact"] is True and data["coverage"]["lost_workers"] == []
    assert [e["link"] for e in data["coverage"]["endpoints"]] == [link, None]
    text = (tmp_path / "reports" / "tideways-report.md").read_text()
    part = text.split("## Coverage\n")[1].split("\n## ")[0]
    assert f"| GET | / | 100 | 2 | [812 ms]({link}), /?page=2 |" in part and "Lost workers" not in text
    assert part.count("its app link cannot be filtered by endpoint") == 1
    assert "No callgraph\\: POST /cart\n" in part
    page = (tmp_path / "reports" / "tideways-report.html").read_text()
    assert re.findall(r'<a class="coverage-link" data-link="(\w+)" href="([^"]*)"', page) == [("run", link)]
    assert 'id="coverage-run-link"' in page and 'id="lost-workers"' not in page


def test_a_run_file_without_coverage_is_reported_as_before(tmp_path):
    a_run_file(tmp_path)
    result = run_report(tmp_path, "--wait", "0", api_url="http://127.0.0.1:9/apps/api")
    assert result.returncode == 0, result.stderr
    assert written(tmp_path / "reports")["coverage"] is None
    shown = [(tmp_path / "reports" / name).read_text() for name in ("tideways-report.md", "tideways-report.html")]
    assert not [heading for text in shown for heading in COVERAGE_HEADINGS if heading in text]
    assert "Lost workers" not in result.stderr


@pytest.mark.parametrize(
    "why", ["none traced: the run had no Tideways API key (LOCUST_TIDEWAYS_APIKEY) to sign a header with", None]
)
def test_a_run_that_traced_nothing_gets_no_link_and_says_why(tmp_path, why):
    path = a_run_file(tmp_path)
    run = json.loads(path.read_text())
    run["traced"] = 0
    run["tideways"]["none_traced"] = why
    path.write_text(json.dumps(run))
    result = run_report(tmp_path, "--wait", "0", api_url="http://127.0.0.1:9/apps/api")
    data = written(tmp_path / "reports")
    assert data["links"]["traces"] is None, "no link to an empty list of traces"
    said = why or "none traced (no API key, a trace rate of 0, nothing sent, or none drawn at a low rate)"
    assert data["links"]["help"] == f"No link: {said}."
    page = (tmp_path / "reports" / "tideways-report.html").read_text()
    assert 'id="traces-link"' not in page and said in page
    assert "cid=" not in (tmp_path / "reports" / "tideways-report.md").read_text(), result.stderr
