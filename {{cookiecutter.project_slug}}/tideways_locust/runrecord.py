"""The run as the report and the comparison need it: its id, window, settings, links and Locust's figures.

The master (or the only process) notes when a run starts and ends and, at each
UTC minute, Locust's requests, failures and p95 of that minute, in total and
per endpoint (Tideways keys its figures by minute too). When the run ends it
writes all of it to ``--tideways-run-file``: per endpoint also Locust's whole
response-time histogram and its failures by message, and the settings that
make two runs comparable (``settings``). ``python -m tideways_locust.report``
and ``python -m tideways_locust.compare`` read it; the run's links go to the
GitHub Actions job summary when there is one.
"""

from __future__ import annotations

import hashlib
import json
import os
import tempfile
from collections import Counter
from datetime import UTC, datetime, timedelta
from pathlib import Path

import gevent
from locust import __version__ as locust_version
from locust.stats import StatsEntry, calculate_response_time_percentile, diff_response_time_dicts

from .compare.options import tolerance_settings
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


def entry_key(method, name) -> str:
    """One endpoint's key in the run file: ``GET /cart`` (Locust keys its stats by name and method)."""
    return f"{method} {name}" if method else str(name)


def entry_figures(entry, seconds: float | None = None, failures_by_message: dict | None = None) -> dict:
    """Locust's figures of one stats entry (an endpoint, or the total), with its response-time histogram:
    ``{ms: requests}`` as Locust keeps it (whole ms below 100, then rounded to 2 significant digits)."""
    count = entry.num_requests
    return {
        "method": entry.method or "",
        "name": entry.name,
        "requests": count,
        "failures": entry.num_failures,
        "median_ms": _ms(entry.median_response_time) if count else None,
        "p95_ms": _ms(entry.get_response_time_percentile(0.95)) if count else None,
        "p99_ms": _ms(entry.get_response_time_percentile(0.99)) if count else None,
        "average_ms": _ms(entry.avg_response_time) if count else None,
        "max_ms": _ms(entry.max_response_time) if count else None,
        "rps": round(count / seconds, 3) if seconds else None,
        "histogram": {str(ms): n for ms, n in sorted(entry.response_times.items()) if n},
        "failures_by_message": dict(sorted((failures_by_message or {}).items())),
    }


def failures_by_message(stats) -> dict[str, dict[str, int]]:
    """Locust's failures as ``{endpoint key: {message: occurrences}}``."""
    found: dict[str, Counter] = {}
    for error in stats.errors.values():
        message = _error_text(error)
        found.setdefault(entry_key(error.method, error.name), Counter())[message] += error.occurrences
    return {key: dict(counts) for key, counts in found.items()}


def _error_text(error) -> str:
    """The error's message as Locust's report shows it (``to_name()``), on one line."""
    try:
        text = error.to_name()
    except Exception:  # noqa: BLE001 - an error Locust cannot name is still counted
        text = str(error.error)
    return " ".join(str(text).split())[:500]


def wait_time_text(wait_time) -> str:
    """A user class's wait time as text two runs can compare: ``between(min_wait=1, max_wait=3)`` for
    Locust's helpers (their arguments are the closure's values), else the function's name."""
    if wait_time is None:
        return "none"
    function = getattr(wait_time, "__func__", wait_time)
    name = getattr(function, "__qualname__", type(function).__name__).split(".<locals>")[0]
    code = getattr(function, "__code__", None)
    cells = getattr(function, "__closure__", None) or ()
    values = []
    for variable, cell in zip(code.co_freevars if code else (), cells, strict=False):
        try:
            value = cell.cell_contents
        except ValueError:  # an empty cell
            continue
        if isinstance(value, int | float | str | bool):
            values.append(f"{variable}={value!r}")
    return f"{name}({', '.join(values)})"


def _task_name(task) -> str:
    return getattr(task, "__qualname__", None) or getattr(task, "__name__", None) or type(task).__name__


def user_classes(environment) -> list[dict]:
    """Each user class: its weight, wait time and tasks with their weights (Locust repeats a task once per
    unit of weight in ``tasks``)."""
    classes = []
    for user_class in getattr(environment, "user_classes", None) or []:
        tasks = Counter(_task_name(task) for task in getattr(user_class, "tasks", None) or [])
        classes.append(
            {
                "name": user_class.__name__,
                "weight": getattr(user_class, "weight", 1),
                "fixed_count": getattr(user_class, "fixed_count", 0),
                "wait_time": wait_time_text(getattr(user_class, "wait_time", None)),
                "tasks": dict(sorted(tasks.items())),
            }
        )
    return sorted(classes, key=lambda c: c["name"])


def runtime_digest() -> str:
    """A digest of this runtime's source: two runs with the same one ran the same ``tideways_locust``."""
    digest = hashlib.sha256()
    package = Path(__file__).parent
    for path in sorted(package.rglob("*")):
        if path.suffix in (".py", ".j2") and "__pycache__" not in path.parts:
            digest.update(path.relative_to(package).as_posix().encode())
            digest.update(path.read_bytes())
    return digest.hexdigest()[:12]


COMMIT_VARIABLES = ("GITHUB_SHA", "CI_COMMIT_SHA")
"""Where GitHub Actions and GitLab CI name the commit a pipeline runs for."""


def commit_under_test(options) -> str | None:
    given = str(getattr(options, "commit", "") or "").strip()
    if given:
        return given
    return next((os.environ[name].strip() for name in COMMIT_VARIABLES if os.environ.get(name, "").strip()), None)


