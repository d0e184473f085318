"""The ``--load-*`` options: which load profile a run follows, and its settings.

Each is a Locust option (``locust.conf``, ``LOCUST_*`` or a flag), checked alone
when Locust reads it and together (:func:`spec.build`) when Locust starts, so a
profile that cannot run stops the run before its first request.
"""

from __future__ import annotations

import argparse

from locust import events

from .spec import DEFAULT_PROFILE, PROFILES, ProfileError, parse_duration, parse_level


def parse_profile(value: object) -> str:
    text = str(value or DEFAULT_PROFILE).strip().lower()
    if text not in PROFILES:
        raise argparse.ArgumentTypeError(f"{value!r} is not allowed: give one of {', '.join(PROFILES)}")
    return text


def _checked(check):
    """An option type from a check of :mod:`spec`: empty stays empty, a bad value is argparse's error."""

    def parse(value: object) -> str:
        text = str(value or "").strip()
        if text:
            try:
                check(text)
            except ProfileError as error:
                raise argparse.ArgumentTypeError(str(error)) from None
        return text

    return parse


def _rate(text: str) -> None:
    parse_level(text if text.endswith("/s") else text + "/s", "--load-rate")


def _stages(text: str) -> None:
    for part in (p.strip() for p in text.split(",") if p.strip()):
        span, colon, level = part.partition(":")
        if not colon:
            raise ProfileError(
                f"{part!r} is not allowed: give each stage as time to reach:level, like 30s:10 or 5m:50/s"
            )
        parse_duration(span, f"the time of stage {part!r}")
        parse_level(level, f"the level of stage {part!r}")


OPTIONS = [
    (
        "--load-profile",
        parse_profile,
        DEFAULT_PROFILE,
        f"The load profile: {', '.join(PROFILES)} (default {DEFAULT_PROFILE}; README: Load profiles).",
    ),
    ("--load-rate", _checked(_rate), "", "constant, soak: requests a second instead of users (the users send it)."),
    ("--load-stages", _checked(_stages), "", "ramp: stages of time to reach:level, like '30s:10, 5m:50, 30s:0'."),
    (
        "--load-start",
        _checked(parse_level),
        "",
        "steps, breakpoint: the first level, users (10) or requests a second (10/s).",
    ),
    ("--load-step", _checked(parse_level), "", "steps, breakpoint: added at each step."),
    (
        "--load-step-time",
        _checked(lambda t: parse_duration(t, "--load-step-time")),
        "",
        "steps, breakpoint: time a step (default 1m); soak: a window of its figures.",
    ),
    ("--load-max", _checked(parse_level), "", "steps, breakpoint: the highest level."),
    ("--load-base", _checked(parse_level), "", "spike: the level before and after the spike."),
    ("--load-peak", _checked(parse_level), "", "spike: the level of the spike."),
    ("--load-spike-at", _checked(lambda t: parse_duration(t, "--load-spike-at")), "", "spike: when the spike starts."),
    ("--load-spike-for", _checked(lambda t: parse_duration(t, "--load-spike-for")), "", "spike: how long it lasts."),
]


@events.init_command_line_parser.add_listener
def _add_profile_arguments(parser) -> None:
    for flag, kind, default, text in OPTIONS:
        env = "LOCUST_" + flag.strip("-").upper().replace("-", "_")
        # Chosen when Locust starts (the shape is picked then), so not a field of the web UI's form.
        parser.add_argument(flag, type=kind, env_var=env, default=default, include_in_web_ui=False, help=text)
