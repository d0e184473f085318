"""``make bench``'s figures: medians over rounds, ratios, the goals' verdicts, the comparison with earlier results."""

from __future__ import annotations

import pytest

from bench import stats
from bench.configs import PAIR_BY_KEY
from bench.measuring import PairRun, Run


def run(config, round_no, rps=None, rss=0):
    return Run(config, round_no, users=1, run_time=5, returncode=0, rps=rps, peak_rss_kib=rss)


def pair_run(key, round_no, base_rps, other_rps):
    """Both sides on half a core: CPU per request follows from requests/s."""
    pair = PAIR_BY_KEY[key]
    base, other = run(pair.base, round_no, base_rps), run(pair.other, round_no, other_rps)
    base.cpu_us_per_request, other.cpu_us_per_request = 0.5e6 / base_rps, 0.5e6 / other_rps
    return PairRun(key, round_no, base, other)


def measured(round_ratios):
    """Runs alone and pairs of several rounds: (plain requests/s, ratio at 1, ratio at 100) a round."""
    runs, pair_runs = [], []
    for round_no, (plain, ratio_1, ratio_100) in enumerate(round_ratios, start=1):
        runs += [run("http_plain", round_no, plain * 2), run("http_1", round_no, plain * 1.9)]
        runs += [run("mem_fast_plain", round_no, rss=100_000), run("mem_fast_100", round_no, rss=104_000)]
        pair_runs += [pair_run("http_aa", round_no, plain, plain * 1.001)]
        pair_runs += [pair_run("http_1", round_no, plain, plain * ratio_1)]
        pair_runs += [pair_run("http_100", round_no, plain, plain * ratio_100)]
        pair_runs += [pair_run("http_headers", round_no, plain, plain * 0.97)]
    return runs, pair_runs


ROUNDS = [(1000.0, 0.995, 0.96), (1100.0, 0.993, 0.95), (900.0, 0.999, 0.97)]
HEADER = {"decision_100": {"best_us": 2.5, "median_us": 2.8}, "signer": {"best_us": 2.0}}


def test_medians_leave_out_what_was_not_measured():
    assert stats.median_or_none([3.0, None, 1.0, 2.0]) == 2.0
    assert stats.median_or_none([None]) is None and stats.median_or_none([]) is None


def test_configurations_are_the_median_of_their_rounds_and_the_sum_of_their_requests():
    runs = [run("http_plain", 1, 900.0), run("http_plain", 2, 1100.0), run("http_plain", 3, 1000.0)]
    for number, one in enumerate(runs):
        one.requests, one.traced, one.quiet_s, one.window_s = 100, 0, number, 5
    data = stats.aggregate(runs)["http_plain"]
    assert data["rps"] == 1000.0 and data["rps_rounds"] == [900.0, 1100.0, 1000.0]
    assert (data["requests"], data["quiet_s"], data["window_s"]) == (300, 3, 15)
    assert data["foreign_load"] is None and data["label"] == "plain HttpUser"


def test_ratios_within_each_round_pair_runs_of_the_same_round():
    runs = [run("a", 1, 100.0), run("b", 1, 90.0), run("a", 2, 200.0), run("b", 2, 190.0), run("a", 3, 50.0)]
    assert stats.round_ratios(runs, "b", "a", "rps") == pytest.approx([0.9, 0.95])


def test_goals_are_median_ratios_side_by_side_with_each_round_and_runs_alone_beside_them():
    runs, pair_runs = measured(ROUNDS)
    pairs = stats.aggregate_pairs(pair_runs)
    rows = {row["key"]: row for row in stats.measure_goals(stats.aggregate(runs), HEADER, runs, pairs)}
    assert rows["http_1"]["measured"] == pytest.approx(0.995) and rows["http_1"]["passed"]
    assert rows["http_1"]["rounds"] == pytest.approx([0.995, 0.993, 0.999])
    assert rows["http_1"]["alone"] == pytest.approx(0.95)
    assert rows["http_100"]["measured"] == pytest.approx(0.96) and rows["http_100"]["passed"] is False
    assert rows["fast_1"]["passed"] is None  # not run
    assert rows["header"]["measured"] == 2.5 and rows["header"]["passed"]
    assert rows["memory"]["measured"] == pytest.approx(1.04) and rows["memory"]["passed"]
    assert rows["memory"]["rounds"] == pytest.approx([1.04] * 3)


