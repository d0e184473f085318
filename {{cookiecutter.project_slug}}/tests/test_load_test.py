"""Real ``locust`` runs against targets on 127.0.0.1 that check every profiling header."""

from __future__ import annotations

import hashlib
import shutil
from pathlib import Path

import pytest

from tests.conftest import (
    API_KEY,
    LOGIN_ENV,
    LOGIN_TARGET,
    ROOT,
    SCENARIO,
    SCENARIOS,
    SECRETS,
    SHORT,
    arrived,
    locust_env,
    project_setting,
    run_locust,
    run_scenario,
    web_ui_page,
)
from tests.target import login_landing


def by_path(records: list[dict]) -> dict[str, list[dict]]:
    paths: dict[str, list[dict]] = {}
    for record in records:
        paths.setdefault(record["path"], []).append(record)
    return paths


@pytest.mark.locust_hooks
@pytest.mark.parametrize("user_class", SCENARIOS)
def test_rate_100_signs_every_request_validly(user_class, start_target, tmp_path):
    target, other = start_target(), start_target()
    report = tmp_path / "report.html"
    result = run_scenario(user_class, target, other, "--tideways-trace-rate", "100", "--html", str(report))
    assert result.returncode == 0, result.stderr

    paths = by_path(target.records())
    expected = {f"/verbs/{verb}" for verb in ("get", "post", "put", "patch", "delete", "head", "options")}
    assert expected | {"/request", "/rest", "/caller-headers", "/explicit"} <= set(paths)
    assert all(r["verdict"] == "accepted" for r in target.records()), "every request signed and valid"
    for record in paths["/caller-headers"]:
        assert record["headers"]["x-caller"] == "kept"
        assert record["headers"]["accept"] == "text/plain"
    for record in paths["/explicit"]:
        assert record["profiler"] == record["headers"]["x-expected-profiler"], "the caller's header, not re-signed"
    assert paths["/rest"][0]["headers"]["content-type"] == "application/json"

    assert other.records(), "the other origin was requested"
    assert all(r["profiler"] is None for r in other.records()), "other origins never get the header"

    page = report.read_text()
    assert API_KEY not in page and hashlib.md5(API_KEY.encode()).hexdigest() not in page


@pytest.mark.parametrize("user_class", SCENARIOS)
def test_rate_0_sends_no_header(user_class, start_target):
    target, other = start_target(), start_target()
    result = run_scenario(user_class, target, other, "--tideways-trace-rate", "0")
    assert result.returncode == 0, result.stderr
    assert target.records()
    assert all(r["profiler"] is None for r in target.records() + other.records())
    assert "no API key" not in result.stderr
    assert "traces: none traced: the trace rate is 0 (--tideways-trace-rate) and coverage is off," in result.stderr


def test_no_key_sends_no_header_and_warns_once(start_target):
    target, other = start_target(), start_target()
    result = run_scenario("HttpScenario", target, other, "--tideways-trace-rate", "100", key="")
    assert result.returncode == 0, result.stderr
    assert target.records()
    assert all(r["profiler"] is None for r in target.records())
    assert result.stderr.count("no API key") == 1, result.stderr
    assert "traces: none traced: the run had no Tideways API key (LOCUST_TIDEWAYS_APIKEY)" in result.stderr
    assert API_KEY not in result.stderr + result.stdout


def test_partial_rate_traces_about_that_share(start_target):
    target, other = start_target(), start_target()

    def sampled(record: dict) -> bool:
        return record["path"] != "/explicit"  # the caller passes tidewaysProfilingHeaders() there

    until = arrived(target, 300, sampled)
    result = run_scenario("FastHttpScenario", target, other, "--tideways-trace-rate", "30", until=until)
    assert result.returncode == 0, result.stderr
    records = [r for r in target.records() if sampled(r)]
    traced = [r for r in records if r["profiler"] is not None]
    assert len(records) >= 300
    share = len(traced) / len(records)
    sigma = (0.3 * 0.7 / len(records)) ** 0.5
    assert abs(share - 0.3) < 6 * sigma, share
    assert all(r["verdict"] == "accepted" for r in traced)


BAD_RATES = ["150", "-1", "abc", "nan"]


