"""How ``make bench`` starts Locust: the command, its environment, loopback only. No load is run here."""

from __future__ import annotations

from pathlib import Path

import pytest

from bench import configs, settings
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


def test_traced_requests_are_counted_from_the_bytes_nginx_sent():
    requests, traced = 1000, 10
    assert traced_count(requests, traced * len(b"traced") + (requests - traced) * len(b"ok")) == traced
