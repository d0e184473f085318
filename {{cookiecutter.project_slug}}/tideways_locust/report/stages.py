"""The stages of a run's load profile: Locust's figures of each stage beside Tideways' for its minutes.

The run file's ``load`` (``profiles.stages`` writes it) holds each stage as
Locust saw it. Tideways keys its figures by UTC minute, so a stage's server
side is that of whole minutes:

- each minute of the load goes to the stage that ran longest in it (the
  earlier one on a tie), and a stage's server figures are those of its minutes;
- a stage shorter than a minute, or one that ran longest in no minute, takes
  every minute it overlaps instead and is marked ``shared``: those minutes hold
  its neighbours' requests too (``shared_with`` names them), so its server
  figures are theirs as well;
- req/s of the server are the minutes' requests over the seconds of load in
  them; its p95 is the highest p95 of the minutes (the p95 of all their
  requests is at most that).

Steps and breakpoint runs also get the capacity the run file found, with the
server's req/s and p95 of the last stage that held and the first that broke,
and the slowest callgraph traces of that stage's minutes (one API call).
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from ..runrecord import MINUTE, minute_of

BROKE_TRACES = 5
"""Slowest traces asked of the first stage that broke: one call."""
UNITS = ("users", "rate")
VERDICTS = ("held", "broke")
_ONE_MINUTE = timedelta(minutes=1)
_INSTANT = timedelta(microseconds=1)


def _number(value) -> float | None:
    if isinstance(value, bool) or not isinstance(value, int | float | str):
        return None
    try:
        number = float(value)
    except ValueError:
        return None
    return number if number == number and abs(number) != float("inf") else None


def _int(value) -> int | None:
    number = _number(value)
    return None if number is None else int(number)


def _time(value) -> datetime | None:
    try:
        moment = datetime.fromisoformat(str(value))
    except (TypeError, ValueError):
        return None
    return moment.replace(tzinfo=UTC) if moment.tzinfo is None else moment.astimezone(UTC)


def level_text(start: float | None, end: float | None, unit: str) -> str:
    """What a stage asked: ``10/s``, ``50 users``, ``0 to 50 users`` (a ramp)."""

    def one(value: float) -> str:
        if unit == "rate":
            return f"{value:g}/s"
        return f"{value:g} user" + ("" if value == 1 else "s")

    if end is None:
        return "" if start is None else one(start)
    if start is None or start == end:
        return one(end)
    return f"{start:g} to {one(end)}"


def client_stage(raw: dict, position: int, unit: str) -> dict:
    """One stage of the run file with only what a report shows, every figure checked."""
    level_start, level_end = _number(raw.get("level_start")), _number(raw.get("level_end"))
    verdict = raw.get("verdict") if raw.get("verdict") in VERDICTS else None
    return {
        "index": _int(raw.get("index")) or position + 1,
        "label": str(raw.get("label") or ""),
        "level": level_text(level_start, level_end, unit),
        "start": str(raw.get("start") or ""),
        "end": str(raw.get("end") or ""),
        "seconds": _number(raw.get("seconds")),
        "level_start": level_start,
        "level_end": level_end,
        "users": _int(raw.get("users")),
        "users_max": _int(raw.get("users_max")),
        "asked": _number(raw.get("asked")),
        "asked_rps": _number(raw.get("asked_rps")),
        "requests": _int(raw.get("requests")),
        "failures": _int(raw.get("failures")),
        "rps": _number(raw.get("rps")),
        "p50_ms": _number(raw.get("p50_ms")),
        "p95_ms": _number(raw.get("p95_ms")),
        "fail_percent": _number(raw.get("fail_percent")),
        "not_sent": _int(raw.get("not_sent")),
        "verdict": verdict,
        "why": [str(reason) for reason in raw.get("why") or [] if reason not in (None, "")]
        if isinstance(raw.get("why"), list)
        else [],
        "complete": raw.get("complete") is not False,
    }


def _overlap(first: datetime, last: datetime, begin: datetime, end: datetime) -> float:
    return max(0.0, (min(last, end) - max(first, begin)).total_seconds())


def _overlapped(span: tuple[datetime, datetime]) -> list[datetime]:
    """The minutes ``[start, end)`` touches."""
    start, end = span
    last = minute_of(end - _INSTANT) if end > start else minute_of(start)
    minute, found = minute_of(start), []
    while minute <= last:
        found.append(minute)
        minute += _ONE_MINUTE
    return found


class LoadStages:
    """The run file's load profile, each stage given the minutes of Tideways' figures it takes."""

    def __init__(self, load: dict, run_start: datetime, run_end: datetime) -> None:
        self.load = load
        self.unit = load.get("unit") if load.get("unit") in UNITS else "users"
        raw = [stage for stage in load.get("stages") or [] if isinstance(stage, dict)]
        self.stages = [client_stage(stage, n, self.unit) for n, stage in enumerate(raw)]
        spans = []
        for stage in self.stages:
            start, end = _time(stage["start"]), _time(stage["end"])
            spans.append((start, end) if start is not None and end is not None and end >= start else None)
        self.spans = spans
        known = [span for span in spans if span is not None]
        # The load: the run, and any stage that was noted a moment beyond it.
        self.begin = min([run_start, *(span[0] for span in known)])
        self.end = max([run_end, *(span[1] for span in known)])
        self.minutes = [self._minutes(n) for n in range(len(self.stages))]

    @classmethod
    def of(cls, run: dict) -> LoadStages | None:
        """The run's load profile; None for a plain constant run (``load`` null) or an older run file."""
        load = run.get("load")
        if not isinstance(load, dict):
            return None
        return cls(load, run["_start"], run["_end"])

    # -- minutes --

    def _seconds_in(self, minute: datetime) -> dict[int, float]:
        """Each stage's seconds in ``minute``, by position."""
        found = {}
        for n, span in enumerate(self.spans):
            if span is not None and (seconds := _overlap(minute, minute + _ONE_MINUTE, *span)) > 0:
                found[n] = seconds
        return found

    def _owner(self, minute: datetime) -> int | None:
        seconds = self._seconds_in(minute)
        return max(seconds, key=lambda n: (seconds[n], -n)) if seconds else None

    def _minutes(self, n: int) -> dict | None:
        """The minutes stage ``n`` takes its server figures from, and whether it shares them."""
        span = self.spans[n]
        if span is None:
            return None
        touched = _overlapped(span)
        own = [minute for minute in touched if self._owner(minute) == n]
        seconds = self.stages[n]["seconds"]
        short = (seconds if seconds is not None else (span[1] - span[0]).total_seconds()) < 60
        used = own if own and not short else touched
        shared_with = []
        if not own or short:
            others = {m for minute in used for m in self._seconds_in(minute) if m != n}
            shared_with = [self.stages[m]["index"] for m in sorted(others)]
        return {"minutes": used, "shared": bool(shared_with) or short, "shared_with": shared_with}

    def window(self, index: int | None) -> tuple[str, str] | None:
        """The first and the last minute of stage ``index`` (its number), as the traces API takes them."""
        for stage, taken in zip(self.stages, self.minutes, strict=True):
            if stage["index"] == index and taken and taken["minutes"]:
                return taken["minutes"][0].strftime(MINUTE), taken["minutes"][-1].strftime(MINUTE)
        return None

    def broke_window(self) -> tuple[str, str] | None:
        return self.window(_int((self.capacity_of_run() or {}).get("first_broke")))

    # -- figures --

    def server(self, n: int, by_time: dict[str, dict]) -> dict | None:
        """Tideways' figures of stage ``n``'s minutes."""
        taken = self.minutes[n]
        if taken is None:
            return None
        keys = [minute.strftime(MINUTE) for minute in taken["minutes"]]
        found = [by_time[key] for key in keys if isinstance(by_time.get(key), dict)]
        counts = [c for c in (_int(m.get("requests")) for m in found) if c is not None]
        error_counts = [e for e in (_int(m.get("errors")) for m in found) if e is not None]
        requests = sum(counts) if counts else None
        load_seconds = sum(_overlap(m, m + _ONE_MINUTE, self.begin, self.end) for m in taken["minutes"])
        p95s = [_number(m.get("percentile_95p")) for m in found if (_int(m.get("requests")) or 0) > 0]
        p95s = [p for p in p95s if p is not None]
        return {
            "minutes": keys,
            "shared": taken["shared"],
            "shared_with": taken["shared_with"],
            "requests": requests,
            "errors": sum(error_counts) if error_counts else None,
            "rps": round(requests / load_seconds, 3) if requests is not None and load_seconds > 0 else None,
            "p95_ms": max(p95s) if p95s else None,
        }

    def capacity_of_run(self) -> dict | None:
        capacity = self.load.get("capacity")
        return capacity if isinstance(capacity, dict) else None

    def capacity(self, stages: list[dict], traces: list[dict] | None) -> dict | None:
        """The run file's capacity, with the server side of the stages it names and the traces of the one
        that broke (None when they were not fetched)."""
        found = self.capacity_of_run()
        if found is None:
            return None
        by_index = {stage["index"]: stage for stage in stages}
        last_held, first_broke = _int(found.get("last_held")), _int(found.get("first_broke"))

        def server_of(index: int | None) -> dict | None:
            server = (by_index.get(index) or {}).get("server")
            if server is None:
                return None
            keys = ("minutes", "shared", "rps", "p95_ms")
            return {key: server[key] for key in keys}

        window = self.window(first_broke)
        return {
            "rps": _number(found.get("rps")),
            "last_held": last_held,
            "first_broke": first_broke,
            "level_held": None if found.get("level_held") is None else str(found.get("level_held")),
            "level_broke": None if found.get("level_broke") is None else str(found.get("level_broke")),
            "why": [str(reason) for reason in found.get("why") or []] if isinstance(found.get("why"), list) else [],
            "server": {"last_held": server_of(last_held), "first_broke": server_of(first_broke)},
            "traces_window": {"from": window[0], "to": window[1]} if window and traces is not None else None,
            "traces": traces,
        }

    def as_dict(self, by_time: dict[str, dict] | None, broke_traces: list[dict] | None = None) -> dict:
        """The report's ``load``: the stages with their server side when ``by_time`` was fetched."""
        load = self.load
        stages = []
        for n, stage in enumerate(self.stages):
            stages.append({**stage, "server": self.server(n, by_time) if by_time is not None else None})
        settings = load.get("settings") if isinstance(load.get("settings"), dict) else {}
        return {
            "profile": str(load.get("profile") or ""),
            "unit": self.unit,
            "description": str(load.get("description") or ""),
            "settings": {str(key): str(value) for key, value in settings.items()},
            "pool": _int(load.get("pool")),
            "stages": stages,
            "asked": _number(load.get("asked")),
            "sent": _int(load.get("sent")),
            "not_sent": _int(load.get("not_sent")),
            "not_sent_percent": _number(load.get("not_sent_percent")),
            "capacity": self.capacity(stages, broke_traces),
            "server_fetched": by_time is not None,
        }