class RunRecord:
    """The window and per-minute figures of one run, on the master or the only process."""

    def __init__(self, environment, report: TraceReport) -> None:
        self.environment = environment
        self.report = report
        self.start: datetime | None = None
        self.end: datetime | None = None
        self.minutes: list[dict] = []
        self._minute_start: datetime | None = None
        self._seen: dict[str, tuple[dict, int, int]] = {}  # each entry's histogram, requests, failures
        self._ticker = None

    # -- minutes --

    def _snapshot(self) -> dict[str, tuple[dict, int, int]]:
        """Each entry's histogram, requests and failures now; the total under ``""``."""
        stats = self.environment.stats
        entries = [("", stats.total)] + [(entry_key(e.method, e.name), e) for e in stats.entries.values()]
        return {key: (dict(e.response_times), e.num_requests, e.num_failures) for key, e in entries}

    def closeminute_of(self, until: datetime) -> None:
        """Note the figures of the minute that started at ``self._minute_start``, up to ``until``."""
        if self._minute_start is None:
            return
        now = self._snapshot()
        seen = self._seen
        if now[""][1] < seen.get("", ({}, 0, 0))[1]:  # the stats were reset: count from zero
            seen = {}
        figures = {}
        for key, (times, requests, failures) in now.items():
            seen_times, seen_requests, seen_failures = seen.get(key, ({}, 0, 0))
            count = requests - seen_requests
            if key and count <= 0 and failures == seen_failures:
                continue
            delta = diff_response_time_dicts(times, seen_times)
            figures[key] = {
                "requests": count,
                "failures": failures - seen_failures,
                "p95_ms": calculate_response_time_percentile(delta, count, 0.95) if count > 0 else None,
            }
        total = figures.pop("")
        self.minutes.append({"minute": self._minute_start.strftime(MINUTE), **total, "endpoints": figures})
        self._seen = now
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
        seconds = (self.end - self.start).total_seconds() if self.start and self.end else None
        failures = failures_by_message(stats)
        host = without_userinfo(environment.host or getattr(options, "host", None))
        load = getattr(environment, "tideways_load", None)
        sampling = self.report.sampling_figures()
        traced = self.report.endpoints()
        return {
            "format": FORMAT,
            "run_id": figures["run_id"],
            "start": self.start.isoformat(timespec="seconds") if self.start else None,
            "end": self.end.isoformat(timespec="seconds") if self.end else None,
            "host": host,
            "users": getattr(options, "num_users", None),
            "locust": locust_version,
            "settings": {
                "host": host,
                "users": getattr(options, "num_users", None),
                "spawn_rate": getattr(options, "spawn_rate", None),
                "run_time_s": load.seconds() if load and load.seconds() else getattr(options, "run_time", None),
                "load_profile": load.profile.describe() if load and load.profile else "constant",
                "user_classes": user_classes(environment),
                "tags": sorted(getattr(options, "tags", None) or []),
                "exclude_tags": sorted(getattr(options, "exclude_tags", None) or []),
                "login": getattr(options, "app_login", None) or "none",
                "trace_rate": figures["rate_asked"],
                "trace_coverage": sampling["coverage"],
                "trace_budget": sampling["budget"],
                "ref_mode": figures["ref_mode"],
                "locust": locust_version,
                "runtime": runtime_digest(),
                "commit": commit_under_test(options),
                "workers": getattr(options, "expect_workers", None) if getattr(options, "master", False) else None,
            },
            "tolerance": tolerance_settings(options),
            "tideways": {
                "project": str(settings.project) if settings and settings.project else None,
                "environment": settings.environment if settings else None,
                "ref_mode": figures["ref_mode"],
                "traces_link": self.report.run_link(),
                "trace_log": self.report.log_path or None,
                "trace_log_not_written": self.report.not_logged,
                "coverage": sampling["coverage"],
                "budget_per_minute": sampling["budget"] or None,
                "budget_capped": sampling["budget_capped"],
                "redirect_hops_traced": False,
                "lost_workers": list(self.report.lost.values()),
                "none_traced": self.report.why_none_traced(),
            },
            "trace_rate": {"asked": figures["rate_asked"], "reached": figures["rate_reached"]},
            "event": event.as_dict() if (event := getattr(environment, "tideways_event", None)) else None,
            "requests": figures["requests"],
            "traced": figures["traced"],
            "traced_exact": figures["traced_exact"],
            "logins": LOGINS.as_dict(),
            "seconds": round(seconds, 3) if seconds is not None else None,
            "endpoints": [
                {
                    **entry_figures(entry, seconds, failures.get(entry_key(entry.method, entry.name))),
                    **traced.get(entry_key(entry.method, entry.name), {"traced": 0, "slowest_trace": None}),
                }
                for entry in sorted(self._entries(), key=_entry_key)
            ],
            "total": entry_figures(
                stats.total, seconds, {f"{key}: {m}": n for key, found in failures.items() for m, n in found.items()}
            ),
            "minutes": self.minutes,
            "load": load.as_dict() if load else None,
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
            f"{f['requests']} requests sent, {'' if f['traced_exact'] else 'at least '}{f['traced']} traced "
            f"({self.report.rate_words(f)}).",
            "",
            *[_sentence(line.removeprefix("Tideways ")) for line in self.report.sampling_summary()],
            *([""] if self.report.sampling_summary() else []),
            f"[Open the traces of this run in Tideways]({link})" if link else f"Traces: {f['traces']}.",
            "",
        ]
        return "\n".join(lines) + "\n"


def _sentence(text: str) -> str:
    return f"{text[:1].upper()}{text[1:]}."


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
