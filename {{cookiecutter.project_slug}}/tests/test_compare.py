"""``python -m tideways_locust.compare``: its statistics, verdicts and refusals, then real runs.

The real runs load the checking target with ``tests/locustfiles/compare.py``: the
same target twice flags nothing (A/A, in repeated pairs); one endpoint made 30 %
slower (the target's ``--delay``) is flagged, and no other, on both sides, with
the slowed transaction's traces fetched from the API stand-in for each run's window.
"""

from __future__ import annotations

import json
import random
import subprocess
import sys
from pathlib import Path

import pytest
from locust.stats import calculate_response_time_percentile

from tests.conftest import API_KEY, LOCUSTFILES, ROOT, free_port, locust_env, run_locust
from tideways_locust.compare import runs
from tideways_locust.compare.options import Tolerance, parse_endpoint_tolerances, parse_tolerance
from tideways_locust.compare.render import html, markdown
from tideways_locust.compare.stats import Histogram, failures_rose, minimum_requests
from tideways_locust.compare.verdicts import NOT_ENOUGH, REGRESSION, UNCHANGED, Judge, compare

PROJECT = "acme/shop"
COMPARE_FILES = {"tideways-compare.md", "tideways-compare.json", "tideways-compare.html"}
JUDGE = Judge(Tolerance(10, 20), {}, 1.0)

# -- statistics -----------------------------------------------------------------------------------


def test_percentiles_are_locusts_own():
    rng = random.Random(7)
    for _ in range(200):
        counts = {rng.choice([1, 5, 12, 40, 99, 110, 250, 1300]): rng.randint(1, 50) for _ in range(rng.randint(1, 8))}
        histogram = Histogram({str(ms): n for ms, n in counts.items()})
        for p in (0.5, 0.95, 0.99):
            assert histogram.percentile(p) == calculate_response_time_percentile(counts, histogram.count, p), counts


def test_the_p95_interval_covers_the_true_p95_about_95_times_in_100():
    rng = random.Random(11)
    true_p95 = 300.0  # of the uniform distribution on 0..315.79 ms, to 0.01 ms
    top = true_p95 / 0.95
    covered = 0
    for _ in range(400):
        counts: dict[int, int] = {}
        for _ in range(500):
            ms = round(rng.uniform(0, top), 2)
            counts[ms] = counts.get(ms, 0) + 1
        low, high = Histogram(counts).interval(0.95)
        covered += low <= true_p95 <= high
    assert 0.91 <= covered / 400 <= 0.99, covered


def test_too_few_requests_cannot_bound_a_p95():
    assert minimum_requests(0.95) == 110
    assert Histogram({"10": 109}).interval(0.95) is None
    assert Histogram({"10": 110}).interval(0.95) == (10.0, 10.0)
    assert Histogram({}).percentile(0.95) is None


def test_a_failure_rate_rises_past_chance_only_with_enough_requests():
    assert failures_rose(0, 1000, 40, 1000)
    assert not failures_rose(0, 20, 1, 20)
    assert not failures_rose(10, 1000, 10, 1000)


# -- tolerances -----------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "percent", "ms"), [("10%+20ms", 10, 20), ("15%", 15, 0), ("50ms", 0, 50), (" 2.5 % + 0.5 ms ", 2.5, 0.5)]
)
def test_a_tolerance_is_percent_and_milliseconds(text, percent, ms):
    assert parse_tolerance(text) == Tolerance(percent, ms)


@pytest.mark.parametrize("text", ["", "fast", "10", "10%+", "+20ms", "-5%", "10%20ms", "5000%"])
def test_a_bad_tolerance_is_refused_naming_it_and_the_form(text):
    with pytest.raises(Exception, match=r"is not allowed: give PERCENT%\+MSms") as error:
        parse_tolerance(text)
    assert repr(text) in str(error.value)


