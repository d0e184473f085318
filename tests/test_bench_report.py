"""``make bench``'s results as people read them: tables, what the figures say, results.md and the chart."""

from __future__ import annotations

import pytest

from bench import report, settings, stats
from bench.chart import write_chart
from tests.test_bench_stats import HEADER, ROUNDS, measured, pair_run, run

VERSIONS = ["cpu", "cores", "memory", "kernel", "python", "locust", "requests", "geventhttpclient", "gevent"]
MACHINE = dict.fromkeys(VERSIONS, "x") | {"nginx": "nginx version: nginx/1.22.1", "commit": "abc"}
MACHINE |= {"runtime_sha256": "123", "date": "today", "loadavg": "0.1"}


def test_a_table_has_its_head_its_alignment_and_a_row_each():
    assert report.table(["a", "b"], ["---", "---:"], [["1", "2"], ["3", "4"]]).splitlines() == [
        "| a | b |",
        "| --- | ---: |",
        "| 1 | 2 |",
        "| 3 | 4 |",
    ]


def test_the_goals_table_says_each_verdict_with_each_round_and_the_runs_alone():
    runs, pair_runs = measured(ROUNDS)
    rows = stats.measure_goals(stats.aggregate(runs), HEADER, runs, stats.aggregate_pairs(pair_runs))
    table = report.goals_table(rows)
    assert table.splitlines()[0] == "| measure | goal | measured | result | each round | runs alone |"
    assert (
        "| requests/s, HttpTidewaysUser at trace rate 1 / plain HttpUser | >= 0.99 | 0.995 | pass "
        "| 0.995, 0.993, 0.999 | 0.950 |"
    ) in table
    assert "| >= 0.97 | 0.960 | **MISSED** | 0.960, 0.950, 0.970 | - |" in table
    assert "| cost of one signed header | <= 5 µs | 2.50 µs | pass | - | - |" in table
    assert "| not measured |" in table
    assert (
        "| requests/s, FastHttpTidewaysUser at 1 with coverage and budget / at 1 without them | >= 0.995 | n/a "
        "| not measured | - | - |"
    ) in table


def test_the_analysis_splits_the_cost_into_the_headers_and_the_runtimes_code():
    runs, pair_runs = measured(ROUNDS)
    pairs = stats.aggregate_pairs(pair_runs)
    rows = stats.measure_goals(stats.aggregate(runs), HEADER, runs, pairs)
    lines = report.analysis(pairs, {"request_1": {"best_us": 0.5}, "request_100": {"best_us": 4.0}}, rows)
    assert lines[0].startswith("- resolution: plain HttpUser beside itself 1.001 to 1.001")
    assert any("HttpUser at 100" in line and "measured 0.960" in line for line in lines)
    assert any("the headers alone" in line and "reaches 0.970 of plain HttpUser" in line for line in lines)
    # at 100 every request pays the headers' 3 %, the runtime the remaining 1 %; at 1 the headers' 0.03 %
    assert any(line.startswith("- HttpUser at 100") and "headers account for 3.0%" in line
               and "code for about 1.0%" in line for line in lines)  # fmt: skip
    assert any(line.startswith("- HttpUser at 1:") and "headers account for 0.0%" in line for line in lines)
    assert lines[-1].startswith("- missed: requests/s, HttpTidewaysUser at trace rate 100")


def test_a_bearer_login_is_split_into_its_header_tracing_at_one_and_its_own_code():
    pairs = stats.aggregate_pairs(
        [pair_run("fast_bearer", 1, 1000, 970), pair_run("fast_authorization", 1, 1000, 990),
         pair_run("fast_1", 1, 1000, 995)]
    )  # fmt: skip
    [line] = [line for line in report.analysis(pairs, {}, []) if "bearer" in line]
    assert "0.970 of plain FastHttpUser" in line and "reaches 0.990: 1.0% is what one more header costs" in line
    assert "Traced at 1 without a login: 0.995" in line and "about 1.5%, is the login's own code" in line
    notes = report.remaining_cost({}, pairs, {})
    assert any(note.startswith("- FastHttpTidewaysUser at 1 logged in with a bearer token: 0.970") for note in notes)


def test_coverage_and_budget_are_read_beside_todays_sampler_and_beside_plain():
    pairs = stats.aggregate_pairs(
        [pair_run("http_coverage_vs_1", 1, 1000, 996), pair_run("http_coverage", 1, 1000, 981),
         pair_run("http_1", 1, 1000, 985)]
    )  # fmt: skip
    [line] = [line for line in report.analysis(pairs, {}, []) if "coverage" in line]
    assert line.startswith("- HttpTidewaysUser at 1 with `--tideways-trace-coverage 1 --tideways-trace-budget 60000`")
    assert "0.996 of HttpTidewaysUser at 1 without them, side by side (goal >= 0.995)" in line
    assert "CPU per request 500.0 -> 502.0 µs (+2.0 µs)" in line
    assert "Beside plain HttpUser: 0.981 with them, 0.985 without" in line
    notes = report.remaining_cost({}, pairs, {})
    assert any(note.startswith("- HttpTidewaysUser at 1 with coverage and budget: 0.981 of plain") for note in notes)
    assert not [line for line in report.analysis({}, {}, []) if "coverage" in line]