@pytest.mark.parametrize("rate", BAD_RATES)
@pytest.mark.parametrize("source", ["flag", "env", "config"])
def test_bad_rate_stops_locust_before_any_request(rate, source, start_target, tmp_path):
    target = start_target()
    env = locust_env(LOCUST_TIDEWAYS_APIKEY=API_KEY)
    args = ["-f", str(SCENARIO), "--host", target.url, *SHORT, "-t", "5s", "HttpScenario"]
    if source == "flag":
        args += ["--tideways-trace-rate", rate]
    elif source == "env":
        env["LOCUST_TIDEWAYS_TRACE_RATE"] = rate
    else:
        config = tmp_path / "bad.conf"
        config.write_text(f"tideways-trace-rate = {rate}\n")
        args += ["--config", str(config)]
    result = run_locust(*args, env=env)
    assert result.returncode != 0
    lines = [line for line in result.stderr.splitlines() if "tideways-trace-rate" in line]
    assert len(lines) == 1, result.stderr
    assert repr(rate) in lines[0] and "0 to 100" in lines[0]
    assert target.records() == []


def copy_of_the_project(tmp_path) -> Path:
    """The project as a team has it, without its .env, accounts, reports or virtualenv."""
    project = tmp_path / "project"
    ignored = shutil.ignore_patterns(".env", "accounts.csv", ".venv", "__pycache__", "reports")
    shutil.copytree(ROOT, project, ignore=ignored)
    return project


def run_the_project(project: Path, target, *args: str, env: dict[str, str]):
    """Plain ``locust`` in the project with its locust.conf, until its users loaded a page.

    With the project's login (``app-login`` in locust.conf), the target has the accounts
    and the run brings them: made up here, never the team's."""
    login = project_setting("app-login", project)

    def is_page(record: dict) -> bool:  # a request of the users' tasks, not of their login
        return not record["path"].startswith(("/login", "/api/login"))

    answered = arrived(target, 3, is_page, "pages")
    result = run_locust("--host", target.url, *SHORT, *args, env={**LOGIN_ENV, **env}, cwd=project, until=answered)
    assert result.returncode == 0, result.stderr[-3000:]
    pages = [r for r in target.records() if is_page(r)]
    if login not in ("", "none"):
        assert all(r["account"] for r in pages), f"every page loaded logged in (app-login = {login})"
    assert not any(secret in result.stdout + result.stderr for secret in SECRETS)
    return pages


@pytest.mark.project
@pytest.mark.locust_hooks
def test_locust_in_the_project_root_finds_the_users_and_loads_dotenv(start_target, tmp_path):
    """Plain ``locust`` in a copy of the project: locust.conf, locustfile.py and .env."""
    project = copy_of_the_project(tmp_path)
    (project / ".env").write_text(f"LOCUST_TIDEWAYS_APIKEY={API_KEY}\nLOCUST_TIDEWAYS_TRACE_RATE=100\n")
    target = start_target(API_KEY, *LOGIN_TARGET)
    pages = run_the_project(project, target, env=locust_env())
    assert pages, "the baked users sent requests"
    assert_every_request_sent_is_traced(target.records())


@pytest.mark.project
def test_environment_wins_over_dotenv(start_target, tmp_path):
    project = copy_of_the_project(tmp_path)
    (project / ".env").write_text("LOCUST_TIDEWAYS_APIKEY=wrong-key-from-dotenv\n")
    target = start_target(API_KEY, *LOGIN_TARGET)
    env = locust_env(LOCUST_TIDEWAYS_APIKEY=API_KEY)
    assert run_the_project(project, target, "--tideways-trace-rate", "100", env=env)
    assert_every_request_sent_is_traced(target.records())


def assert_every_request_sent_is_traced(records: list[dict]) -> None:
    """At rate 100 every request the users send carries a valid header; a login's redirect hop carries none."""
    assert all(r["verdict"] == "accepted" for r in records if r["profiler"] is not None)
    assert all(login_landing(r) for r in records if r["profiler"] is None), [
        r["path"] for r in records if r["profiler"] is None
    ][:5]


@pytest.mark.locust_hooks
def test_web_ui_page_does_not_contain_the_key(tmp_path):
    html = web_ui_page(SCENARIO, env=locust_env(LOCUST_TIDEWAYS_APIKEY=API_KEY))
    assert "tideways_trace_rate" in html, "the page lists the custom options"
    assert API_KEY not in html
    assert hashlib.md5(API_KEY.encode()).hexdigest() not in html