def test_endpoint_tolerances_name_endpoints_or_transactions():
    found = parse_endpoint_tolerances("GET /search=30%+100ms; /checkout=20% ;")
    assert found == {"GET /search": Tolerance(30, 100), "/checkout": Tolerance(20, 0)}
    with pytest.raises(Exception, match="/checkout: 'slow' is not allowed"):
        parse_endpoint_tolerances("/checkout=slow")
    with pytest.raises(Exception, match="'no-equals' is not allowed: give ENDPOINT=TOLERANCE"):
        parse_endpoint_tolerances("no-equals")


def test_slower_counts_only_past_both_parts_of_the_tolerance():
    tolerance = Tolerance(10, 20)
    assert not tolerance.exceeded(100, 115)  # +15 %, but only 15 ms
    assert not tolerance.exceeded(1000, 1050)  # 50 ms, but only +5 %
    assert tolerance.exceeded(100, 130)


# -- verdicts on made-up runs ---------------------------------------------------------------------


def endpoint(name: str, histogram: dict, failures: int = 0, method: str = "GET", messages: dict | None = None) -> dict:
    requests = sum(histogram.values()) + failures
    return {
        "method": method,
        "name": name,
        "requests": requests,
        "failures": failures,
        "histogram": {str(ms): n for ms, n in histogram.items()},
        "failures_by_message": messages or {},
        "rps": None,
    }


def run_data(endpoints: list[dict], run_id: str = "run-a", **settings) -> dict:
    total = {}
    for e in endpoints:
        for ms, n in e["histogram"].items():
            total[ms] = total.get(ms, 0) + n
    return {
        "format": 1,
        "run_id": run_id,
        "start": "2026-12-01T10:00:00+00:00",
        "end": "2026-12-01T10:01:00+00:00",
        "seconds": 60.0,
        "host": "http://127.0.0.1:8080",
        "tideways": {"project": PROJECT, "environment": "production", "ref_mode": "run", "traces_link": None},
        "settings": {
            **dict(host="http://127.0.0.1:8080", users=10, spawn_rate=2, run_time_s=60, login="none", tags=[]),
            **dict(user_classes=[{"name": "Shop", "tasks": {"home": 1}}], exclude_tags=[], trace_rate=1.0),
            **dict(ref_mode="run", locust="2.43.0", runtime="abc", workers=None),
            **settings,
        },
        "tolerance": {"p95": "10%+20ms", "endpoints": {}, "fail_points": 1.0},
        "endpoints": endpoints,
        "total": {
            "method": "",
            "name": "Aggregated",
            "requests": sum(e["requests"] for e in endpoints),
            "failures": sum(e["failures"] for e in endpoints),
            "histogram": total,
            "rps": None,
        },
        "minutes": [{"minute": "2026-12-01 10:00", "requests": 1, "failures": 0, "p95_ms": 100, "endpoints": {}}],
    }


def a_run(tmp_path: Path, name: str, data: dict) -> runs.Run | None:
    """The run file of ``data`` in ``tmp_path / name``, loaded when it is of this version."""
    folder = tmp_path / name
    folder.mkdir(parents=True, exist_ok=True)
    (folder / "tideways-run.json").write_text(json.dumps(data))
    return runs.load(folder, name) if "settings" in data else None


SHOP = {"/": {20: 300, 25: 40}, "/products/{id}": {100: 280, 110: 40, 130: 10}, "/cart": {30: 150, 40: 20}}


def shop(slower: dict | None = None, **changes) -> list[dict]:
    slower = slower or {}
    return [
        endpoint(name, {round(ms * slower.get(name, 1)): n for ms, n in histogram.items()}, **changes.get(name, {}))
        for name, histogram in SHOP.items()
    ]