def test_a_profile_beside_todays_sampler_does_not_call_its_baseline_plain():
    profile = {"pair": "fast_coverage_vs_1", "base_us": 300.0, "other_us": 301.5, "runtime_share": 0.02,
               "samples": 1000, "wrapped_share": 0.5, "lines": [], "growth": [], "own_growth": []}  # fmt: skip
    text = "\n".join(report.profile_section([profile]))
    assert "### FastHttpTidewaysUser at 1 with coverage 1 and budget beside FastHttpTidewaysUser at 1" in text
    assert "300.0 µs baseline, 301.5 µs other (+1.5 µs)" in text and "beside the baseline" in text
    assert "plain" not in text
    plain = "\n".join(report.profile_section([profile | {"pair": "fast_1"}]))
    assert "300.0 µs plain, 301.5 µs traced" in plain and "| plain µs/request | traced µs/request |" in plain


def test_the_comparison_names_the_earlier_run_and_what_its_yardstick_is():
    pairs = stats.aggregate_pairs([pair_run("http_aa", 1, 1000, 1004), pair_run("http_1", 1, 1000, 990)])
    baseline = {"pairs": {"http_1": {"ratio": 0.993}}, "machine": {"date": "then", "commit": "b1576e0"},
                "settings": {"quick": False}}  # fmt: skip
    text = "\n".join(report.comparison_table(stats.compare(baseline, pairs, [], "bench/results/results.json")))
    assert "Against `bench/results/results.json` (a full run of then, commit b1576e0)" in text
    assert "within 0.004 of 1" in text
    assert "| HttpTidewaysUser at 1 beside plain HttpUser | 0.993 | 0.990 | -0.003 | within the A/A spread |" in text


def results(quick=True):
    runs = [run("http_plain", 1, 1000.0, 50_000), run("http_1", 1, 995.0, 50_100)]
    pair_runs = [pair_run("http_1", 1, 500.0, 495.0), pair_run("http_aa", 1, 500.0, 501.0)]
    pair_runs += [pair_run("http_coverage", 1, 500.0, 494.0), pair_run("http_coverage_vs_1", 1, 500.0, 499.0)]
    configs, pairs = stats.aggregate(runs), stats.aggregate_pairs(pair_runs)
    header = {"decision_100": {"best_us": 2.5, "median_us": 2.8}, "decision_method": "prepare"}
    return {
        "settings": settings.parse_args(["--quick"] if quick else []).summary(),
        "machine": MACHINE,
        "goals": stats.measure_goals(configs, header, runs, pairs),
        "configs": configs,
        "pairs": pairs,
        "comparison": stats.compare({"pairs": {"http_1": {"ratio": 0.99}}}, pairs, [], "earlier.json"),
        "header_cost": header,
        "profiles": [],
        "analysis": ["- a finding"],
        "problems": ["plain HttpUser, round 1: 3 of 1000 requests failed"],
        "duration_s": 90,
    }


def test_results_markdown_has_the_goals_the_runs_the_comparison_and_the_machine():
    text = report.results_markdown(results())
    assert text.startswith("# Benchmark results (--quick: a developer's check, not for publishing)")
    assert "| plain HttpUser | 1 | 1,000 | 1,000 |" in text
    assert "| HttpTidewaysUser at 1 beside plain HttpUser | 0.990 | 0.990 | 500 / 495 |" in text
    assert "| HttpTidewaysUser at 1 with coverage 1 and budget beside HttpTidewaysUser at 1 | 0.998 |" in text
    assert "/ at 1 without them | >= 0.995 | 0.998 | pass | 0.998 | - |" in text
    assert "## Against the previous results" in text and "Only the memory runs ran alone (--quick)." in text
    assert "`_Tracer.prepare()` at trace rate 100" in text
    assert "nginx/1.22.1" in text and "![requests/s, ratios and header cost](chart.png)" in text
    assert "## Why\n\n- a finding" in text
    assert "## Problems" in text and "3 of 1000 requests failed" in text
    full = report.results_markdown(results(quick=False))
    assert full.startswith("# Benchmark results\n") and "Only the memory runs" not in full


def test_the_chart_is_drawn_from_the_same_results(tmp_path):
    pytest.importorskip("matplotlib")
    write_chart(results(), tmp_path / "chart.png")
    assert (tmp_path / "chart.png").read_bytes().startswith(b"\x89PNG")
