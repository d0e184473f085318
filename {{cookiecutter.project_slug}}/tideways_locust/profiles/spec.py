"""A load profile as stages: what ``--load-profile`` and its settings ask for, validated.

A level is a number of users (``10``) or an arrival rate in requests a second
(``10/s``, the open model: the users are then a pool paced to send it). A profile
is a list of :class:`Stage`: each lasts ``seconds`` and goes from the level
``start`` to the level ``end`` in a straight line (a hold when both are equal).
Every bad setting raises :class:`ProfileError`, whose message names the value and
what is allowed, the way an option's own check does. This module imports nothing
of Locust, so the template checks a profile's answers at bake time with it too.
"""

from __future__ import annotations

import math
import re
from dataclasses import dataclass, field

PROFILES = ("constant", "ramp", "steps", "spike", "soak", "breakpoint")
"""``constant``: one level for the run time (Locust's own run, no shape); ``ramp``: stages of
(time to reach, level); ``steps``: start, step, time a step, maximum; ``spike``: a base level with a
peak; ``soak``: one level for hours, its figures in windows; ``breakpoint``: steps until a limit breaks."""
DEFAULT_PROFILE = "constant"

USERS, RATE = "users", "rate"
MAX_USERS = 100_000
MAX_RATE = 100_000.0
MAX_STAGES = 1_000
SOAK_WINDOWS = 12
"""A soak's figures come in this many windows of its run time (or ``--load-step-time`` each)."""

_LEVEL = re.compile(r"^(\d+(?:\.\d+)?)(/s)?$")
_SPAN = re.compile(r"^(?:(?P<h>\d+)h)?(?:(?P<m>\d+)m)?(?:(?P<s>\d+)s)?$")
"""Locust's time spans (``--run-time``): ``20``, ``20s``, ``3m``, ``2h``, ``1h20m``, ``3h30m10s``."""


def span_seconds(text: str) -> float:
    """``'1h30m'`` -> 5400.0, as Locust reads ``--run-time``; ValueError for anything else."""
    text = text.strip()
    if text.isdigit():
        return float(text)
    match = _SPAN.match(text)
    if not text or not match:
        raise ValueError(text)
    return float(sum(int(match[unit] or 0) * factor for unit, factor in (("h", 3600), ("m", 60), ("s", 1))))


class ProfileError(ValueError):
    """A setting of the load profile that cannot run; the message says which and what is allowed."""


@dataclass(frozen=True)
class Level:
    value: float
    unit: str  # USERS or RATE

    def __str__(self) -> str:
        return f"{self.value:g}/s" if self.unit == RATE else f"{self.value:g}"

    def text(self) -> str:
        if self.unit == RATE:
            return f"{self.value:g}/s"
        return f"{self.value:g} user" + ("" if self.value == 1 else "s")


def parse_level(value: object, what: str = "a level") -> Level:
    """``10`` (users, a whole number) or ``10/s`` / ``2.5/s`` (requests a second)."""
    text = str(value).strip().replace(" ", "")
    match = _LEVEL.match(text)
    allowed = (
        f"give {what} as users, a whole number from 0 to {MAX_USERS} like 10, "
        f"or as requests a second from 0 to {MAX_RATE:g} like 10/s or 2.5/s"
    )
    if not match:
        raise ProfileError(f"{value!r} is not allowed: {allowed}")
    number = float(match[1])
    if match[2]:
        if not number <= MAX_RATE:
            raise ProfileError(f"{value!r} is not allowed: {allowed}")
        return Level(number, RATE)
    if "." in match[1] or number > MAX_USERS:
        raise ProfileError(f"{value!r} is not allowed: {allowed}")
    return Level(number, USERS)