def test_the_same_figures_are_unchanged_everywhere(tmp_path):
    result = compare(a_run(tmp_path, "a", run_data(shop())), a_run(tmp_path, "b", run_data(shop())), JUDGE)
    assert {row["key"]: row["verdict"] for row in result["client"]["endpoints"]} == dict.fromkeys(
        ["GET /", "GET /products/{id}", "GET /cart"], UNCHANGED
    )
    assert result["regressions"] == [] and result["new_failures"] == [] and result["added"] == []


def test_one_endpoint_30_percent_slower_is_the_only_regression(tmp_path):
    before = a_run(tmp_path, "a", run_data(shop()))
    now = a_run(tmp_path, "b", run_data(shop({"/products/{id}": 1.3})))
    result = compare(before, now, JUDGE)
    verdicts = {row["key"]: row["verdict"] for row in result["client"]["endpoints"]}
    assert verdicts == {"GET /": UNCHANGED, "GET /products/{id}": REGRESSION, "GET /cart": UNCHANGED}
    (row,) = [r for r in result["client"]["endpoints"] if r["verdict"] == REGRESSION]
    assert row["change"]["p95_percent"] == 30.0 and row["reasons"][0].startswith("p95 110 ms to 143 ms (+30 %)")


def test_an_endpoint_tolerance_wins_over_the_default(tmp_path):
    before = a_run(tmp_path, "a", run_data(shop()))
    now = a_run(tmp_path, "b", run_data(shop({"/products/{id}": 1.3})))
    result = compare(before, now, Judge(Tolerance(10, 20), {"/products/{id}": Tolerance(50, 0)}, 1.0))
    assert result["regressions"] == []


def test_too_few_requests_is_not_enough_data_never_a_pass_or_a_fail(tmp_path):
    few = [endpoint("/rare", {100: 50})]
    slower = [endpoint("/rare", {300: 50})]
    result = compare(a_run(tmp_path, "a", run_data(few)), a_run(tmp_path, "b", run_data(slower)), JUDGE)
    assert result["client"]["endpoints"][0]["verdict"] == NOT_ENOUGH
    assert "fewer than 110 requests" in result["client"]["endpoints"][0]["reasons"][0]


def test_more_failures_new_messages_and_endpoints_are_named(tmp_path):
    before = run_data(shop(**{"/cart": {"failures": 1, "messages": {"HTTPError 500": 1}}}))
    after = shop(**{"/cart": {"failures": 40, "messages": {"HTTPError 500": 10, "ConnectionResetError": 30}}})
    after.append(endpoint("/new", {10: 200}, method="POST"))
    result = compare(a_run(tmp_path, "a", before), a_run(tmp_path, "b", run_data(after[1:])), JUDGE)
    cart = next(r for r in result["client"]["endpoints"] if r["key"] == "GET /cart")
    assert cart["verdict"] == REGRESSION and cart["reasons"][0].startswith("failures 0.585 % to 19.048 %")
    assert result["new_failures"] == [{"endpoint": "GET /cart", "message": "ConnectionResetError", "occurrences": 30}]
    assert result["added"] == ["POST /new"] and result["removed"] == ["GET /"]


def test_runs_that_asked_other_loads_differ_one_line_each(tmp_path):
    before = a_run(tmp_path, "a", run_data(shop()))
    now = a_run(tmp_path, "b", run_data(shop(), users=20, host="https://other.example", trace_rate=5.0))
    refused, noted = runs.differences(before, now)
    assert refused == [
        "host: baseline http://127.0.0.1:8080, this run https://other.example",
        "users: baseline 10, this run 20",
    ]
    assert noted == ["trace rate: baseline 1.0, this run 5.0"]


def test_coverage_and_budget_are_said_and_an_older_baseline_had_neither(tmp_path):
    before = a_run(tmp_path, "a", run_data(shop()))  # a run file of before coverage: no such settings
    now = a_run(tmp_path, "b", run_data(shop(), trace_coverage=1, trace_budget=30))
    refused, noted = runs.differences(before, now)
    assert refused == []
    assert noted == [
        "trace coverage (--tideways-trace-coverage): baseline 0, this run 1",
        "trace budget a minute (--tideways-trace-budget): baseline 0, this run 30",
    ]
    same = a_run(tmp_path, "c", run_data(shop(), trace_coverage=0, trace_budget=0))
    assert runs.differences(before, same) == ([], [])


