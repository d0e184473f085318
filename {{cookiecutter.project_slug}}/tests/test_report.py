"""``python -m tideways_locust.report`` after a real run, against the Tideways API stand-in."""

from __future__ import annotations

import json
import re
import subprocess
import sys
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
