"""``make bench``'s options, its configurations, pairs and schedule. No load is run here."""

from __future__ import annotations

import json
import re

import pytest

from bench import configs, run, settings


def test_defaults_are_a_full_run_into_bench_results():
    full = settings.parse_args([])
    assert (full.run_time, full.rounds, full.users, full.memory_users) == (12, 4, 20, 1000)
    assert full.output == settings.RESULTS and full.alone and full.profile == "auto"
    assert not full.quick


def test_quick_is_one_short_round_of_the_pairs_without_profiles_beside_the_published_results():
    quick = settings.parse_args(["--quick"])
    assert quick.run_time == 6 and quick.rounds == 1 and not quick.alone and quick.profile == "never"
    assert quick.output == settings.QUICK_RESULTS
    assert settings.parse_args(["--quick", "--rounds", "2"]).rounds == 2
    assert settings.parse_args(["--quick", "--profile", "always"]).profile == "always"


def test_the_baseline_is_the_committed_full_run_unless_another_is_given(tmp_path, capsys):
    committed = settings.RESULTS / "results.json"
    assert settings.parse_args(["--quick"]).baseline == (committed if committed.is_file() else None)
    earlier = tmp_path / "results.json"
    earlier.write_text(json.dumps({"pairs": {}}))
    assert settings.parse_args(["--baseline", str(earlier)]).baseline == earlier
    with pytest.raises(SystemExit):
        settings.parse_args(["--baseline", str(tmp_path / "missing.json")])
    assert "missing.json is not a file" in capsys.readouterr().err


@pytest.mark.parametrize(
    ("argv", "message"),
    [
        (["--rounds", "0"], "--rounds: '0' is not allowed: rounds, a whole number from 1 to 20"),
        (["--run-time", "fast"], "--run-time: 'fast' is not allowed"),
        (["--users", "5000"], "--users: '5000' is not allowed"),
        (["--run-time", "5", "--warmup", "4"], "--warmup 4 leaves less than 3 seconds of a 5 s run"),
        (["--profile", "sometimes"], "--profile: invalid choice"),
        (["--host", "http://10.0.0.1"], "unrecognized arguments: --host"),
    ],
)
def test_bad_options_stop_with_one_clear_line(argv, message, capsys):
    with pytest.raises(SystemExit) as stopped:
        settings.parse_args(argv)
    assert stopped.value.code == 2
    assert message in capsys.readouterr().err


def test_output_must_be_a_folder(tmp_path, capsys):
    file = tmp_path / "results.md"
    file.write_text("")
    with pytest.raises(SystemExit):
        settings.parse_args(["--output", str(file)])
    assert "is not a folder" in capsys.readouterr().err


def test_every_configuration_and_pair_runs_once_a_round_in_alternating_order():
    order = list(run.schedule(settings.parse_args(["--rounds", "2"])))
    first = [item.key for round_no, item in order if round_no == 1]
    second = [item.key for round_no, item in order if round_no == 2]
    alone = [config.key for config in configs.CONFIGS if config.alone]
    assert first == alone + [pair.key for pair in configs.PAIRS]
    assert second == first[::-1]
    assert {"http_plain", "http_1", "http_100", "fast_plain", "fast_1", "fast_100"} <= set(first)
    only_beside = {"http_headers", "fast_headers", "http_bearer", "fast_bearer", "http_authorization"}
    only_beside |= {"http_coverage", "fast_coverage"}
    assert not only_beside & set(alone), "the header, login and coverage configurations are only measured side by side"
    assert {"http_coverage", "http_coverage_vs_1", "fast_coverage", "fast_coverage_vs_1"} <= set(first)


def test_quick_runs_alone_only_what_no_pair_measures_the_memory():
    order = [item.key for _, item in run.schedule(settings.parse_args(["--quick"]))]
    assert order == ["mem_http_plain", "mem_http_100", "mem_fast_plain", "mem_fast_100"] + [
        pair.key for pair in configs.PAIRS
    ]