def test_hostile_names_are_text_in_both_renderings(tmp_path):
    evil = "<img src=x onerror=alert(1)>|[x](javascript:alert(1))"
    before = a_run(tmp_path, "a", run_data([endpoint(evil, {10: 200})]))
    now = a_run(tmp_path, "b", run_data([endpoint(evil, {100: 200})]))
    result = compare(before, now, JUDGE)
    data = {"runs": {"baseline": before.as_dict(), "current": now.as_dict()}, "refused": [], "noted": [],
            "problems": [], "tolerance": {"p95": "10%+20ms", "endpoints": {}, "fail_points": 1.0}, **result,
            "server_missing": "none", "evidence": [], "charts": [], "api_calls": 0, "generated": "now"}  # fmt: skip
    page = html(data)
    assert "<img" not in page and "&lt;img src=x" in page and 'href="javascript' not in page
    text = markdown(data)
    assert "<img" not in text and "[x](javascript" not in text and "\\|" in text


# -- the command ----------------------------------------------------------------------------------


def compare_command(cwd: Path, *args: str, **env: str) -> subprocess.CompletedProcess:
    return subprocess.run(
        [sys.executable, "-m", "tideways_locust.compare", *args],
        cwd=cwd,
        env=locust_env(**env),
        capture_output=True,
        text=True,
        timeout=60,
    )


def test_no_baseline_is_refused_or_with_missing_ok_passes_with_one_line(tmp_path):
    a_run(tmp_path, "reports", run_data(shop()))
    refused = compare_command(tmp_path, "--baseline", "nowhere")
    assert refused.returncode == 2
    assert "--baseline: no run file at nowhere: give a run file or a folder" in refused.stderr
    passed = compare_command(tmp_path, "--baseline", "nowhere", "--missing-ok")
    assert passed.returncode == 0, passed.stderr
    assert passed.stdout == "No baseline at nowhere: nothing to compare with, this run passes.\n"
    assert not (tmp_path / "reports" / "tideways-compare.md").exists()


def test_runs_that_are_not_comparable_are_refused_one_line_each_and_nothing_is_written(tmp_path):
    a_run(tmp_path, "baseline", run_data(shop()))
    a_run(tmp_path, "reports", run_data(shop(), users=20, login="form"))
    refused = compare_command(tmp_path, "--baseline", "baseline")
    assert refused.returncode == 2
    lines = refused.stderr.splitlines()
    assert lines[:2] == [
        "tideways compare: not comparable: users: baseline 10, this run 20",
        "tideways compare: not comparable: login: baseline none, this run form",
    ]
    assert "--force" in lines[2] and len(lines) == 3
    assert {p.name for p in (tmp_path / "reports").iterdir()} == {"tideways-run.json"}
    forced = compare_command(tmp_path, "--baseline", "baseline", "--force")
    assert forced.returncode == 0, forced.stderr
    assert "**Not comparable** (compared anyway, --force)" in (tmp_path / "reports" / "tideways-compare.md").read_text()


def test_a_run_file_without_histograms_is_refused(tmp_path):
    old = run_data(shop())
    del old["settings"]
    a_run(tmp_path, "baseline", old)
    a_run(tmp_path, "reports", run_data(shop()))
    result = compare_command(tmp_path, "--baseline", "baseline")
    assert result.returncode == 2 and "written by an older tideways_locust" in result.stderr


