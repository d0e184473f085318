"""Load profiles as stages, and every check of their settings (``tideways_locust.profiles``), without a run."""

from __future__ import annotations

import math
from types import SimpleNamespace

import pytest

from tideways_locust.profiles import PROFILES, ProfileError, build
from tideways_locust.profiles.pacing import Paced, Pacer
from tideways_locust.profiles.spec import Level, parse_duration, parse_level, span_seconds


def options(**given):
    defaults = dict(
        load_profile="constant", load_rate="", load_stages="", load_start="", load_step="", load_step_time="",
        load_max="", load_base="", load_peak="", load_spike_at="", load_spike_for="",
        num_users=10, spawn_rate=2.0, run_time=60,
    )  # fmt: skip
    return SimpleNamespace(**{**defaults, **given})


def levels(profile):
    return [(stage.seconds, stage.start, stage.end) for stage in profile.stages]


def test_levels_are_users_or_requests_a_second():
    assert parse_level("10") == Level(10, "users")
    assert parse_level(" 2.5/s ") == Level(2.5, "rate")
    assert str(parse_level("10/s")) == "10/s"
    for bad in ("ten", "2.5", "-1", "10/m", "", "100001", "1e3"):
        with pytest.raises(ProfileError, match="is not allowed: give a level as users"):
            parse_level(bad)


def test_time_spans_as_locust_reads_them():
    assert [span_seconds(t) for t in ("20", "20s", "3m", "2h", "1h20m", "3h30m10s")] == [
        20, 20, 180, 7200, 4800, 12610,
    ]  # fmt: skip
    for bad in ("", "5 minutes", "1.5m", "m", "0s"):
        with pytest.raises(ProfileError, match=f"{bad!r} is not allowed: give the step as a time span"):
            parse_duration(bad, "the step")


def test_constant_with_users_is_locusts_own_run_and_with_a_rate_one_paced_stage():
    assert build(options()) is None
    paced = build(options(load_rate="20/s", run_time=30))
    assert paced.is_rate and paced.pool == 10 and levels(paced) == [(30, 20, 20)]
    assert build(options(load_rate="20")).stages[0].end == 20, "a bare number is a rate too"
    assert math.isinf(build(options(load_rate="5/s", run_time=None)).seconds), "until stopped, in the web UI"


def test_ramp_reaches_each_level_in_its_time():
    profile = build(options(load_profile="ramp", load_stages="30s:10, 5m:50, 30s:0"))
    assert levels(profile) == [(30, 0, 10), (300, 10, 50), (30, 50, 0)]
    assert profile.seconds == 360 and profile.level_at(15) == 5 and profile.level_at(30 + 150) == 30
    assert profile.level_at(360) is None
    assert profile.describe() == "ramp, 3 stages, 6m: 0 to 50 users"
    assert build(options(load_profile="ramp", load_stages="1m:20/s, 1m:20/s")).is_rate


@pytest.mark.parametrize(
    ("stages", "message"),
    [
        ("", "'' is not allowed: the ramp profile needs --load-stages"),
        ("30s", "'30s' is not allowed: give each stage as time to reach:level"),
        ("soon:10", "'soon' is not allowed: give the time of stage 'soon:10' as a time span"),
        ("30s:many", "'many' is not allowed: give the level of stage '30s:many' as users"),
        ("30s:10, 1m:50/s", "stage 1 10, stage 2 50/s mix users and requests a second"),
    ],
)
def test_bad_ramps_are_refused_by_name(stages, message):
    with pytest.raises(ProfileError) as refused:
        build(options(load_profile="ramp", load_stages=stages))
    assert str(refused.value).startswith(message)


def test_steps_and_breakpoint_climb_from_start_by_step_to_max():
    given = dict(load_start="10", load_step="20", load_max="60", load_step_time="2m")
    steps = build(options(load_profile="steps", **given))
    assert levels(steps) == [(120, 10, 10), (120, 30, 30), (120, 50, 50)], "60 is not a step from 10 by 20"
    rate = build(options(load_profile="breakpoint", load_start="5/s", load_step="5/s", load_max="20/s"))
    assert rate.is_breakpoint and rate.is_rate and [s.end for s in rate.stages] == [5, 10, 15, 20]
    assert {s.seconds for s in rate.stages} == {60}, "a minute a step unless told"