def parse_duration(value: object, what: str, allow_zero: bool = False) -> float:
    """A time span as Locust reads ``--run-time``: ``30s``, ``5m``, ``1h30m`` (a bare number is seconds)."""
    text = str(value).strip()
    try:
        seconds = span_seconds(text) if text else math.nan
    except ValueError:
        seconds = math.nan
    if not (seconds >= 0 if allow_zero else seconds > 0):
        least = "0s" if allow_zero else "1s"
        raise ProfileError(
            f"{value!r} is not allowed: give {what} as a time span like 30s, 5m or 1h30m, at least {least}"
        )
    return seconds


@dataclass(frozen=True)
class Stage:
    seconds: float
    start: float
    end: float
    label: str

    @property
    def is_hold(self) -> bool:
        return self.start == self.end

    def level_at(self, offset: float) -> float:
        """The level ``offset`` seconds into the stage, on the straight line from start to end."""
        if self.is_hold or self.seconds <= 0:
            return self.end
        return self.start + (self.end - self.start) * min(max(offset / self.seconds, 0.0), 1.0)

    def asked(self, seconds: float | None = None) -> float:
        """The area under the level over the stage's first ``seconds``: requests asked, in a rate stage."""
        seconds = self.seconds if seconds is None else min(seconds, self.seconds)
        return (self.start + self.level_at(seconds)) / 2.0 * seconds


@dataclass(frozen=True)
class Profile:
    name: str
    unit: str
    stages: tuple[Stage, ...]
    pool: int = 0
    """In a rate profile: the users that send the rate (``--users``)."""
    spawn_rate: float = 1.0
    settings: dict = field(default_factory=dict)
    """The settings as given, for the run file and the summary."""

    @property
    def is_rate(self) -> bool:
        return self.unit == RATE

    @property
    def is_breakpoint(self) -> bool:
        return self.name == "breakpoint"

    @property
    def seconds(self) -> float:
        return sum(stage.seconds for stage in self.stages)

    def stage_at(self, elapsed: float) -> tuple[int, float] | None:
        """The index of the stage ``elapsed`` seconds into the run and the offset into it; None once over."""
        begin = 0.0
        for index, stage in enumerate(self.stages):
            if elapsed < begin + stage.seconds:
                return index, elapsed - begin
            begin += stage.seconds
        return None

    def level_at(self, elapsed: float) -> float | None:
        found = self.stage_at(elapsed)
        return None if found is None else self.stages[found[0]].level_at(found[1])

    def unit_text(self) -> str:
        return "requests a second" if self.is_rate else "users"

    def describe(self) -> str:
        """One line: ``ramp, 3 stages, 6m: 0 to 50 users``."""
        levels = [s.start for s in self.stages] + [s.end for s in self.stages]
        unit = "/s" if self.is_rate else " users"
        span = f"{min(levels):g} to {max(levels):g}{unit}" if min(levels) != max(levels) else f"{max(levels):g}{unit}"
        length = _span_text(self.seconds)
        pool = f", paced over {self.pool} users" if self.is_rate else ""
        count = len(self.stages)
        return f"{self.name}, {count} stage{'' if count == 1 else 's'}, {length}: {span}{pool}"


def _span_text(seconds: float) -> str:
    if math.isinf(seconds):
        return "until stopped"
    seconds = int(round(seconds))
    hours, rest = divmod(seconds, 3600)
    minutes, secs = divmod(rest, 60)
    return "".join(f"{n}{u}" for n, u in ((hours, "h"), (minutes, "m"), (secs, "s")) if n) or "0s"


def _one_unit(levels: dict[str, Level], profile: str) -> str:
    units = {level.unit for level in levels.values()}
    if len(units) > 1:
        given = ", ".join(f"{name} {level}" for name, level in levels.items())
        raise ProfileError(
            f"{given} mix users and requests a second: give every level of the {profile} profile "
            "in one unit, like 10 or 10/s"
        )
    return units.pop() if units else USERS


def _stage_count(count: float, what: str) -> None:
    if count > MAX_STAGES:
        raise ProfileError(f"{what} makes {count:g} stages: at most {MAX_STAGES} are allowed")


