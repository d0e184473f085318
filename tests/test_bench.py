"""The deterministic parts of ``make bench``: options, arithmetic, tables. No load is run here."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from bench import run as bench


def test_defaults_are_a_full_run_into_bench_results():
    settings = bench.parse_args([])
    assert (settings.run_time, settings.rounds, settings.users, settings.memory_users) == (12, 4, 20, 1000)
    assert settings.output == bench.RESULTS
    assert not settings.quick


def test_quick_is_short_and_writes_beside_the_published_results():
    settings = bench.parse_args(["--quick"])
    assert settings.run_time < 10 and settings.rounds == 1
    assert settings.output == bench.QUICK_RESULTS
    assert bench.parse_args(["--quick", "--rounds", "2"]).rounds == 2


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
        bench.parse_args(argv)
    assert stopped.value.code == 2
    assert message in capsys.readouterr().err


def test_output_must_be_a_folder(tmp_path, capsys):
    file = tmp_path / "results.md"
    file.write_text("")
    with pytest.raises(SystemExit):
        bench.parse_args(["--output", str(file)])
    assert "is not a folder" in capsys.readouterr().err


def test_every_configuration_and_pair_runs_once_a_round_in_alternating_order():
    order = list(bench.schedule(2))
    first = [item.key for round_no, item in order if round_no == 1]
    second = [item.key for round_no, item in order if round_no == 2]
    alone = [config.key for config in bench.CONFIGS if not config.headers_only]
    assert first == alone + [pair.key for pair in bench.PAIRS]
    assert second == first[::-1]
    assert {"http_plain", "http_1", "http_100", "fast_plain", "fast_1", "fast_100"} <= set(first)
    assert not {"http_headers", "fast_headers"} & set(alone), "the headers-only runs are only measured side by side"


def test_each_traced_configuration_runs_beside_its_plain_baseline_and_each_baseline_beside_itself():
    pairs = {(pair.base, pair.other) for pair in bench.PAIRS}
    assert pairs == {
        ("http_plain", "http_plain"),
        ("http_plain", "http_1"),
        ("http_plain", "http_100"),
        ("fast_plain", "fast_plain"),
        ("fast_plain", "fast_1"),
        ("fast_plain", "fast_100"),
        ("http_plain", "http_headers"),
        ("fast_plain", "fast_headers"),
    }
    assert bench.PAIR_BY_KEY["fast_100"].label == "FastHttpTidewaysUser at 100 beside plain FastHttpUser"
    assert bench.PAIR_BY_KEY["fast_headers"].label == (
        "plain FastHttpUser with the two headers as session headers beside plain FastHttpUser"
    )
    assert bench.PAIR_BY_KEY["http_aa"].label == "plain HttpUser beside itself"


def test_plain_configurations_never_import_the_runtime():
    for name in ("plain.py", "headers.py"):
        source = (bench.LOCUSTFILES / name).read_text()
        assert not re.search(r"^\s*(from|import) tideways", source, re.MULTILINE)
    for config in bench.CONFIGS:
        expected = "headers.py" if config.headers_only else "plain.py"
        assert (config.trace_rate is None) == (config.locustfile == expected)
        assert f"class {config.user_class}(" in (bench.LOCUSTFILES / config.locustfile).read_text()


def test_the_headers_only_runs_send_both_headers_and_are_checked_for_it(tmp_path):
    source = (bench.LOCUSTFILES / "headers.py").read_text()
    assert '"X-Tideways-Profiler"' in source and '"X-Tideways-Ref"' in source
    config = bench.CONFIG_BY_KEY["fast_headers"]
    assert config.trace_rate is None and config.expected_traced == 100.0
    target = bench.Target("http://127.0.0.1:8123", 8123, process=None)
    runner = bench.Bench(bench.parse_args(["--quick"]), Path("python"), tmp_path, tmp_path, target, bench.Children())
    command = runner.locust_command(config, 20, 5, tmp_path / "stats")
    assert "--tideways-trace-rate" not in command and command[-1] == "HeadersFastHttpUser"


def test_nginx_listens_on_loopback_only(tmp_path):
    config = bench.nginx_config(tmp_path, 8123)
    assert re.findall(r"^\s*listen\s+(\S+)", config, re.MULTILINE) == ["127.0.0.1:8123"]
    for directive in ("daemon off;", "worker_processes 1;", "access_log off;"):
        assert directive in config


def test_locust_only_ever_loads_loopback(tmp_path):
    target = bench.Target("http://192.168.1.5:80", 80, process=None)
    runner = bench.Bench(bench.parse_args(["--quick"]), Path("python"), tmp_path, tmp_path, target, bench.Children())
    with pytest.raises(bench.BenchError, match="only 127.0.0.1"):
        runner.locust_command(bench.CONFIG_BY_KEY["http_plain"], 1, 5, tmp_path / "stats")
    runner.target = bench.Target("http://127.0.0.1:8123", 8123, process=None)
    command = runner.locust_command(bench.CONFIG_BY_KEY["fast_100"], 20, 5, tmp_path / "stats")
    assert command[:3] == ["taskset", "-c", "0"]
    assert command[command.index("--host") + 1] == "http://127.0.0.1:8123"
    assert command[-3:] == ["--tideways-trace-rate", "100", "TracedFastHttpUser"]


def test_traced_requests_are_counted_from_the_bytes_nginx_sent():
    requests, traced = 1000, 10
    content = traced * len(bench.TRACED_BODY) + (requests - traced) * len(bench.PLAIN_BODY)
    assert bench.traced_count(requests, content) == traced
    assert bench.check_traced(1.0, requests, traced) is None
    assert bench.check_traced(100.0, requests, requests) is None
    assert "expected 100 %" in bench.check_traced(100.0, requests, 990)
    assert "plain run" in bench.check_traced(None, requests, 1)
    assert bench.check_traced(None, 0, 0) == "no request completed"


def _samples(seconds, foreign_on_locust_core=(), share=1.0):
    """One sample a second: Locust busy ``share`` of the time (ours: all of it), nginx a tenth, others where asked."""
    samples, others = [], 0.0
    for index, second in enumerate(seconds):
        if second - 1 in foreign_on_locust_core:
            others += 0.5
        samples.append(bench.Sample(second, index * share, index, index * 0.1, 0.0, index + others, index * 0.1))
    return samples


def test_requests_per_second_leave_out_the_warm_up_and_the_last_second():
    per_second = {100: 5, 101: 900, 102: 1000, 103: 1000, 104: 1000, 105: 1000, 106: 40}
    window = bench.measure_window(per_second, _samples(range(99, 108)), warmup=2)
    assert window["rps"] == 1000 and window["window_s"] == 4 and window["quiet_s"] == 4
    assert window["locust_cpu"] == pytest.approx(1.0)
    assert window["cpu_us_per_request"] == pytest.approx(1000.0)
    assert window["target_cpu"] == pytest.approx(0.1)
    assert not window["noisy"]
    assert bench.measure_window({100: 5, 101: 5}, [], warmup=2) is None


def test_a_pair_is_measured_over_the_seconds_both_sides_ran():
    per_second = {second: 500 for second in range(100, 112)}
    window = bench.measure_window(per_second, _samples(range(99, 114), share=0.5), warmup=2, bounds=(101, 110))
    assert window["window_s"] == 7 and window["quiet_s"] == 7  # the other half of the core is ours, not others'
    assert window["locust_cpu"] == pytest.approx(0.5)
    assert window["cpu_us_per_request"] == pytest.approx(1000.0)


def test_seconds_in_which_other_processes_took_the_core_are_left_out():
    per_second = {second: 1000 for second in range(100, 110)} | {104: 600, 105: 600}
    window = bench.measure_window(per_second, _samples(range(99, 112), foreign_on_locust_core={104, 105}), warmup=0)
    assert window["quiet_s"] == 7 and window["rps"] == 1000
    # too few quiet seconds: every second counts, and the run says it was noisy
    noisy = bench.measure_window(per_second, _samples(range(99, 112), set(range(100, 108))), warmup=0)
    assert noisy["noisy"] and noisy["rps"] == pytest.approx((7 * 1000 + 2 * 600) / 9)


def _run(config, round_no, rps=None, rss=0):
    return bench.Run(config, round_no, users=1, run_time=5, returncode=0, rps=rps, peak_rss_kib=rss)


def _pair_run(key, round_no, base_rps, other_rps):
    """Both sides on half a core: CPU per request follows from requests/s."""
    pair = bench.PAIR_BY_KEY[key]
    base, other = _run(pair.base, round_no, base_rps), _run(pair.other, round_no, other_rps)
    base.cpu_us_per_request, other.cpu_us_per_request = 0.5e6 / base_rps, 0.5e6 / other_rps
    return bench.PairRun(key, round_no, base, other)


def _measured(round_ratios):
    runs, pair_runs = [], []
    for round_no, (plain, ratio_1, ratio_100) in enumerate(round_ratios, start=1):
        runs += [_run("http_plain", round_no, plain * 2), _run("http_1", round_no, plain * 1.9)]
        runs += [_run("mem_fast_plain", round_no, rss=100_000), _run("mem_fast_100", round_no, rss=104_000)]
        pair_runs += [_pair_run("http_aa", round_no, plain, plain * 1.001)]
        pair_runs += [_pair_run("http_1", round_no, plain, plain * ratio_1)]
        pair_runs += [_pair_run("http_100", round_no, plain, plain * ratio_100)]
        pair_runs += [_pair_run("http_headers", round_no, plain, plain * 0.97)]
    return runs, pair_runs


def test_goals_are_median_ratios_side_by_side_with_each_round_and_runs_alone_beside_them():
    runs, pair_runs = _measured([(1000.0, 0.995, 0.96), (1100.0, 0.993, 0.95), (900.0, 0.999, 0.97)])
    header = {"decision_100": {"best_us": 2.5, "median_us": 2.8}, "signer": {"best_us": 2.0}}
    pairs = bench.aggregate_pairs(pair_runs)
    rows = {row["key"]: row for row in bench.measure_goals(bench.aggregate(runs), header, runs, pairs)}
    assert rows["http_1"]["measured"] == pytest.approx(0.995) and rows["http_1"]["passed"]
    assert rows["http_1"]["rounds"] == pytest.approx([0.995, 0.993, 0.999])
    assert rows["http_1"]["alone"] == pytest.approx(0.95)
    assert rows["http_100"]["measured"] == pytest.approx(0.96) and rows["http_100"]["passed"] is False
    assert rows["fast_1"]["passed"] is None  # not run
    assert rows["header"]["measured"] == 2.5 and rows["header"]["passed"]
    assert rows["memory"]["measured"] == pytest.approx(1.04) and rows["memory"]["passed"]

    table = bench.goals_table(list(rows.values()))
    assert table.splitlines()[0] == "| measure | goal | measured | result | each round | runs alone |"
    assert (
        "| requests/s, HttpTidewaysUser at trace rate 1 / plain HttpUser | >= 0.99 | 0.995 | pass "
        "| 0.995, 0.993, 0.999 | 0.950 |"
    ) in table
    assert "| >= 0.97 | 0.960 | **MISSED** | 0.960, 0.950, 0.970 | - |" in table
    assert "| cost of one signed header | <= 5 µs | 2.50 µs | pass | - | - |" in table
    assert "| not measured |" in table

    analysis = bench.analysis(
        pairs, {"request_1": {"best_us": 0.5}, "request_100": {"best_us": 4.0}}, list(rows.values())
    )
    assert analysis[0].startswith("- resolution: plain HttpUser beside itself 1.001 to 1.001")
    assert any("HttpUser at 100" in line and "measured 0.960" in line for line in analysis)
    assert any("the headers alone" in line and "reaches 0.970 of plain HttpUser" in line for line in analysis)
    # at 100 every request pays the headers' 3 %, the runtime the remaining 1 %; at 1 the headers' 0.03 %
    assert any(line.startswith("- HttpUser at 100") and "headers account for 3.0%" in line
               and "code for about 1.0%" in line for line in analysis)  # fmt: skip
    assert any(line.startswith("- HttpUser at 1:") and "headers account for 0.0%" in line for line in analysis)


def test_the_header_goal_falls_back_to_the_signer_when_the_decision_path_is_gone():
    header = {"decision_100": {"error": "AttributeError: x"}, "signer": {"best_us": 6.0}}
    rows = {row["key"]: row for row in bench.measure_goals({}, header)}
    assert rows["header"]["measured"] == 6.0 and rows["header"]["passed"] is False


USER = "run (locust/user/users.py:174);request (tideways_locust/tracing.py:186)"
RAW_PROFILE = "\n".join(
    [
        f"{USER};request (locust/clients.py:200);recv (gevent/_socket3.py:10) 80",
        f"{USER};prepare (tideways_locust/tracing.py:150);header (tideways_locust/signing.py:71);"
        "digest (hmac.py:200) 15",
        f"{USER} 5",
        "Hub.run (gevent/hub.py:647) 100",
    ]
)


def test_profiles_count_only_the_runtimes_own_work():
    source = {module: [f"{module} line {n}" for n in range(1, 200)] for module in ("tracing.py", "signing.py")}
    summary = bench.summarize_profile(RAW_PROFILE, source)
    assert summary["samples"] == 200
    assert summary["wrapped_share"] == pytest.approx(0.4)  # Locust's request under the wrapper
    assert summary["runtime_share"] == pytest.approx(0.1)
    top = summary["lines"][0]
    assert (top["module"], top["function"], top["line"], top["code"], top["calls"]) == (
        "signing.py",
        "header",
        71,
        "signing.py line 71",
        "digest (hmac.py)",
    )
    assert top["share"] == pytest.approx(0.075)


def test_results_markdown_has_the_goals_the_runs_and_the_machine():
    runs = [_run("http_plain", 1, 1000.0, 50_000), _run("http_1", 1, 995.0, 50_100)]
    pair_runs = [_pair_run("http_1", 1, 500.0, 495.0)]
    configs, pairs = bench.aggregate(runs), bench.aggregate_pairs(pair_runs)
    header = {"decision_100": {"best_us": 2.5, "median_us": 2.8}, "decision_method": "prepare"}
    results = {
        "settings": bench.parse_args(["--quick"]).summary(),
        "machine": dict.fromkeys(
            ["cpu", "cores", "memory", "kernel", "python", "locust", "requests", "geventhttpclient", "gevent"], "x"
        )
        | {"nginx": "nginx version: nginx/1.22.1", "commit": "abc", "runtime_sha256": "123", "date": "today"}
        | {"loadavg": "0.1"},
        "goals": bench.measure_goals(configs, header, runs, pairs),
        "configs": configs,
        "pairs": pairs,
        "header_cost": header,
        "profiles": [],
        "analysis": [],
        "problems": ["plain HttpUser, round 1: 3 of 1000 requests failed"],
        "duration_s": 90,
    }
    text = bench.results_markdown(results)
    assert text.startswith("# Benchmark results (smoke run with --quick")
    assert "| plain HttpUser | 1 | 1,000 | 1,000 |" in text
    assert "| HttpTidewaysUser at 1 beside plain HttpUser | 0.990 | 0.990 | 500 / 495 |" in text
    assert "`_Tracer.prepare()` at trace rate 100" in text
    assert "nginx/1.22.1" in text and "![requests/s, ratios and header cost](chart.png)" in text
    assert "## Problems" in text and "3 of 1000 requests failed" in text


def test_the_api_import_benchmark_describes_as_many_operations_as_asked():
    from bench.api_import import document

    paths = document(2000)["paths"]
    methods = [m for item in paths.values() for m in item if m != "parameters"]
    assert len(methods) == 2000 and len(set(paths)) == 1000