def test_a_regression_exits_4_writes_three_files_and_the_job_summary(tmp_path):
    a_run(tmp_path, "baseline", run_data(shop()))
    a_run(tmp_path, "reports", run_data(shop({"/products/{id}": 1.3})))
    summary = tmp_path / "summary.md"
    result = compare_command(tmp_path, "--baseline", "baseline/tideways-run.json", GITHUB_STEP_SUMMARY=str(summary))
    assert result.returncode == 4, result.stderr
    assert result.stdout.splitlines()[:2] == [
        "1 regression against the baseline: endpoint GET /products/{id}",
        "  endpoint GET /products/{id}: p95 110 ms to 143 ms (+30 %): past 10%+20ms and past chance",
    ]
    assert {p.name for p in (tmp_path / "reports").iterdir()} == {"tideways-run.json", *COMPARE_FILES}
    assert summary.read_text().startswith("# 1 regression against the baseline")
    assert "no TIDEWAYS_API_TOKEN" not in result.stderr  # a client-side regression needs no API call


def test_a_tolerance_given_on_the_command_line_wins(tmp_path):
    a_run(tmp_path, "baseline", run_data(shop()))
    a_run(tmp_path, "reports", run_data(shop({"/products/{id}": 1.3})))
    assert compare_command(tmp_path, "--baseline", "baseline", "--tolerance", "50%").returncode == 0
    bad = compare_command(tmp_path, "--baseline", "baseline", "--tolerance", "slow")
    assert bad.returncode == 2 and "'slow' is not allowed: give PERCENT%+MSms" in bad.stderr


def test_save_baseline_copies_the_run_whole_and_is_a_baseline(tmp_path):
    a_run(tmp_path, "reports", run_data(shop()))
    saved = compare_command(tmp_path, "--save-baseline", "baseline")
    assert saved.returncode == 0, saved.stderr
    assert {p.name for p in (tmp_path / "baseline").iterdir()} == {"tideways-run.json"}
    assert compare_command(tmp_path, "--baseline", "baseline").returncode == 0
    nothing = compare_command(tmp_path / "baseline", "--save-baseline", "again")
    assert nothing.returncode == 2 and "no run file" in nothing.stderr


# -- real runs ------------------------------------------------------------------------------------

ENDPOINTS = {"/": "GET", "/products/": "GET", "/cart": "POST"}
ENOUGH = 150  # requests of each endpoint in a run: past the 110 a p95 needs


def each_endpoint_has(target, count: int):
    def enough() -> bool:
        seen = {prefix: 0 for prefix in ENDPOINTS}
        for record in target.records():
            path = record["path"]
            key = "/products/" if path.startswith("/products/") else path
            if key in seen:
                seen[key] += 1
        return all(n >= count for n in seen.values())

    enough.__doc__ = f"{count} requests of each endpoint at {target.url}"
    return enough


def load_test(start_target, start_tideways_api, folder: Path, port: int, products_ms: int):
    """One run against a target on ``port`` whose product pages take ``products_ms``; then its report.
    The run's target log is kept as ``target.jsonl`` in ``folder``."""
    target = start_target(API_KEY, "--port", str(port), "--delay", "/=20", "--delay", f"/products/={products_ms}")
    folder.mkdir(parents=True)
    result = run_locust(
        "-f", str(LOCUSTFILES / "compare.py"), "--host", target.url, "-u", "6", "-r", "6", "--stop-timeout", "10",
        "--tideways-trace-rate", "100", "--tideways-project", PROJECT,
        env=locust_env(
            LOCUST_TIDEWAYS_APIKEY=API_KEY,
            LOCUST_TIDEWAYS_RUN_FILE=str(folder / "tideways-run.json"),
            LOCUST_TIDEWAYS_TRACE_LOG=str(folder / "tideways-traces.jsonl"),
        ),
        until=each_endpoint_has(target, ENOUGH),
    )  # fmt: skip
    assert result.returncode == 0, result.stderr
    target.stop()  # the next run's target takes the same port: the same host
    (folder / "target.jsonl").write_bytes(Path(target.log).read_bytes())
    api = start_tideways_api(PROJECT, target_log=target.log)
    report = subprocess.run(
        [sys.executable, "-m", "tideways_locust.report", "--run-file", str(folder / "tideways-run.json"),
         "--out", str(folder), "--wait", "0"],
        cwd=ROOT, env=locust_env(TIDEWAYS_API_TOKEN=api.token, TIDEWAYS_API_URL=api.url),
        capture_output=True, text=True, timeout=120,
    )  # fmt: skip
    assert report.returncode == 0, report.stderr
    return api