def build(options) -> Profile | None:
    """The profile the options ask for; None for ``constant`` with users (Locust's own run)."""
    name = str(getattr(options, "load_profile", DEFAULT_PROFILE) or DEFAULT_PROFILE)
    # Locust hands a worker only the custom options, so the master adds its own users, spawn rate
    # and run time to them as ``load_common`` (run.LoadRun.on_test_start); elsewhere they are Locust's.
    common = getattr(options, "load_common", None) or {}
    users = int(common.get("num_users", getattr(options, "num_users", None)) or 1)
    spawn_rate = float(common.get("spawn_rate", getattr(options, "spawn_rate", None)) or 1.0)
    run_time = common.get("run_time", getattr(options, "run_time", None))
    rate_text = str(getattr(options, "load_rate", "") or "").strip()
    if name == "constant":
        if not rate_text:
            return None
        rate = parse_level(rate_text if rate_text.endswith("/s") else rate_text + "/s", "--load-rate")
        seconds = float(run_time) if run_time else math.inf
        stage = Stage(seconds, rate.value, rate.value, str(rate))
        return Profile(name, RATE, (stage,), users, spawn_rate, {"rate": str(rate)})
    if name == "ramp":
        return _ramp(str(getattr(options, "load_stages", "") or ""), users, spawn_rate)
    if name in ("steps", "breakpoint"):
        return _steps(name, options, users, spawn_rate)
    if name == "spike":
        return _spike(options, users, spawn_rate, run_time)
    if name == "soak":
        return _soak(options, users, spawn_rate, run_time, rate_text)
    raise ProfileError(f"{name!r} is not allowed: give one of {', '.join(PROFILES)}")


def _ramp(text: str, users: int, spawn_rate: float) -> Profile:
    parts = [part.strip() for part in text.split(",") if part.strip()]
    if not parts:
        raise ProfileError(
            f"{text!r} is not allowed: the ramp profile needs --load-stages, stages of time to reach "
            "and level like 30s:10, 5m:50, 30s:0 (or 30s:10/s, 5m:50/s in requests a second)"
        )
    _stage_count(len(parts), "--load-stages")
    levels: dict[str, Level] = {}
    spans = []
    for part in parts:
        span, colon, level = part.partition(":")
        if not colon:
            raise ProfileError(
                f"{part!r} is not allowed: give each stage as time to reach:level, like 30s:10 or 5m:50/s"
            )
        spans.append(parse_duration(span, f"the time of stage {part!r}"))
        levels[f"stage {len(spans)}"] = parse_level(level, f"the level of stage {part!r}")
    unit = _one_unit(levels, "ramp")
    stages, previous = [], 0.0
    for seconds, part, level in zip(spans, parts, levels.values(), strict=True):
        stages.append(Stage(seconds, previous, level.value, part))
        previous = level.value
    return Profile("ramp", unit, tuple(stages), users, spawn_rate, {"stages": ", ".join(parts)})


