"""scripts/flake_check.py: reading pytest's JUnit XML and counting failures by test, on fixed inputs."""

from __future__ import annotations

import pytest

from scripts.flake_check import failed_tests, main, parse_answers, report, tally

JUNIT = """<?xml version="1.0" encoding="utf-8"?>
<testsuites><testsuite name="pytest" tests="4">
  <testcase classname="tests.test_trace_log" name="test_a[HttpHeld]"/>
  <testcase classname="tests.test_trace_log" name="test_a[FastHttpHeld]"><failure message="boom"/></testcase>
  <testcase classname="tests.test_logins" name="test_b"><error message="setup"/></testcase>
  <testcase classname="tests.test_logins" name="test_c"><skipped message="no"/></testcase>
</testsuite></testsuites>
"""


def test_failures_and_errors_are_failed_tests_and_skips_are_not(tmp_path):
    junit = tmp_path / "junit.xml"
    junit.write_text(JUNIT)
    assert failed_tests(junit) == ["tests/test_trace_log.py::test_a[FastHttpHeld]", "tests/test_logins.py::test_b"]


def test_tally_counts_rounds_a_test_failed_in_most_first():
    rounds = [["b", "a"], [], ["a"], ["a", "a"]]
    assert tally(rounds) == [("a", 3), ("b", 1)]


def test_the_report_names_each_failing_test_with_its_count():
    assert report([["x"], [], []], tests=7, seconds=12.4) == (
        "3 runs of 7 tests in 12 s: 1 with a failure, 1 failures in all\n  1/3  x"
    )
    assert report([[], []], tests=7, seconds=1) == "2 runs of 7 tests in 1 s: 0 with a failure, 0 failures in all"


def test_answers_are_key_value_and_a_bad_one_is_named():
    assert parse_answers(["login=form", "endpoints=GET /a=b"]) == {"login": "form", "endpoints": "GET /a=b"}
    with pytest.raises(SystemExit, match="answer 'login' is not allowed: give key=value"):
        parse_answers(["login"])


@pytest.mark.parametrize("runs", ["0", "1001"])
def test_a_run_count_out_of_range_is_refused(runs, capsys):
    with pytest.raises(SystemExit) as exit_info:
        main(["--runs", runs])
    assert exit_info.value.code == 2
    assert f"--runs {int(runs)!r} is not allowed: give 1 to 1000" in capsys.readouterr().err
