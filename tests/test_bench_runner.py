"""How ``make bench`` starts Locust: the command, its environment, loopback only. No load is run here."""

from __future__ import annotations

import json
from dataclasses import replace
from pathlib import Path
from types import SimpleNamespace

import pytest

from bench import configs, settings
from bench.measuring import Run
from bench.processes import BenchError, Children
from bench.runner import API_KEY, Runner, locust_env
from bench.target import Target, nginx_config, traced_count


def _runner(tmp_path, url="http://127.0.0.1:8123"):
    target = Target(url, int(url.rsplit(":", 1)[1]), process=None)
    return Runner(settings.parse_args(["--quick"]), Path("python"), tmp_path, tmp_path, target, Children())


def test_nginx_listens_on_loopback_only(tmp_path):
    config = nginx_config(tmp_path, 8123)
    assert [line.split()[1] for line in config.splitlines() if line.strip().startswith("listen")] == ["127.0.0.1:8123"]
    for directive in ("daemon off;", "worker_processes 1;", "access_log off;"):
        assert directive in config


def test_locust_only_ever_loads_loopback(tmp_path):
    with pytest.raises(BenchError, match="only 127.0.0.1"):
        _runner(tmp_path, "http://192.168.1.5:80").locust_command(configs.CONFIG_BY_KEY["http_plain"], 1, 5, tmp_path)
    command = _runner(tmp_path).locust_command(configs.CONFIG_BY_KEY["fast_100"], 20, 5, tmp_path / "stats")
    assert command[:3] == ["taskset", "-c", "0"]
    assert command[command.index("--host") + 1] == "http://127.0.0.1:8123"
    assert command[-3:] == ["--tideways-trace-rate", "100", "TracedFastHttpUser"]


def test_the_headers_only_runs_send_both_headers_without_the_runtime(tmp_path):
    source = (settings.LOCUSTFILES / "headers.py").read_text()
    assert '"X-Tideways-Profiler"' in source and '"X-Tideways-Ref"' in source
    command = _runner(tmp_path).locust_command(configs.CONFIG_BY_KEY["fast_headers"], 20, 5, tmp_path / "stats")
    assert "--tideways-trace-rate" not in command and command[-1] == "HeadersFastHttpUser"
    assert "LOCUST_TIDEWAYS_APIKEY" not in locust_env(tmp_path, configs.CONFIG_BY_KEY["fast_headers"])


def test_the_bearer_login_and_its_floor_get_the_same_token(tmp_path, monkeypatch):
    monkeypatch.setenv("LOGIN_TOKEN", "a-developer's-own-token")
    monkeypatch.setenv("LOCUST_HOST", "https://production.example.com")
    bearer, floor = configs.CONFIG_BY_KEY["http_bearer"], configs.CONFIG_BY_KEY["http_authorization"]
    command = _runner(tmp_path).locust_command(bearer, 20, 5, tmp_path / "stats")
    assert command[-5:] == ["--tideways-trace-rate", "1", "--app-login", "bearer", "TracedHttpUser"]
    login_env, floor_env = locust_env(tmp_path, bearer), locust_env(tmp_path, floor)
    assert login_env["LOGIN_TOKEN"] == floor_env["LOGIN_TOKEN"] == configs.BEARER_TOKEN
    assert login_env["LOCUST_TIDEWAYS_APIKEY"] == API_KEY and "LOCUST_HOST" not in login_env
    plain = locust_env(tmp_path, configs.CONFIG_BY_KEY["http_plain"])
    assert "LOGIN_TOKEN" not in plain and plain["PYTHONPATH"] == str(tmp_path)
    assert "--app-login" not in _runner(tmp_path).locust_command(floor, 20, 5, tmp_path / "stats")


def test_coverage_and_budget_reach_the_runtime_as_options_and_today_s_sampler_gets_neither(tmp_path, monkeypatch):
    monkeypatch.setenv("LOCUST_TIDEWAYS_TRACE_BUDGET", "5")  # a developer's own setting must not leak in
    runner = _runner(tmp_path)
    for client, user_class in (("http", "TracedHttpUser"), ("fast", "TracedFastHttpUser")):
        coverage = configs.CONFIG_BY_KEY[f"{client}_coverage"]
        command = runner.locust_command(coverage, 20, 5, tmp_path / "stats")
        assert command[-7:] == ["--tideways-trace-rate", "1", "--tideways-trace-coverage", "1",
                                "--tideways-trace-budget", "60000", user_class]  # fmt: skip
        today = runner.locust_command(configs.CONFIG_BY_KEY[f"{client}_1"], 20, 5, tmp_path / "stats")
        assert today[-3:] == ["--tideways-trace-rate", "1", user_class]
        assert "--tideways-trace-coverage" not in today and "--tideways-trace-budget" not in today
        env = locust_env(tmp_path, coverage)
        assert env["LOCUST_TIDEWAYS_APIKEY"] == API_KEY
        assert not [name for name in env if name.startswith("LOCUST_TIDEWAYS_TRACE")]


def test_a_run_that_traced_as_many_requests_as_its_budget_may_have_been_capped(tmp_path):
    stem = tmp_path / "run"
    per_second = {str(second): 40 for second in range(100, 105)}
    content = 3 * len(b"traced") + 197 * len(b"ok")  # the first request and two of the rate's
    entry = {"num_requests": 200, "num_failures": 0, "total_content_length": content, "num_reqs_per_sec": per_second}
    Path(f"{stem}.json").write_text(json.dumps([entry]))
    usage = SimpleNamespace(ru_maxrss=50_000)
    coverage = configs.CONFIG_BY_KEY["http_coverage"]

    def problems(config):
        return _runner(tmp_path).collect(Run(config.key, 1, 20, 6, 0), config, stem, usage, []).problems

    assert problems(coverage) == []
    assert problems(replace(coverage, trace_budget=3)) == ["3 traced requests reached the trace budget of 3"]


def test_traced_requests_are_counted_from_the_bytes_nginx_sent():
    requests, traced = 1000, 10
    assert traced_count(requests, traced * len(b"traced") + (requests - traced) * len(b"ok")) == traced
