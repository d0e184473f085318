"""What a person sees, in a real browser: the web UI's Tideways tab and the HTML report.

Playwright drives the system's Chromium (Debian's ``chromium``, installed by
``make test``; Google Chrome where that is what there is). Screenshots of both
pages go to ``.cache/screenshots/`` for a person to look at.
"""

from __future__ import annotations

import json
import os
import re
import secrets
import shutil
import subprocess
import time
import urllib.request

import pytest

from scripts import demo, processes
from tests.conftest import REPO, free_port

SCREENSHOTS = REPO / ".cache" / "screenshots"
PROJECT = "acme/shop"
BROWSERS = ("chromium", "chromium-browser", "google-chrome")

pytestmark = pytest.mark.slow


@pytest.fixture(scope="module")
def browser():
    executable = next((path for name in BROWSERS if (path := shutil.which(name))), None)
    if executable is None:
        pytest.skip("no Chromium: `make test` installs Debian's chromium")
    from playwright.sync_api import sync_playwright

    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=executable, args=["--no-sandbox"])
        yield browser
        browser.close()


def wait_for(url: str, timeout: float = 30) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        try:
            with urllib.request.urlopen(url, timeout=2):
                return
        except OSError:
            time.sleep(0.2)
    raise AssertionError(f"nothing answered at {url} within {timeout} s")


def test_the_web_ui_tab_shows_the_run_and_opens_its_traces(bake, baked_python, browser, tmp_path):
    project = bake(tideways_project=PROJECT)
    key = secrets.token_hex(16)
    env = {k: v for k, v in os.environ.items() if not k.startswith(("LOCUST_", "TIDEWAYS_"))}
    env.update(LOCUST_TIDEWAYS_APIKEY=key, LOCUST_TIDEWAYS_RUN_FILE="", LOCUST_TIDEWAYS_EVENT="none")  # no network
    serve = [str(baked_python), "tests/target.py", "--key", key, "--log", str(tmp_path / "t.jsonl")]
    target, url = processes.start_server(serve, cwd=project.path, env=env)
    port = free_port()
    locust = processes.start(
        [str(baked_python), "-m", "locust", "--host", url, "--web-host", "127.0.0.1", "--web-port", str(port),
         "--autostart", "-u", "2", "-r", "2", "--tideways-trace-rate", "100"],
        cwd=project.path, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
    )  # fmt: skip
    try:
        wait_for(f"http://127.0.0.1:{port}/")
        context = browser.new_context(viewport={"width": 1400, "height": 800})
        opened: list[str] = []
        context.route("https://app.tideways.io/**", lambda route: (opened.append(route.request.url), route.fulfill(
            status=200, content_type="text/html", body="<title>Tideways</title>stand-in")))  # fmt: skip
        page = context.new_page()
        page.goto(f"http://127.0.0.1:{port}/")
        page.get_by_role("tab", name="Tideways").click()
        link = page.locator("td", has_text="https://app.tideways.io/o/acme/shop/traces?cid=")
        link.wait_for(timeout=30_000)
        page.wait_for_function(
            "() => [...document.querySelectorAll('td')].some(td => /^[1-9]\\d*$/.test(td.textContent.trim()))"
        )
        headers = [th.inner_text().strip() for th in page.locator("th").all()]
        cells = [td.inner_text().strip() for td in page.locator("tbody tr").first.locator("td").all()]
        row = dict(zip(headers, cells, strict=False))
        SCREENSHOTS.mkdir(parents=True, exist_ok=True)
        page.screenshot(path=str(SCREENSHOTS / "web-ui-tideways-tab.png"))
        assert (
            row["Traces in Tideways"]
            == f"https://app.tideways.io/o/acme/shop/traces?cid={row['Run id (X-Tideways-Ref)']}"
        )
        assert int(row["Requests sent"]) >= int(row["Traced"]) > 0 and row["Rate asked %"] == "100"
        # The baked locust.conf's coverage; a request Locust has counted may not be counted as traced yet.
        assert re.fullmatch(r"\d+ of \d+ \(first 1 of each\)", row["Endpoints traced"]), row["Endpoints traced"]
        assert row["Trace budget"] == "(none: --tideways-trace-budget)" and row["Lost workers"] == "(none)"
        with context.expect_page() as new_page:
            link.click()
        new_page.value.wait_for_load_state()
        assert opened == [row["Traces in Tideways"]], "a click on the link opens the run's traces"
        assert key not in page.content()
        context.close()
    finally:
        for process in (locust, target):
            processes.stop(process, timeout=30)