def test_each_configuration_runs_beside_its_plain_baseline_and_each_baseline_beside_itself():
    pairs = {(pair.base, pair.other) for pair in configs.PAIRS}
    for client in ("http", "fast"):
        plain = f"{client}_plain"
        assert {(plain, plain), (plain, f"{client}_1"), (plain, f"{client}_100"), (plain, f"{client}_headers"),
                (plain, f"{client}_bearer"), (plain, f"{client}_authorization"),
                (plain, f"{client}_coverage")} <= pairs  # fmt: skip
        # coverage and budget beside today's sampler at the same rate: the direct comparison
        assert (f"{client}_1", f"{client}_coverage") in pairs
    assert len(pairs) == 16
    labels = configs.PAIR_BY_KEY
    assert labels["fast_100"].label == "FastHttpTidewaysUser at 100 beside plain FastHttpUser"
    assert labels["fast_headers"].label == (
        "plain FastHttpUser with the two headers as session headers beside plain FastHttpUser"
    )
    assert labels["http_bearer"].label == "HttpTidewaysUser at 1 with --app-login bearer beside plain HttpUser"
    assert labels["http_aa"].label == "plain HttpUser beside itself"
    assert labels["fast_coverage"].label == (
        "FastHttpTidewaysUser at 1 with coverage 1 and budget beside plain FastHttpUser"
    )
    assert labels["http_coverage_vs_1"].label == (
        "HttpTidewaysUser at 1 with coverage 1 and budget beside HttpTidewaysUser at 1"
    )


def test_the_coverage_configurations_are_rate_1_with_coverage_1_and_a_budget_never_reached():
    for client in ("http", "fast"):
        today, coverage = configs.CONFIG_BY_KEY[f"{client}_1"], configs.CONFIG_BY_KEY[f"{client}_coverage"]
        assert (coverage.trace_rate, coverage.trace_coverage, coverage.trace_budget) == (1.0, 1, 60_000)
        assert (today.trace_coverage, today.trace_budget) == (0, 0), "today's sampler: no coverage, no budget"
        # the same user class and locustfile: the two differ only in the options
        assert (coverage.user_class, coverage.locustfile) == (today.user_class, today.locustfile)
        assert not coverage.alone
    # rate 1 of the fastest run alone (about 3,300 requests/s) traces some 2,000 a minute: far from the budget
    traced_a_minute = 3_300 * 60 // 100
    assert traced_a_minute * 10 < configs.BUDGET


def test_plain_configurations_never_import_the_runtime():
    for name in ("plain.py", "headers.py"):
        source = (settings.LOCUSTFILES / name).read_text()
        assert not re.search(r"^\s*(from|import) tideways", source, re.MULTILINE)
    for config in configs.CONFIGS:
        assert (config.trace_rate is None) == (config.locustfile in ("plain.py", "headers.py"))
        assert f"class {config.user_class}(" in (settings.LOCUSTFILES / config.locustfile).read_text()


def test_which_share_of_each_configuration_nginx_must_see_traced():
    expected = {key: config.expected_traced for key, config in configs.CONFIG_BY_KEY.items()}
    assert expected["http_plain"] is None and expected["http_authorization"] is None
    assert expected["fast_headers"] == 100.0 and expected["fast_bearer"] == 1.0 and expected["mem_http_100"] == 100.0
    assert expected["http_coverage"] == 1.0
    # coverage 1 traces the first request of each endpoint whatever the rate: one more, traced.py has one
    always = {key: config.always_traced for key, config in configs.CONFIG_BY_KEY.items() if config.always_traced}
    assert always == {"http_coverage": 1, "fast_coverage": 1}
    source = (settings.LOCUSTFILES / "traced.py").read_text()
    assert re.findall(r"self\.client\.\w+\(([^)]*)\)", source) == ['"/"'] * 2, "one endpoint a user class"


def test_the_coverage_goals_are_within_half_a_point_of_todays_sampler_side_by_side():
    goals = {goal.key: goal for goal in configs.GOALS}
    for client in ("http", "fast"):
        goal = goals[f"{client}_coverage_vs_1"]
        pair = configs.PAIR_BY_KEY[goal.key]  # a goal named after a pair reads that pair's ratio
        assert (pair.base, pair.other) == (f"{client}_1", f"{client}_coverage")
        assert goal.text() == ">= 0.995" and goal.met(0.995) and not goal.met(0.994)
    assert [goal.key for goal in configs.GOALS if goal.key in configs.PAIR_BY_KEY] == [
        "http_1", "http_100", "fast_1", "fast_100", "http_coverage_vs_1", "fast_coverage_vs_1",
    ]  # fmt: skip


def test_goals_are_met_by_their_side_of_the_bound_and_unknown_without_a_figure():
    goal = configs.Goal("x", "ratio", ">=", 0.99)
    assert goal.met(0.99) and not goal.met(0.989) and goal.met(None) is None and goal.met(float("nan")) is None
    cost = configs.Goal("y", "cost", "<=", 5.0, " µs")
    assert cost.text() == "<= 5 µs" and cost.met(5.0) and not cost.met(5.01)
