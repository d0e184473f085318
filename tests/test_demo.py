"""``make demo`` end to end: bake, load a local target, report what was traced, link and report it."""

import json
import re

import pytest

from scripts import demo


@pytest.mark.slow
def test_demo_traces_links_and_reports(capfd, tmp_path):
    reports = tmp_path / "reports"
    assert demo.main(["--run-time", "4s", "--users", "5", "--trace-rate", "100", "--reports", str(reports)]) == 0
    out = capfd.readouterr().out
    summary = re.search(r"(\d+) requests sent, (\d+) traced .*?, (\d+) accepted, (\d+) rejected", out)
    assert summary, out
    sent, traced, accepted, rejected = map(int, summary.groups())
    assert sent > 0 and 0 < traced == accepted and rejected == 0
    assert f"the first of {traced} records" in out
    assert "127.0.0.1" in out
    # It ends with the run's link and the report made against the API stand-in.
    data = json.loads((reports / "tideways-report.json").read_text())
    run_id = data["run"]["id"]
    assert f"Traces of run {run_id}: https://app.tideways.io/o/demo/shop/traces?cid={run_id}" in out
    assert f"Tideways event: marker 'Load test {run_id}' (to the stand-in" in out, "the run's event, posted locally"
    figures = re.search(r"Locust: (\d+) requests, .*; Tideways: (\d+) requests", out)
    assert figures and int(figures[1]) == sent == data["client"]["total"]["requests"]
    assert int(figures[2]) == data["server"]["total"]["requests"] == sent, "every request reached the target"
    assert data["complete"] and data["traces"]
    assert out.rstrip().endswith(f"Open {reports / 'tideways-report.html'} in a browser.")
    # Nothing that is not so: no next steps for the removed folder, the made-up project's links said to be.
    assert "Next steps" not in out and "cd shop_load_test" not in out
    assert "a temporary folder the demo removes at its end (--keep keeps it)" in out
    assert "The links above and below are the stand-in's: they name demo/shop, a Tideways project made up" in out
    assert "each request drawn on its own: the share nears the rate over many requests" in out