def test_the_html_report_shows_the_link_the_figures_and_the_chart(browser, tmp_path, capfd):
    reports = tmp_path / "reports"
    assert demo.main(["--run-time", "5s", "--users", "5", "--trace-rate", "100", "--reports", str(reports)]) == 0
    capfd.readouterr()
    data = json.loads((reports / "tideways-report.json").read_text())
    context = browser.new_context(java_script_enabled=False, viewport={"width": 1280, "height": 900})
    page = context.new_page()
    page.goto((reports / "tideways-report.html").as_uri())
    link = page.locator("#traces-link")
    assert (
        link.get_attribute("href")
        == data["links"]["traces"]
        == (f"https://app.tideways.io/o/demo/shop/traces?cid={data['run']['id']}")
    )
    assert link.is_visible()
    locust_total = page.locator('[data-total="locust-requests"]')
    tideways_total = page.locator('[data-total="tideways-requests"]')
    assert int(locust_total.get_attribute("data-value")) == data["client"]["total"]["requests"] > 0
    assert locust_total.inner_text().strip() == str(data["client"]["total"]["requests"])
    assert int(tideways_total.get_attribute("data-value")) == data["server"]["total"]["requests"] > 0
    endpoints = page.locator("#client-table tbody tr")
    assert endpoints.count() == len(data["client"]["endpoints"])
    chart = page.locator("#minutes-chart")
    box = chart.bounding_box()
    assert box and box["width"] > 300 and box["height"] > 150, "the chart is drawn"
    with_p95 = [m for m in data["minutes"] if m["locust_p95_ms"] is not None]
    assert page.locator("#minutes-chart circle.point-locust").count() == len(with_p95) > 0
    assert page.locator("#minutes-chart .series-locust").count() >= 1
    assert page.locator("#minutes-chart .series-tideways").count() >= 1
    traces = page.locator("#slowest-traces tbody tr")
    assert traces.count() == len(data["traces"]) > 0
    first = traces.first.locator("a").first.get_attribute("href")
    assert first == data["traces"][0]["url"]
    # Coverage: each endpoint with its traced requests and the run's traces (run ref mode), all covered.
    coverage = page.locator("#coverage-table tbody tr")
    assert coverage.count() == len(data["coverage"]["endpoints"]) == len(data["client"]["endpoints"])
    assert page.locator("#coverage-table a.coverage-link").count() == coverage.count()
    assert {a.get_attribute("href") for a in page.locator("#coverage-table a.coverage-link").all()} == {
        data["links"]["traces"]
    }
    assert page.locator("[data-no-callgraph]").count() == 0 and page.locator("#coverage").is_visible()
    assert "Every endpoint requested has at least one callgraph" in page.locator("#coverage-callgraph").inner_text()
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    page.screenshot(path=str(SCREENSHOTS / "tideways-report.png"), full_page=True)
    context.close()


def test_the_compare_page_shows_the_verdicts_the_charts_and_the_traces(bake, baked_python, browser, tmp_path):
    # The baked project's own A/A and A/B runs write the pages; this opens the A/B one.
    project = bake(tideways_project=PROJECT)
    base = tmp_path / "runs"
    test = "tests/test_compare.py::test_the_same_target_twice_flags_nothing_and_one_slower_endpoint_only_that"
    env = {k: v for k, v in os.environ.items() if not k.startswith(("LOCUST_", "TIDEWAYS_", "PYTEST_"))}
    result = subprocess.run(
        [str(baked_python), "-m", "pytest", test, "-q", "-p", "no:cacheprovider", "--basetemp", str(base)],
        cwd=project.path, env=env, capture_output=True, text=True, timeout=600,
    )  # fmt: skip
    assert result.returncode == 0, result.stdout[-3000:]
    # pytest links test_...current to test_...0: one folder, two names
    (folder,) = {path.resolve().parent for path in base.glob("*/b/tideways-compare.html")}
    data = json.loads((folder / "tideways-compare.json").read_text())
    context = browser.new_context(java_script_enabled=False, viewport={"width": 1280, "height": 900})
    page = context.new_page()
    page.goto((folder / "tideways-compare.html").as_uri())
    assert page.locator("#headline").inner_text().startswith("2 regressions against the baseline")
    rows = page.locator("#endpoints tbody tr")
    shown = {rows.nth(i).locator("td").first.inner_text(): rows.nth(i).get_attribute("data-verdict") for i in range(3)}
    assert shown == {row["key"]: row["verdict"] for row in data["client"]["endpoints"]}
    slower = page.locator("#endpoints td.verdict-regression")
    assert slower.count() == 1 and slower.inner_text() == "slower" and slower.is_visible()
    assert page.locator('#transactions tr[data-verdict="regression"]').count() == 1
    for chart in ("#chart-total", "#chart-1"):
        box = page.locator(chart).bounding_box()
        assert box and box["width"] > 300 and box["height"] > 150, f"{chart} is drawn"
        assert page.locator(f"{chart} circle.point-before").count() >= 1
        assert page.locator(f"{chart} circle.point-now").count() >= 1
    links = page.locator("#evidence a.trace")
    expected = [t["url"] for item in data["evidence"] for side in ("now", "baseline") for t in item[side] or []]
    assert [links.nth(i).get_attribute("href") for i in range(links.count())] == expected
    assert any("/trace/" in url for url in expected) and any("traces?cid=" in url for url in expected)
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    page.screenshot(path=str(SCREENSHOTS / "tideways-compare.png"), full_page=True)
    context.close()


