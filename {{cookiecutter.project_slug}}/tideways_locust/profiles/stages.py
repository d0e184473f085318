"""Each stage of a profile as the run went: users, asked and reached rate, p50, p95, failures, verdict.

The master (or the only process) looks once a second: the users running, and at
each stage's end Locust's figures of that stage (the difference of its whole
response-time histogram, as ``runrecord`` does for minutes). A ``breakpoint``
stage is judged when it ends, against the run's limits (``thresholds.py``): its
p95 over ``--max-response-time``, its failures over ``--max-fail-percent``, or
its req/s no longer growing with the load (a rate stage: less than
:data:`REACHED` of the asked rate reached; a users stage: req/s grown less than
:data:`GROWTH` of what the users grew). The first stage that breaks ends the run.
With workers, Locust's figures reach the master every few seconds, so a stage's
figures may hold a report's worth of its neighbours'.
"""

from __future__ import annotations

import logging
import math
import time
from datetime import UTC, datetime

import gevent
from locust.runners import MasterRunner
from locust.stats import calculate_response_time_percentile, diff_response_time_dicts

from .spec import Profile, Stage

logger = logging.getLogger(__name__)

LOOK_EVERY = 0.25
"""Seconds between looks at the users and the stage (Locust's shape moves on once a second)."""
REACHED = 0.9
"""A rate stage holds while it sends at least this share of the asked rate."""
GROWTH = 0.5
"""A users stage holds while req/s grow at least this share of what the users grew."""
NOT_SENT_NOTE = 0.05
"""Past this share of the asked requests not sent, the summary says the users could not keep up (below it,
a ramp's first seconds and the requests out when a stage ends account for a few)."""


def _ms(value) -> float | None:
    return None if value is None else round(float(value), 3)


def _iso(moment: datetime | None) -> str | None:
    return None if moment is None else moment.isoformat(timespec="milliseconds")


