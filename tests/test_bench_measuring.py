"""``make bench``'s arithmetic of one run: interpolation, windows, quiet seconds, the traced share."""

from __future__ import annotations

import json

import pytest

from bench.measuring import check_traced, interpolate, measure_window, read_stats, shared_seconds
from bench.processes import Sample


def test_interpolation_is_linear_between_samples_and_flat_outside_them():
    samples = [(10.0, 0.0), (12.0, 4.0), (13.0, 4.0)]
    assert interpolate(samples, 11.0) == 2.0 and interpolate(samples, 12.5) == 4.0
    assert interpolate(samples, 5.0) == 0.0 and interpolate(samples, 20.0) == 4.0
    assert interpolate([(1.0, 3.0), (1.0, 5.0)], 1.0) == 3.0  # two samples at one moment: no division by zero
    assert interpolate([], 1.0) is None


def _samples(seconds, foreign_on_locust_core=(), share=1.0):
    """One sample a second: Locust busy ``share`` of the time (ours: all of it), nginx a tenth, others where asked."""
    samples, others = [], 0.0
    for index, second in enumerate(seconds):
        if second - 1 in foreign_on_locust_core:
            others += 0.5
        samples.append(Sample(second, index * share, index, index * 0.1, 0.0, index + others, index * 0.1))
    return samples


def test_requests_per_second_leave_out_the_warm_up_and_the_last_second():
    per_second = {100: 5, 101: 900, 102: 1000, 103: 1000, 104: 1000, 105: 1000, 106: 40}
    window = measure_window(per_second, _samples(range(99, 108)), warmup=2)
    assert window["rps"] == 1000 and window["window_s"] == 4 and window["quiet_s"] == 4
    assert window["locust_cpu"] == pytest.approx(1.0)
    assert window["cpu_us_per_request"] == pytest.approx(1000.0)
    assert window["target_cpu"] == pytest.approx(0.1)
    assert not window["noisy"]
    assert measure_window({100: 5, 101: 5}, [], warmup=2) is None


def test_without_samples_over_the_window_requests_per_second_still_count_but_cpu_is_unknown():
    window = measure_window({second: 100 for second in range(100, 106)}, [], warmup=1)
    assert window["rps"] == 100 and window["cpu_us_per_request"] is None and window["locust_cpu"] is None


def test_a_pair_is_measured_over_the_seconds_both_sides_ran():
    per_second = {second: 500 for second in range(100, 112)}
    window = measure_window(per_second, _samples(range(99, 114), share=0.5), warmup=2, bounds=(101, 110))
    assert window["window_s"] == 7 and window["quiet_s"] == 7  # the other half of the core is ours, not others'
    assert window["locust_cpu"] == pytest.approx(0.5)
    assert window["cpu_us_per_request"] == pytest.approx(1000.0)
    assert shared_seconds([{100: 1, 105: 1, 111: 1}, {101: 1, 110: 1}]) == (101, 110)
    assert shared_seconds([{100: 1}, {}]) is None


def test_seconds_in_which_other_processes_took_the_core_are_left_out():
    per_second = {second: 1000 for second in range(100, 110)} | {104: 600, 105: 600}
    window = measure_window(per_second, _samples(range(99, 112), foreign_on_locust_core={104, 105}), warmup=0)
    assert window["quiet_s"] == 7 and window["rps"] == 1000
    # too few quiet seconds: every second counts, and the run says it was noisy
    noisy = measure_window(per_second, _samples(range(99, 112), set(range(100, 108))), warmup=0)
    assert noisy["noisy"] and noisy["rps"] == pytest.approx((7 * 1000 + 2 * 600) / 9)


def test_locusts_stats_file_gives_requests_failures_bytes_and_each_second(tmp_path):
    stats = tmp_path / "stats.json"
    stats.write_text(
        json.dumps(
            [
                {"num_requests": 30, "num_failures": 1, "total_content_length": 60,
                 "num_reqs_per_sec": {"100": 10, "101.0": 20}},
                {"num_requests": 5, "num_failures": 0, "total_content_length": 30, "num_reqs_per_sec": {"101": 5}},
            ]
        )
    )  # fmt: skip
    assert read_stats(stats) == (35, 1, 90, {100: 10, 101: 25})


def test_the_traced_share_must_be_the_rate_within_chance():
    assert check_traced(1.0, 10_000, 100) is None
    assert check_traced(1.0, 10_000, 170) is None  # within 6 standard deviations and 0.2 points of slack
    assert check_traced(1.0, 10_000, 200) == "2.00% of the requests were traced, expected 1 %"
    assert check_traced(100.0, 1000, 1000) is None
    assert "expected 100 %" in check_traced(100.0, 1000, 990)
    assert "plain run" in check_traced(None, 1000, 1)
    assert check_traced(None, 0, 0) == "no request completed"


def test_coverage_traces_the_first_requests_on_top_of_the_rate():
    assert check_traced(1.0, 10_000, 101, always=1) is None
    assert check_traced(100.0, 1000, 1000, always=1) is None
    # at rate 0 only the coverage's first request is traced: without counting it, a wrong share
    assert check_traced(0.0, 50, 1, always=1) is None and check_traced(0.0, 50, 1) is not None
    assert check_traced(1.0, 10_000, 200, always=1) == (
        "2.00% of the requests were traced, expected 1 % and the first 1"
    )
    assert check_traced(1.0, 1, 1, always=5) is None, "no more forced than there were requests"