@pytest.mark.parametrize(
    ("given", "message"),
    [
        (dict(load_start="10", load_step="5"), "the steps profile needs --load-max"),
        (dict(load_start="10", load_step="0", load_max="20"), "--load-step 0 is not allowed: give a step above 0"),
        (dict(load_start="10", load_step="5", load_max="5"), "--load-max 5 is not allowed: give a maximum of at least"),
        (dict(load_start="10/s", load_step="5", load_max="20"), "--load-start 10/s, --load-step 5, --load-max 20 mix"),
        (dict(load_start="1", load_step="1", load_max="5000"), "--load-start 1 to --load-max 5000 by --load-step"),
        (dict(load_start="1", load_step="1", load_max="5", load_step_time="0"), "'0' is not allowed: give --load-step"),
    ],
)
def test_bad_steps_are_refused_by_name(given, message):
    with pytest.raises(ProfileError) as refused:
        build(options(load_profile="steps", **given))
    assert str(refused.value).startswith(message)


def spike(**given):
    return options(load_profile="spike", **{"load_base": "5", "load_spike_at": "1m", "load_spike_for": "30s", **given})


def test_a_spike_rises_from_its_base_within_the_run_time():
    assert levels(build(spike(load_peak="50", run_time=300))) == [(60, 5, 5), (30, 50, 50), (210, 5, 5)]
    with pytest.raises(ProfileError, match="the spike must end before the run does"):
        build(spike(load_peak="50", run_time=90))
    with pytest.raises(ProfileError, match="--load-peak 5 is not allowed: give a peak above --load-base 5"):
        build(spike(load_peak="5"))
    with pytest.raises(ProfileError, match="the spike profile needs --run-time"):
        build(spike(load_peak="9", run_time=None))


def test_a_soak_holds_one_level_in_windows():
    profile = build(options(load_profile="soak", num_users=25, run_time=4 * 3600))
    assert len(profile.stages) == 12 and {(s.seconds, s.end) for s in profile.stages} == {(1200, 25)}
    short = build(options(load_profile="soak", run_time=150, load_step_time="1m", load_rate="8/s"))
    assert levels(short) == [(60, 8, 8), (60, 8, 8), (30, 8, 8)] and short.is_rate
    with pytest.raises(ProfileError, match="the soak profile needs --run-time"):
        build(options(load_profile="soak", run_time=None))


def test_every_profile_is_known_and_no_other():
    assert PROFILES == ("constant", "ramp", "steps", "spike", "soak", "breakpoint")
    with pytest.raises(ProfileError, match="'wave' is not allowed: give one of constant, ramp"):
        build(options(load_profile="wave"))


def test_a_rate_stage_asks_the_area_under_its_line():
    profile = build(options(load_profile="ramp", load_stages="10s:20/s, 10s:20/s"))
    assert profile.stages[0].asked() == 100 and profile.stages[1].asked() == 200
    assert profile.stages[0].asked(5) == 25


def test_the_pacer_gives_each_user_of_the_pool_its_share():
    profile = build(options(load_profile="ramp", load_stages="10s:20/s, 10s:20/s", num_users=4))
    pacer = Pacer(profile)
    pacer.started -= 15  # in the hold at 20/s: 4 users, each a task every 0.2 s
    assert pacer.interval() == pytest.approx(0.2)
    pacer.started -= 10
    assert pacer.interval() is None, "over"


def test_paced_user_classes_get_their_own_wait_time_back():
    from locust import between

    own = between(1, 3)
    user_class = type("SomeUser", (), {"wait_time": own})
    child = type("ChildUser", (user_class,), {})
    paced = Paced()
    paced.apply([user_class, child], build(options(load_rate="10/s")))
    assert user_class.wait_time.pacer is child.wait_time.pacer
    paced.apply([user_class, child], None)
    assert user_class.__dict__["wait_time"] is own and "wait_time" not in child.__dict__