class StageRecord:
    """The stages of one run, on the master or the only process."""

    def __init__(self, environment, profile: Profile) -> None:
        self.environment = environment
        self.profile = profile
        self.stages: list[dict] = []
        self.broke: dict | None = None
        self._started = time.monotonic()
        self._index: int | None = None
        self._begin: tuple[datetime, float, dict, int, int] | None = None
        self._users_last: int | None = None
        self._users_max = 0
        self._looker = None
        self._last: tuple | None = None  # the last stage closed, as it began, to settle at quit

    # -- the run --

    def elapsed(self) -> float:
        """Seconds into the profile: the shape's own clock when it runs, so both see one stage at a time."""
        shape = getattr(self.environment, "shape_class", None)
        if shape is not None and hasattr(shape, "get_run_time"):
            return shape.get_run_time()
        return time.monotonic() - self._started

    def start(self) -> None:
        self._started = time.monotonic()
        self._open(0)
        self._looker = gevent.spawn(self._look_loop)

    def stop(self) -> None:
        """The run ended: the stage it was in is noted as far as it got."""
        if self._looker is not None:
            self._looker.kill(block=False)
            self._looker = None
        if self._index is not None:
            ends = sum(stage.seconds for stage in self.profile.stages[: self._index + 1])
            self._close(complete=self.elapsed() >= ends - 2 * LOOK_EVERY)

    def current(self) -> tuple[int, float] | None:
        return self.profile.stage_at(self.elapsed())

    def _look_loop(self) -> None:
        while True:  # killed at stop
            self.look()
            gevent.sleep(LOOK_EVERY)

    def look(self) -> None:
        found = self.current()
        index = None if found is None else found[0]
        if index is not None and index == self._index:
            # The users of a stage are those seen before its end: the shape moves on at its next tick.
            users = getattr(self.environment.runner, "user_count", 0) or 0
            self._users_last, self._users_max = users, max(self._users_max, users)
            return
        while self._index is not None and self._index != index and self.broke is None:
            following = self._index + 1
            self._close(complete=True)
            if self.broke is None and following < len(self.profile.stages) and (index is None or following <= index):
                self._open(following)

    # -- one stage --

    def _snapshot(self) -> tuple[dict, int, int]:
        total = self.environment.stats.total
        return dict(total.response_times), total.num_requests, total.num_failures

    def _open(self, index: int) -> None:
        times, requests, failures = self._snapshot()
        self._index = index
        self._begin = (datetime.now(UTC), time.monotonic(), times, requests, failures)
        self._users_last, self._users_max = None, 0

    def _close(self, complete: bool) -> None:
        index, begin = self._index, self._begin
        self._index = self._begin = None
        if index is None or begin is None:
            return
        seconds = time.monotonic() - begin[1]
        self.stages.append(self._measured(index, begin, seconds, complete))
        self._last = (index, begin, seconds, complete)
        if complete and self.profile.name in ("steps", "breakpoint"):
            self._judge(self.stages[-1])

    def _measured(self, index: int, begin, seconds: float, complete: bool) -> dict:
        started_at, _, times_before, requests_before, failures_before = begin
        times, requests, failures = self._snapshot()
        if requests < requests_before:  # the stats were reset: count from zero
            times_before, requests_before, failures_before = {}, 0, 0
        return self._figures(
            index,
            self.profile.stages[index],
            started_at,
            seconds,
            complete,
            diff_response_time_dicts(times, times_before),
            requests - requests_before,
            failures - failures_before,
        )

    def settle(self) -> None:
        """When Locust quits: the workers' last reports are in, so the last stage gets their requests
        (without workers, what came after the last stage belongs to none)."""
        if self._last is None or not self.stages or not isinstance(self.environment.runner, MasterRunner):
            return
        index, begin, seconds, complete = self._last
        settled = self._measured(index, begin, seconds, complete)
        last = self.stages[-1]
        settled.update(end=last["end"], users=last["users"], users_max=last["users_max"])
        settled.update(verdict=last["verdict"], why=last["why"])
        self.stages[-1] = settled

    def _figures(self, index, stage: Stage, started_at, seconds, complete, times, count, failures) -> dict:
        rate = self.profile.is_rate
        asked = stage.asked(seconds) if rate else None
        return {
            "index": index + 1,
            "label": stage.label,
            "start": _iso(started_at),
            "end": _iso(datetime.now(UTC)),
            "seconds": round(seconds, 3),
            "level_start": stage.start,
            "level_end": stage.end,
            "users": self._users_last if self._users_last is not None else self._users_max,
            "users_max": self._users_max,
            "asked": round(asked, 3) if rate else None,
            "asked_rps": round(asked / seconds, 3) if rate and seconds > 0 else None,
            "requests": count,
            "failures": failures,
            "rps": round(count / seconds, 3) if seconds > 0 else None,
            "p50_ms": _ms(calculate_response_time_percentile(times, count, 0.5)) if count else None,
            "p95_ms": _ms(calculate_response_time_percentile(times, count, 0.95)) if count else None,
            "fail_percent": round(100.0 * failures / count, 3) if count else None,
            "not_sent": max(0, math.floor(asked - count)) if rate else None,
            "verdict": None,
            "why": [],
            "complete": complete,
            "_times": times,
        }

    # -- breakpoint --

    def _judge(self, stage: dict) -> None:
        options = self.environment.parsed_options
        why = []
        max_fail = float(getattr(options, "max_fail_percent", 1.0))
        if stage["fail_percent"] is not None and stage["fail_percent"] > max_fail:
            why.append(f"{stage['fail_percent']:g} % of requests failed, over --max-fail-percent {max_fail:g}")
        limit = float(getattr(options, "max_response_time", 0) or 0)
        percentile = float(getattr(options, "response_time_percentile", 95.0))
        if limit > 0 and stage["requests"]:
            measured = calculate_response_time_percentile(stage["_times"], stage["requests"], percentile / 100.0)
            if measured > limit:
                why.append(f"p{percentile:g} {measured:g} ms is over --max-response-time {limit:g} ms")
        if self.profile.is_rate:
            asked, reached = stage["asked_rps"] or 0.0, stage["rps"] or 0.0
            if asked > 0 and reached < REACHED * asked:
                why.append(f"reached {reached:.1f}/s of {asked:g}/s asked")
        else:
            previous = next((s for s in reversed(self.stages[:-1]) if s["complete"]), None)
            if previous and previous["rps"] and previous["level_end"] > 0 and stage["rps"] is not None:
                users_grew = stage["level_end"] / previous["level_end"] - 1
                rps_grew = stage["rps"] / previous["rps"] - 1
                if users_grew > 0 and rps_grew < GROWTH * users_grew:
                    why.append(
                        f"req/s grew {100 * rps_grew:.0f} % ({previous['rps']:.1f} to {stage['rps']:.1f}) "
                        f"while the users grew {100 * users_grew:.0f} %"
                    )
        if stage["requests"] == 0:
            why.append("no request was answered")
        stage["verdict"] = "broke" if why else "held"
        stage["why"] = why
        name = self.profile.name
        if not why:
            logger.info(
                "Load profile %s: stage %d (%s) held at %.1f req/s",
                name,
                stage["index"],
                stage["label"],
                stage["rps"] or 0,
            )
        elif self.profile.is_breakpoint:
            self.broke = stage
            logger.info(
                "Load profile %s: stage %d (%s) broke: %s; the run ends",
                name,
                stage["index"],
                stage["label"],
                "; ".join(why),
            )
        else:
            logger.info(
                "Load profile %s: stage %d (%s) broke: %s", name, stage["index"], stage["label"], "; ".join(why)
            )

    # -- what is written --

    def capacity(self) -> dict | None:
        if self.profile.name not in ("steps", "breakpoint"):
            return None
        complete = [s for s in self.stages if s["complete"]]
        broke = self.broke
        if self.profile.name == "steps":  # judged like a breakpoint, but not stopped by it
            broke = next((s for s in complete if s["verdict"] == "broke"), None)
        upto = [s for s in complete if broke is None or s["index"] <= broke["index"]]
        held = [s for s in upto if broke is None or s["index"] < broke["index"]]
        last_held = held[-1] if held else None
        rps = max((s["rps"] or 0.0 for s in upto), default=None)
        return {
            "rps": round(rps, 3) if rps is not None else None,
            "last_held": last_held["index"] if last_held else None,
            "first_broke": broke["index"] if broke else None,
            "level_held": last_held["label"] if last_held else None,
            "level_broke": broke["label"] if broke else None,
            "why": list(broke["why"]) if broke else [],
        }

    def as_dict(self) -> dict:
        profile = self.profile
        stages = [{k: v for k, v in s.items() if k != "_times"} for s in self.stages]
        capacity = self.capacity()
        asked = sum(s["asked"] for s in stages) if profile.is_rate else None
        sent = sum(s["requests"] for s in stages)
        not_sent = sum(s["not_sent"] for s in stages) if profile.is_rate else None
        return {
            "profile": profile.name,
            "unit": profile.unit,
            "description": profile.describe(),
            "settings": dict(profile.settings),
            "pool": profile.pool if profile.is_rate else None,
            "stages": stages,
            "asked": round(asked, 3) if asked is not None else None,
            "sent": sent,
            "not_sent": not_sent,
            "not_sent_percent": round(100.0 * not_sent / asked, 2) if asked else None,
            "capacity": capacity,
        }

    # -- lines --

    def live(self) -> dict:
        """The web UI tab's cells: the stage now, the asked rate, what was not sent so far."""
        found = self.current()
        profile = self.profile
        if found is None or self.broke is not None:
            stage_text = "done" + (f": stage {self.broke['index']} broke" if self.broke else "")
            asked_now = None
        else:
            index, offset = found
            stage = profile.stages[index]
            stage_text = f"stage {index + 1} of {len(profile.stages)}: {stage.label}"
            asked_now = stage.level_at(offset) if profile.is_rate else None
        so_far = self.not_sent_so_far()
        return {
            "load_profile": f"{profile.name} ({stage_text})",
            "asked_rate": f"{asked_now:g}/s"
            if asked_now is not None
            else "(users, not a rate)"
            if not profile.is_rate
            else "-",
            "not_sent": so_far if so_far is not None else "(users, not a rate)",
        }

    def not_sent_so_far(self) -> int | None:
        if not self.profile.is_rate:
            return None
        closed = sum(s["not_sent"] for s in self.stages)
        if self._index is None or self._begin is None:
            return closed
        _, started, _, requests_before, _ = self._begin
        asked = self.profile.stages[self._index].asked(time.monotonic() - started)
        sent = self.environment.stats.total.num_requests - requests_before
        return closed + max(0, math.floor(asked - sent))

    def summary(self) -> str:
        data = self.as_dict()
        parts = [f"Load profile {self.profile.describe()}"]
        capacity = data["capacity"]
        if capacity and capacity["rps"] is not None:
            held = (
                f"stage {capacity['last_held']} ({capacity['level_held']}) held"
                if capacity["last_held"]
                else "no stage held"
            )
            broke = (
                f"stage {capacity['first_broke']} ({capacity['level_broke']}) broke: {'; '.join(capacity['why'])}"
                if capacity["first_broke"]
                else "no stage broke, so the capacity is above the highest level"
            )
            parts.append(f"capacity about {capacity['rps']:.1f} req/s: {held}, {broke}")
        if self.profile.is_rate and data["asked"]:
            not_sent = data["not_sent"] or 0
            line = f"{data['sent']} of {data['asked']:.0f} asked requests sent"
            if not_sent:
                line += f", {not_sent} not sent ({data['not_sent_percent']:g} %)"
            if not_sent > NOT_SENT_NOTE * data["asked"]:
                line += f": the {self.profile.pool} users could not keep up; raise --users or lower the rate"
            parts.append(line)
        return "; ".join(parts)
