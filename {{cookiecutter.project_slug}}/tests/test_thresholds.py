"""thresholds.py: the pass/fail limits and the exit codes they set."""

from __future__ import annotations

from types import SimpleNamespace

import pytest
from locust.argument_parser import get_parser

import thresholds
from tests.conftest import API_KEY, ROOT, arrived, locust_env, run_locust

LIMITS = SimpleNamespace(max_fail_percent=1.0, max_response_time=2000.0, response_time_percentile=95.0)
FAILURES = str(ROOT / "tests" / "locustfiles" / "one_percent_failures.py")


def total(requests: int = 1000, fail_ratio: float = 0.0, p95: float = 100.0) -> SimpleNamespace:
    return SimpleNamespace(
        num_requests=requests, fail_ratio=fail_ratio, get_response_time_percentile=lambda percent: p95 * percent / 0.95
    )


def test_a_run_within_the_limits_passes():
    assert thresholds.breaches(total(fail_ratio=0.01, p95=2000), LIMITS) == []


def test_too_many_failures_fail_the_run():
    assert thresholds.breaches(total(fail_ratio=0.0101), LIMITS) == [
        "1.01 % of requests failed, over --max-fail-percent 1"
    ]


def test_a_slow_percentile_fails_the_run():
    assert thresholds.breaches(total(p95=2001), LIMITS) == [
        "p95 response time 2001 ms is over --max-response-time 2000 ms"
    ]
    slow = SimpleNamespace(**{**vars(LIMITS), "response_time_percentile": 50.0})
    assert thresholds.breaches(total(p95=3990), slow) == [
        "p50 response time 2100 ms is over --max-response-time 2000 ms"
    ]


def test_max_response_time_0_turns_the_check_off():
    off = SimpleNamespace(**{**vars(LIMITS), "max_response_time": 0.0})
    assert thresholds.breaches(total(p95=10**6), off) == []


def test_a_run_without_requests_fails():
    assert thresholds.breaches(total(requests=0), LIMITS) == ["no request was made"]


def test_limits_default_and_come_from_env(monkeypatch):
    parser = get_parser(default_config_files=[])
    options = parser.parse_args([])
    assert (options.max_fail_percent, options.max_response_time, options.response_time_percentile) == (
        1.0,
        2000.0,
        95.0,
    )
    monkeypatch.setenv("LOCUST_MAX_FAIL_PERCENT", "2.5")
    assert get_parser(default_config_files=[]).parse_args([]).max_fail_percent == 2.5


@pytest.mark.parametrize(
    ("flag", "value"),
    [
        ("--max-fail-percent", "101"),
        ("--max-fail-percent", "x"),
        ("--max-response-time", "-1"),
        ("--response-time-percentile", "0"),
        ("--response-time-percentile", "nan"),
    ],
)
def test_bad_limits_are_refused(flag, value, capsys):
    with pytest.raises(SystemExit) as exit_info:
        get_parser(default_config_files=[]).parse_args([flag, value])
    assert exit_info.value.code == 2
    err = capsys.readouterr().err
    assert flag in err and repr(value) in err


def failures_run(target, *args: str):
    """Two users until each had one failure a hundred requests; a stop lets them end their task,
    so exactly 1 % of the requests failed."""
    done = arrived(target, 2, lambda record: record["path"] == "/bad")
    return run_locust(
        "-f", FAILURES, "--host", target.url, "-u", "2", "-r", "2", "--stop-timeout", "10", *args, until=done
    )


def test_failures_under_the_limit_pass_with_exit_0(start_target):
    target = start_target()
    result = failures_run(target, "--max-fail-percent", "5")
    assert result.returncode == 0, result.stderr
    assert "Load test passed its limits" in result.stderr


def test_failures_over_the_limit_exit_3_with_one_line(start_target):
    target = start_target()
    result = failures_run(target, "--max-fail-percent", "0.5")
    assert result.returncode == 3, result.stderr
    lines = [line for line in result.stderr.splitlines() if "Load test failed" in line]
    assert len(lines) == 1 and "over --max-fail-percent 0.5 (exit code 3)" in lines[0]


@pytest.mark.project
def test_a_target_that_is_down_fails_the_baked_users_with_exit_3(start_target):
    target = start_target(API_KEY, "--status", "503")
    # The project's users and locust.conf, without its login: the limits are under test here.
    args = ["--host", target.url, "--app-login", "none", "-u", "2", "-r", "2"]
    result = run_locust(*args, env=locust_env(), cwd=ROOT, until=arrived(target, 2))
    assert result.returncode == 3, result.stderr
    assert "Load test failed: 100.00 % of requests failed" in result.stderr