def compared(tmp_path: Path, now: str, baseline: str, api=None) -> tuple[subprocess.CompletedProcess, dict]:
    env = {"TIDEWAYS_API_TOKEN": api.token, "TIDEWAYS_API_URL": api.url} if api else {}
    result = compare_command(tmp_path, "--reports", now, "--baseline", baseline, **env)
    return result, json.loads((tmp_path / now / "tideways-compare.json").read_text())


def test_the_same_target_twice_flags_nothing_and_one_slower_endpoint_only_that(
    start_target, start_tideways_api, tmp_path
):
    port = free_port()
    for name in ("a1", "a2", "a3"):
        load_test(start_target, start_tideways_api, tmp_path / name, port, products_ms=180)
    for now, baseline in (("a2", "a1"), ("a3", "a2")):  # A/A, in repeated pairs
        result, data = compared(tmp_path, now, baseline)
        assert result.returncode == 0, f"{result.stdout}\n{result.stderr}"
        assert data["regressions"] == [], data["regressions"]
        assert data["server"] is not None and {r["verdict"] for r in data["server"]} <= {UNCHANGED, NOT_ENOUGH}

    load_test(start_target, start_tideways_api, tmp_path / "b", port, products_ms=240)  # 200 ms to 260: +30 %
    # One application behind both runs, as in Tideways: its traces of the baseline's minutes and of this
    # run's, whichever minutes the two runs fell in.
    both = tmp_path / "both.jsonl"
    both.write_bytes(b"".join((tmp_path / name / "target.jsonl").read_bytes() for name in ("a3", "b")))
    api = start_tideways_api(PROJECT, target_log=both)
    result, data = compared(tmp_path, "b", "a3", api)
    assert result.returncode == 4, f"{result.stdout}\n{result.stderr}"
    assert [(r["side"], r["name"]) for r in data["regressions"]] == [
        ("client", "GET /products/{id}"),
        ("server", "GET /products/{id}"),
    ]
    client = {row["key"]: row["verdict"] for row in data["client"]["endpoints"]}
    assert client == {"GET /": UNCHANGED, "GET /products/{id}": REGRESSION, "POST /cart": UNCHANGED}
    server = {row["name"]: row["verdict"] for row in data["server"]}
    assert server == {"GET /": UNCHANGED, "GET /products/{id}": REGRESSION, "POST /cart": UNCHANGED}

    client_evidence, server_evidence = data["evidence"]
    assert client_evidence["now"] and client_evidence["baseline"]  # from each run's trace log
    assert all(t["url"].startswith("https://app.tideways.io/o/acme/shop/traces?cid=") for t in client_evidence["now"])
    assert server_evidence["now"] and server_evidence["baseline"]
    assert all("/trace/" in t["url"] for t in server_evidence["now"] + server_evidence["baseline"])
    calls = [c for c in api.calls() if "transaction_name" in c["query"]]  # the report's own call has none
    assert len(calls) == 2 == data["api_calls"]
    windows = {(c["query"]["min_date"], c["query"]["transaction_name"]) for c in calls}
    b, a3 = (json.loads((tmp_path / n / "tideways-run.json").read_text()) for n in ("b", "a3"))
    assert windows == {
        (b["start"][:16].replace("T", " "), "GET /products/{id}"),
        (a3["start"][:16].replace("T", " "), "GET /products/{id}"),
    }
    assert {p.name for p in (tmp_path / "b").iterdir()} >= COMPARE_FILES