def test_the_coverage_goal_reads_coverage_and_budget_beside_todays_sampler_not_beside_plain():
    pair_runs = [pair_run("http_coverage_vs_1", n, 1000, other) for n, other in enumerate((997, 993, 996), start=1)]
    pair_runs += [pair_run("http_coverage", 1, 1000, 980), pair_run("http_1", 1, 1000, 985)]
    pair_runs += [pair_run("fast_coverage_vs_1", 1, 1000, 990)]
    pairs = stats.aggregate_pairs(pair_runs)
    assert pairs["http_coverage_vs_1"]["base"] == "http_1" and pairs["http_coverage_vs_1"]["other"] == "http_coverage"
    rows = {row["key"]: row for row in stats.measure_goals({}, HEADER, [], pairs)}
    http, fast = rows["http_coverage_vs_1"], rows["fast_coverage_vs_1"]
    assert http["measured"] == pytest.approx(0.996) and http["passed"] and http["goal"] == ">= 0.995"
    assert http["rounds"] == pytest.approx([0.997, 0.993, 0.996])
    assert http["alone"] is None, "the coverage configurations only run side by side"
    assert fast["measured"] == pytest.approx(0.99) and fast["passed"] is False
    assert stats.measure_goals({}, HEADER)[4]["passed"] is None  # not run: not measured
    # the runs alone, were there any, would be divided the same way: coverage over rate 1
    configs = {"http_1": {"rps": 1000.0}, "http_coverage": {"rps": 990.0}}
    assert stats.measure_goals(configs, HEADER, [], pairs)[4]["alone"] == pytest.approx(0.99)


def test_the_header_goal_falls_back_to_the_signer_when_the_decision_path_is_gone():
    header = {"decision_100": {"error": "AttributeError: x"}, "signer": {"best_us": 6.0}}
    rows = {row["key"]: row for row in stats.measure_goals({}, header)}
    assert rows["header"]["measured"] == 6.0 and rows["header"]["passed"] is False


def test_the_resolution_is_the_farthest_a_configuration_beside_itself_came_from_one():
    pairs = stats.aggregate_pairs([pair_run("http_aa", 1, 1000, 1008), pair_run("fast_aa", 1, 1000, 989)])
    assert stats.resolution(pairs) == pytest.approx(0.011)
    assert stats.resolution({}) is None


def test_a_change_is_only_a_change_past_this_runs_resolution():
    _, pair_runs = measured(ROUNDS)
    pair_runs.append(pair_run("http_aa", 4, 1000, 1010))  # the A/A ratios: 1.001 three times, then 1.010
    pairs = stats.aggregate_pairs(pair_runs)
    baseline = {
        "pairs": {"http_1": {"ratio": 0.990}, "http_100": {"ratio": 0.930}, "http_aa": {"ratio": 1.0}},
        "machine": {"date": "2026-11-28 00:23 UTC", "commit": "b1576e0"},
        "settings": {"quick": False},
    }
    comparison = stats.compare(baseline, pairs, [], "bench/results/results.json")
    rows = {row["pair"]: row for row in comparison["rows"]}
    assert comparison["resolution"] == pytest.approx(0.010) and comparison["commit"] == "b1576e0"
    assert "http_aa" not in rows, "the control is the yardstick, not a result"
    assert rows["http_1"]["change"] == pytest.approx(0.005) and rows["http_1"]["verdict"] == "within the A/A spread"
    assert rows["http_100"]["change"] == pytest.approx(0.03) and rows["http_100"]["verdict"] == "outside the A/A spread"
    assert rows["http_headers"]["before"] is None and rows["http_headers"]["verdict"] == "new"
    without_control = stats.compare(baseline, {"http_1": pairs["http_1"]}, [], "x")
    assert without_control["rows"][0]["verdict"] == "no A/A to tell"


def memory_goal(measured, rounds):
    return {"key": "memory", "measure": "memory of a 1,000-user run with tracing / without", "measured": measured,
            "rounds": rounds}  # fmt: skip


def test_memory_is_compared_against_the_spread_of_its_rounds():
    before = {"goals": [memory_goal(1.042, [1.038, 1.043, 1.042, 1.042])]}
    grown = stats.compare(before, {}, [memory_goal(1.086, [1.084, 1.085, 1.090, 1.085])], "x")["rows"]
    assert grown == [{"pair": "memory", "label": "memory of a 1,000-user run with tracing / without",
                      "before": 1.042, "now": 1.086, "change": pytest.approx(0.044),
                      "verdict": "outside the rounds' spread"}]  # fmt: skip
    one_round = stats.compare(before, {}, [memory_goal(1.044, [1.044])], "x")["rows"][0]
    assert one_round["verdict"] == "within the rounds' spread", "the baseline's rounds are the yardstick then"
    assert stats.compare({}, {}, [memory_goal(1.04, [1.04])], "x")["rows"][0]["verdict"] == "new"
    assert stats.compare(before, {}, [memory_goal(None, [])], "x")["rows"] == []
