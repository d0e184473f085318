"""The run as the report needs it: its id, window, host, links and Locust's figures.

The master (or the only process) notes when a run starts and ends and, at each
UTC minute, Locust's requests, failures and p95 of that minute (Tideways keys
its figures by minute too). When the run ends it writes all of it to
``--tideways-run-file``, which ``python -m tideways_locust.report`` reads, and
adds the run's links to the GitHub Actions job summary when there is one.
"""

from __future__ import annotations

import json
import os
import tempfile
from datetime import UTC, datetime, timedelta

import gevent
from locust import __version__ as locust_version
from locust.stats import StatsEntry, calculate_response_time_percentile

from .compat import takes
from .links import without_userinfo
from .logins import COUNTS as LOGINS
from .tracelog import TraceReport

FORMAT = 1
MINUTE = "%Y-%m-%d %H:%M"


def minute_of(moment: datetime) -> datetime:
    """The minute ``moment`` falls in, as Tideways keys its figures."""
    return moment.replace(second=0, microsecond=0)


def _ms(value) -> float | None:
    return None if value is None else round(float(value), 3)


def entry_figures(entry) -> dict:
    """Locust's figures of one stats entry (an endpoint, or the total)."""
    count = entry.num_requests
    return {
        "method": entry.method or "",
        "name": entry.name,
        "requests": count,
        "failures": entry.num_failures,
        "median_ms": _ms(entry.median_response_time) if count else None,
        "p95_ms": _ms(entry.get_response_time_percentile(0.95)) if count else None,
        "average_ms": _ms(entry.avg_response_time) if count else None,
        "max_ms": _ms(entry.max_response_time) if count else None,
    }


