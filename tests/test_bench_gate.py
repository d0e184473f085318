"""bench/gate.py: the plan of its runs, and how its verdicts add up (no run here: ``make bench-gate`` runs)."""

from __future__ import annotations

import pytest

from bench.gate import ENDPOINT, SLOWDOWNS, Verdict, markdown, parse_args, plan, products_delay, summarize


def test_each_lane_alternates_slowed_runs_and_a_runs_each_compared_with_the_a_before():
    lanes = plan(lanes=2, repetitions=3)
    assert [job.name for job in lanes[0]] == [
        "lane0-00-a", "lane0-01-b10", "lane0-02-a", "lane0-03-b20", "lane0-04-a", "lane0-05-b30", "lane0-06-a",
    ]  # fmt: skip
    assert [job.baseline for job in lanes[0]] == [None, 0, 0, 2, 2, 4, 4]
    # The slowdowns go on in turn across lanes, so each level gets its share.
    assert [job.slowdown for job in lanes[1] if job.slowdown] == [0.1, 0.2, 0.3]


def test_the_full_plan_has_20_a_a_pairs_and_8_of_each_slowdown():
    jobs = [job for lane in plan(lanes=4, repetitions=6) for job in lane if job.baseline is not None]
    assert sum(not job.slowdown for job in jobs) == 24
    assert {s: sum(job.slowdown == s for job in jobs) for s in SLOWDOWNS} == dict.fromkeys(SLOWDOWNS, 8)


def test_a_slowdown_lengthens_the_product_pages_mean_by_that_share():
    mean = 20 + 180 + 20  # base, products, half the jitter
    assert products_delay(0.3) + 20 + 20 == pytest.approx(mean * 1.3)


def verdict(slowdown: float, regressions: list[str], change: float = 0.0) -> Verdict:
    return Verdict("run", "base", slowdown, 4 if regressions else 0, regressions, {ENDPOINT: change})


def test_false_alarms_and_catches_are_counted_and_judged_against_the_goal():
    verdicts = [verdict(0, []) for _ in range(19)] + [verdict(0, ["client GET /"], 12.5)]
    verdicts += [verdict(0.1, []), verdict(0.3, [f"client {ENDPOINT}", f"server {ENDPOINT}"])]
    summary = summarize(verdicts)
    assert summary["aa_pairs"] == 20 and summary["false_alarms"] == 1
    assert summary["caught"]["10%"] == {"pairs": 1, "caught": 0}
    assert summary["caught"]["30%"] == {"pairs": 1, "caught": 1}
    assert summary["aa_largest_p95_change_percent"] == 12.5
    assert summary["goal_met"] is False  # one false alarm
    assert summarize(verdicts[:19] + verdicts[20:])["goal_met"] is False  # no false alarm, but only 19 A/A pairs
    assert summarize([verdict(0, []) for _ in range(20)] + verdicts[20:])["goal_met"] is True
    text = markdown(summary, verdicts, {"finished": "2026-12-02 10:00", "run_time_s": 60, "lanes": 4})
    assert "| A/A (no change) | 20 | 1 false alarms |" in text and "**missed**" in text


def test_a_caught_slowdown_is_the_product_pages_flagged_client_side():
    assert verdict(0.3, [f"client {ENDPOINT}"]).caught
    assert not verdict(0.3, [f"server {ENDPOINT}"]).caught
    assert not verdict(0.3, ["client GET /"]).caught


@pytest.mark.parametrize(("flag", "value"), [("--lanes", "0"), ("--repetitions", "31"), ("--run-time", "2")])
def test_bad_options_are_refused_naming_the_value(flag, value, capsys):
    with pytest.raises(SystemExit) as error:
        parse_args([flag, value])
    assert error.value.code == 2
    assert f"{flag} {int(value)!r} is not allowed" in capsys.readouterr().err