def test_the_html_report_of_a_breakpoint_run_draws_its_capacity(bake, baked_python, browser, tmp_path):
    # The baked project's own test writes the report of a breakpoint run file against the API stand-in.
    project = bake()
    base = tmp_path / "runs"
    test = "tests/test_report.py::test_a_breakpoint_run_shows_each_stage_beside_tideways_and_the_capacity"
    env = {k: v for k, v in os.environ.items() if not k.startswith(("LOCUST_", "TIDEWAYS_", "PYTEST_"))}
    result = subprocess.run(
        [str(baked_python), "-m", "pytest", test, "-q", "-p", "no:cacheprovider", "--basetemp", str(base)],
        cwd=project.path, env=env, capture_output=True, text=True, timeout=600,
    )  # fmt: skip
    assert result.returncode == 0, result.stdout[-3000:]
    (reports,) = {path.resolve().parent for path in base.glob("*/reports/tideways-report.html")}
    data = json.loads((reports / "tideways-report.json").read_text())
    load = data["load"]
    stages = load["stages"]
    context = browser.new_context(java_script_enabled=False, viewport={"width": 1280, "height": 900})
    page = context.new_page()
    page.goto((reports / "tideways-report.html").as_uri())
    assert page.locator("#load-description").inner_text() == load["description"]
    assert page.locator("#capacity").inner_text() == (
        "Capacity about 6.5 req/s: stage 3 (6/s) held, stage 4 (8/s) broke: reached 6.5/s of 8/s asked"
    )
    assert page.locator("#shortfall").inner_text().startswith("90 of 1200 asked requests not sent (7.5 %)")
    rows = page.locator("#stages-table tbody tr")
    assert rows.count() == len(stages) == 4
    assert rows.nth(3).get_attribute("data-verdict") == "broke" and rows.nth(3).is_visible()
    for chart in ("#capacity-rps", "#capacity-p95"):
        box = page.locator(chart).bounding_box()
        assert box and box["width"] > 300 and box["height"] > 150, f"{chart} is drawn"
        for series in ("locust", "tideways"):
            assert page.locator(f"{chart} circle.point-{series}").count() == len(stages), (chart, series)
            assert page.locator(f"{chart} path.series-{series}").count() == 1, "one line through the stages"
        labels = page.locator(f"{chart} text[text-anchor=middle]")
        assert [labels.nth(i).text_content() for i in range(labels.count())] == [s["level"] for s in stages]
    highest = page.locator("#capacity-p95 circle.point-tideways").nth(3)
    assert float(highest.get_attribute("data-value")) == stages[3]["server"]["p95_ms"]
    links = page.locator("#broke-traces a")
    expected = [trace["url"] for trace in load["capacity"]["traces"]]
    assert [links.nth(i).get_attribute("href") for i in range(links.count())] == expected and len(expected) == 5
    assert all(url.startswith("https://app.tideways.io/o/acme/shop/trace/") for url in expected)
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    page.screenshot(path=str(SCREENSHOTS / "tideways-report-capacity.png"), full_page=True)
    page.locator("#load-profile").screenshot(path=str(SCREENSHOTS / "tideways-report-load-profile.png"))
    context.close()