class RunRecord:
    """The window and per-minute figures of one run, on the master or the only process."""

    def __init__(self, environment, report: TraceReport) -> None:
        self.environment = environment
        self.report = report
        self.start: datetime | None = None
        self.end: datetime | None = None
        self.minutes: list[dict] = []
        self._minute_start: datetime | None = None
        self._seen = ({}, 0, 0)  # Locust's total histogram, requests, failures at the last minute's end
        self._ticker = None

    # -- minutes --

    def _snapshot(self) -> tuple[dict, int, int]:
        total = self.environment.stats.total
        return dict(total.response_times), total.num_requests, total.num_failures

    def closeminute_of(self, until: datetime) -> None:
        """Note the figures of the minute that started at ``self._minute_start``, up to ``until``."""
        if self._minute_start is None:
            return
        times, requests, failures = self._snapshot()
        seen_times, seen_requests, seen_failures = self._seen
        if requests < seen_requests:  # the stats were reset: count from zero
            seen_times, seen_requests, seen_failures = {}, 0, 0
        delta = {ms: n - seen_times.get(ms, 0) for ms, n in times.items() if n > seen_times.get(ms, 0)}
        count = requests - seen_requests
        self.minutes.append(
            {
                "minute": self._minute_start.strftime(MINUTE),
                "requests": count,
                "failures": failures - seen_failures,
                "p95_ms": calculate_response_time_percentile(delta, count, 0.95) if count else None,
            }
        )
        self._seen = (times, requests, failures)
        self._minute_start = minute_of(until)

    def _tick(self) -> None:
        while True:  # ends when the run ends (killed at quit)
            now = datetime.now(UTC)
            boundary = minute_of(now) + timedelta(minutes=1)
            gevent.sleep((boundary - now).total_seconds() + 0.001)
            self.closeminute_of(boundary)

    # -- listeners --

    def on_test_start(self, **_kwargs) -> None:
        self.start = datetime.now(UTC)
        self.end = None
        self.minutes = []
        self._minute_start = minute_of(self.start)
        self._seen = self._snapshot()
        if self._ticker is None:
            self._ticker = gevent.spawn(self._tick)

    def on_quit(self, **_kwargs) -> None:
        if self._ticker is not None:
            self._ticker.kill(block=False)
            self._ticker = None
        if self.start is None:
            return  # no run started
        self.end = datetime.now(UTC)
        self.closeminute_of(self.end)
        options = self.environment.parsed_options
        path = getattr(options, "tideways_run_file", "") if options else ""
        if path:
            write_json(path, self.as_dict())
        summary = os.environ.get("GITHUB_STEP_SUMMARY")
        if summary:
            with open(summary, "a", encoding="utf-8") as out:
                out.write(self.job_summary())

    # -- what is written --

    def as_dict(self) -> dict:
        environment = self.environment
        options = environment.parsed_options
        settings = self.report.settings
        figures = self.report.figures()
        stats = environment.stats
        return {
            "format": FORMAT,
            "run_id": figures["run_id"],
            "start": self.start.isoformat(timespec="seconds") if self.start else None,
            "end": self.end.isoformat(timespec="seconds") if self.end else None,
            "host": without_userinfo(environment.host or getattr(options, "host", None)),
            "users": getattr(options, "num_users", None),
            "locust": locust_version,
            "tideways": {
                "project": str(settings.project) if settings and settings.project else None,
                "environment": settings.environment if settings else None,
                "ref_mode": figures["ref_mode"],
                "traces_link": self.report.run_link(),
                "trace_log": self.report.log_path or None,
            },
            "trace_rate": {"asked": figures["rate_asked"], "reached": figures["rate_reached"]},
            "requests": figures["requests"],
            "traced": figures["traced"],
            "logins": LOGINS.as_dict(),
            "endpoints": [entry_figures(entry) for entry in sorted(self._entries(), key=_entry_key)],
            "total": entry_figures(stats.total),
            "minutes": self.minutes,
        }

    def _entries(self) -> list:
        """Locust's per-endpoint entries. Writing ``--json-file`` resets them (Locust serializes
        them with ``get_stripped_report()``) just before ``quit``; then they come from that file."""
        stats = self.environment.stats
        entries = [entry for entry in stats.entries.values() if entry.num_requests or entry.num_failures]
        json_file = getattr(self.environment.parsed_options, "json_file", None)
        if entries or not stats.total.num_requests or not json_file:
            return entries
        try:
            with open(f"{json_file}.json", encoding="utf-8") as source:
                written = json.load(source)
        except (OSError, ValueError):
            return entries
        for data in written:
            data["response_times"] = {int(ms): n for ms, n in (data.get("response_times") or {}).items()}
        return [_unserialized(data, stats) for data in written]

    def job_summary(self) -> str:
        f = self.report.figures()
        link = self.report.run_link()
        lines = [
            f"### Tideways traces of run `{f['run_id']}`",
            "",
            f"{f['requests']} requests sent, {f['traced']} traced "
            f"({f['rate_reached']:g} %, asked {f['rate_asked']:g} %).",
            "",
            f"[Open the traces of this run in Tideways]({link})" if link else f"Traces: {f['traces']}.",
            "",
        ]
        return "\n".join(lines) + "\n"


def _unserialized(data: dict, stats) -> StatsEntry:
    """Locust's entry from its ``--json-file`` form; ``unserialize()`` takes the stats since Locust 2.46.2."""
    if takes(StatsEntry.unserialize, "stats"):
        return StatsEntry.unserialize(data, stats)
    entry = StatsEntry.unserialize(data)
    entry.stats = stats
    return entry


def _entry_key(entry) -> tuple[str, str]:
    return entry.name, entry.method or ""


def write_text(path: str | os.PathLike, text: str) -> None:
    """Write ``text`` to ``path`` whole or not at all (a temporary file, then a rename)."""
    folder = os.path.dirname(os.path.abspath(path))
    os.makedirs(folder, exist_ok=True)
    handle, temporary = tempfile.mkstemp(dir=folder, prefix=".tideways-", suffix=".tmp")
    try:
        with os.fdopen(handle, "w", encoding="utf-8") as out:
            out.write(text)
        os.replace(temporary, path)
    except BaseException:
        os.unlink(temporary)
        raise


def write_json(path: str | os.PathLike, data: dict) -> None:
    write_text(path, json.dumps(data, ensure_ascii=False, indent=2) + "\n")