def _steps(name: str, options, users: int, spawn_rate: float) -> Profile:
    given = {
        "--load-start": getattr(options, "load_start", "") or "",
        "--load-step": getattr(options, "load_step", "") or "",
        "--load-max": getattr(options, "load_max", "") or "",
    }
    missing = [flag for flag, value in given.items() if not str(value).strip()]
    if missing:
        raise ProfileError(
            f"the {name} profile needs {', '.join(missing)}: give --load-start, --load-step and --load-max "
            "as users (10) or requests a second (10/s), and --load-step-time (default 1m)"
        )
    levels = {flag: parse_level(value, flag) for flag, value in given.items()}
    unit = _one_unit(levels, name)
    start, step, top = (levels[flag].value for flag in given)
    if step <= 0:
        raise ProfileError(f"--load-step {levels['--load-step']} is not allowed: give a step above 0")
    if top < start:
        raise ProfileError(
            f"--load-max {levels['--load-max']} is not allowed: "
            f"give a maximum of at least --load-start {levels['--load-start']}"
        )
    every = parse_duration(getattr(options, "load_step_time", "") or "1m", "--load-step-time")
    count = math.floor((top - start) / step + 1e-9) + 1
    _stage_count(count, f"--load-start {levels['--load-start']} to --load-max {levels['--load-max']} by --load-step")
    stages = []
    for index in range(count):
        level = round(start + index * step, 6)
        stages.append(Stage(every, level, level, str(Level(level, unit))))
    settings = {
        "start": str(levels["--load-start"]),
        "step": str(levels["--load-step"]),
        "max": str(levels["--load-max"]),
        "step_time": _span_text(every),
    }
    return Profile(name, unit, tuple(stages), users, spawn_rate, settings)


def _spike(options, users: int, spawn_rate: float, run_time) -> Profile:
    given = {
        "--load-base": getattr(options, "load_base", "") or "",
        "--load-peak": getattr(options, "load_peak", "") or "",
    }
    missing = [flag for flag, value in given.items() if not str(value).strip()]
    if missing:
        raise ProfileError(
            f"the spike profile needs {', '.join(missing)}: give --load-base and --load-peak as users (10) "
            "or requests a second (10/s), --load-spike-at and --load-spike-for as time spans"
        )
    levels = {flag: parse_level(value, flag) for flag, value in given.items()}
    unit = _one_unit(levels, "spike")
    base, peak = (level.value for level in levels.values())
    if peak <= base:
        raise ProfileError(
            f"--load-peak {levels['--load-peak']} is not allowed: give a peak above --load-base {levels['--load-base']}"
        )
    at = parse_duration(getattr(options, "load_spike_at", "") or "", "--load-spike-at")
    length = parse_duration(getattr(options, "load_spike_for", "") or "", "--load-spike-for")
    if not run_time:
        raise ProfileError("the spike profile needs --run-time: the spike comes within it")
    if at + length >= float(run_time):
        raise ProfileError(
            f"--load-spike-at {_span_text(at)} and --load-spike-for {_span_text(length)} are not allowed with "
            f"--run-time {_span_text(float(run_time))}: the spike must end before the run does"
        )
    stages = (
        Stage(at, base, base, f"base {levels['--load-base']}"),
        Stage(length, peak, peak, f"peak {levels['--load-peak']}"),
        Stage(float(run_time) - at - length, base, base, f"after {levels['--load-base']}"),
    )
    settings = {
        "base": str(levels["--load-base"]),
        "peak": str(levels["--load-peak"]),
        "at": _span_text(at),
        "for": _span_text(length),
    }
    return Profile("spike", unit, stages, users, spawn_rate, settings)


def _soak(options, users: int, spawn_rate: float, run_time, rate_text: str) -> Profile:
    if not run_time:
        raise ProfileError("the soak profile needs --run-time, like 4h: a soak holds one level that long")
    total = float(run_time)
    if rate_text:
        level = parse_level(rate_text if rate_text.endswith("/s") else rate_text + "/s", "--load-rate")
    else:
        level = Level(float(users), USERS)
    given = str(getattr(options, "load_step_time", "") or "").strip()
    window = parse_duration(given, "--load-step-time") if given else max(60.0, total / SOAK_WINDOWS)
    window = min(window, total)
    count = math.ceil(total / window - 1e-9)
    _stage_count(count, f"--run-time {_span_text(total)} in windows of --load-step-time {_span_text(window)}")
    stages = []
    for index in range(count):
        seconds = min(window, total - index * window)
        stages.append(Stage(seconds, level.value, level.value, f"window {index + 1}: {level}"))
    return Profile(
        "soak", level.unit, tuple(stages), users, spawn_rate, {"level": str(level), "window": _span_text(window)}
    )
