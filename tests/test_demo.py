"""``make demo`` end to end: bake, load a local target, report what was traced."""

import re

import pytest

from scripts import demo


@pytest.mark.slow
def test_demo_traces_and_every_header_is_accepted(capfd):
    assert demo.main(["--run-time", "4s", "--users", "5", "--trace-rate", "50"]) == 0
    out = capfd.readouterr().out
    summary = re.search(r"(\d+) requests sent, (\d+) traced .*?, (\d+) accepted, (\d+) rejected", out)
    assert summary, out
    sent, traced, accepted, rejected = map(int, summary.groups())
    assert sent > 0 and 0 < traced == accepted and rejected == 0
    assert f"the first of {traced} records" in out
    assert "127.0.0.1" in out
