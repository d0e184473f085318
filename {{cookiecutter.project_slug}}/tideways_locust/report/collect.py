"""Put a run's client side (from the run file) beside Tideways' server side (from its REST API).

The report dict is what ``render`` turns into Markdown and HTML and what is saved
as JSON. Nothing in it is typed by hand: the window, host and Locust's figures
come from the run file the load test wrote; Tideways' figures from the API for
that window; what could not be fetched is named in ``problems``. A run that
followed a load profile also gets ``load``: its stages beside Tideways' minutes
(``stages``), and for steps and breakpoint one more call, for the slowest traces
of the first stage that broke. A run file that records coverage also gives
``coverage``: each endpoint's traced requests, its slowest one and the workers
that were lost (``coverage``).
"""

from __future__ import annotations

import json
import time
from datetime import UTC, datetime, timedelta
from urllib.parse import quote

from ..links import APP_URL, HOW_TO_LINK, TidewaysProject, without_userinfo
from ..runrecord import MINUTE, minute_of
from . import coverage
from .api import TOKEN_VARIABLE, ApiError, RateLimitError, TidewaysApi
from .stages import BROKE_TRACES, LoadStages

FORMAT = 1


class RunFileError(Exception):
    """The run file is missing or not one the load test wrote; the message names it and the problem."""


NONE_TRACED = "none traced (no API key, a trace rate of 0, nothing sent, or none drawn at a low rate)"
"""Why a run file of before ``none_traced`` traced nothing."""


def load_run(path: str) -> dict:
    try:
        with open(path, encoding="utf-8") as source:
            run = json.load(source)
    except FileNotFoundError:
        raise RunFileError(
            f"{path}: no run file: run the load test first (it writes one when --tideways-run-file, "
            "set in locust.conf, names it), or give --run-file"
        ) from None
    except (OSError, UnicodeDecodeError) as error:
        raise RunFileError(f"{path}: cannot be read: {error.strerror or error}") from None
    except json.JSONDecodeError as error:
        raise RunFileError(f"{path}: not JSON (line {error.lineno}, column {error.colno}): {error.msg}") from None
    if not isinstance(run, dict) or run.get("format") != 1:
        raise RunFileError(f"{path}: not a run file of tideways_locust (format 1)")
    for key in ("run_id", "start", "end", "total", "endpoints", "minutes"):
        if run.get(key) in (None, ""):
            raise RunFileError(f"{path}: '{key}' is missing: the run did not start, or the file was cut off")
    try:
        run["_start"] = datetime.fromisoformat(run["start"]).astimezone(UTC)
        run["_end"] = datetime.fromisoformat(run["end"]).astimezone(UTC)
    except (TypeError, ValueError):
        raise RunFileError(f"{path}: 'start' and 'end' must be ISO 8601 times") from None
    if run["_end"] < run["_start"]:
        raise RunFileError(f"{path}: the run ends before it starts")
    return run


def _number(value) -> float | None:
    if isinstance(value, bool) or value is None:
        return None
    try:
        number = float(value)
    except (TypeError, ValueError):
        return None
    return number if number == number and abs(number) != float("inf") else None


def _int(value) -> int | None:
    number = _number(value)
    return None if number is None else int(number)


def _minute_key(key) -> str | None:
    """A ``by_time`` key as ``Y-m-d H:i``: a date string (seconds dropped) or epoch seconds."""
    text = str(key).strip()
    try:
        return datetime.strptime(text[:16], MINUTE).strftime(MINUTE)
    except ValueError:
        pass
    try:
        return datetime.fromtimestamp(int(text), UTC).strftime(MINUTE)
    except (ValueError, OverflowError, OSError):
        return None


def _by_time(application: dict) -> dict[str, dict]:
    raw = application.get("by_time")
    if isinstance(raw, list) and not raw:  # PHP writes an empty object as []
        raw = {}
    if not isinstance(raw, dict):
        raise ApiError("Tideways API: the answer of performance has no 'by_time' object: check TIDEWAYS_API_URL")
    minutes = {}
    for key, figures in raw.items():
        minute = _minute_key(key)
        if minute and isinstance(figures, dict):
            minutes[minute] = figures
    return minutes


class Window:
    """The run's minutes, as Tideways' API takes them (UTC, ``Y-m-d H:i``)."""

    def __init__(self, start: datetime, end: datetime) -> None:
        self.first = minute_of(start)
        self.last = minute_of(end)
        self.minutes = int((self.last - self.first).total_seconds() // 60) + 1

    @property
    def keys(self) -> list[str]:
        return [(self.first + timedelta(minutes=n)).strftime(MINUTE) for n in range(self.minutes)]

    def as_dict(self) -> dict:
        return {"from": self.first.strftime(MINUTE), "to": self.last.strftime(MINUTE), "minutes": self.minutes}


class Collector:
    """Builds the report of one run; every call to the API goes through ``api``."""

    def __init__(
        self,
        run: dict,
        project: TidewaysProject | None,
        environment: str,
        service: str | None,
        api: TidewaysApi | None,
        wait: float = 120.0,
        poll: float = 20.0,
        traces: int = 10,
        clock=time.monotonic,
        sleep=time.sleep,
    ) -> None:
        self.run = run
        self.project = project
        self.environment = environment
        self.service = service
        self.api = api
        self.wait = wait
        self.poll = poll
        self.trace_limit = traces
        self.window = Window(run["_start"], run["_end"])
        self.load = LoadStages.of(run)  # None for a plain constant run
        self.problems: list[str] = []
        self.failed = False  # an API call failed: the report is partial and the command exits non-zero
        self._clock = clock
        self._sleep = sleep

    # -- the parts --

    def links(self) -> dict:
        run = self.run
        if run.get("traced") == 0:  # a link to an empty list would mislead: say why there is none
            why = (run.get("tideways") or {}).get("none_traced") or NONE_TRACED
            return {"traces": None, "help": f"No link: {why}."}
        if self.project is None:
            return {"traces": None, "help": f"No link: {HOW_TO_LINK}."}
        if (run.get("tideways") or {}).get("ref_mode") == "request":
            return {
                "traces": None,
                "help": "Each traced request carried its own X-Tideways-Ref (--tideways-ref-mode request): "
                "each record of the trace log links to its trace.",
            }
        return {"traces": self.project.traces_link(run["run_id"]), "help": None}

    def performance(self) -> tuple[dict, dict[str, dict]] | None:
        """Tideways' figures of the window, once its last minute has arrived or ``wait`` has passed."""
        deadline = self._clock() + self.wait
        last = self.window.last.strftime(MINUTE)
        while True:
            application = self.api.performance(last, self.window.minutes, self.environment, self.service)
            by_time = _by_time(application)
            if (_int((by_time.get(last) or {}).get("requests")) or 0) > 0:
                return application, by_time
            if self._clock() + self.poll > deadline:
                self.problems.append(
                    f"Tideways had no figures for the run's last minute ({last} UTC) after waiting "
                    f"{self.wait:g} s: the server side may be short; run the report again in a few minutes"
                )
                return application, by_time
            self._sleep(self.poll)

    def server(self, application: dict, by_time: dict[str, dict], client_total: dict) -> dict:
        criteria = application.get("criteria") if isinstance(application.get("criteria"), dict) else {}
        answered_env = criteria.get("environment")
        if isinstance(answered_env, str) and answered_env and answered_env != self.environment:
            self.problems.append(
                f"Tideways answered for environment {answered_env!r}, not {self.environment!r}: "
                "check --environment (LOCUST_TIDEWAYS_ENVIRONMENT)"
            )
        in_window = [by_time[key] for key in self.window.keys if key in by_time]
        total = application.get("total") if isinstance(application.get("total"), dict) else {}
        requests = _int(total.get("requests"))
        if requests is None and in_window:
            requests = sum(_int(m.get("requests")) or 0 for m in in_window)
        error_counts = [_int(m.get("errors")) for m in in_window]
        errors = sum(e for e in error_counts if e is not None) if any(e is not None for e in error_counts) else None
        transactions = []
        for item in application.get("by_transactions") or []:
            if not isinstance(item, dict):
                continue
            transactions.append(
                {
                    "name": str(item.get("name") or ""),
                    "requests": _int(item.get("requests")),
                    "errors": _int(item.get("errors")),
                    # Tideways' headline response time is its 95th percentile.
                    "p95_ms": _number(item.get("percentile_95p", item.get("response_time"))),
                    "average_ms": _number(item.get("response_time_average")),
                    "memory_kb": _number(item.get("memory")),
                }
            )
        transactions.sort(key=lambda t: -(t["requests"] or 0))
        sent = client_total.get("requests") or 0
        return {
            "total": {
                "requests": requests,
                "errors": errors,
                "error_rate": round(100.0 * errors / requests, 3) if errors is not None and requests else None,
                "p95_ms": _number(total.get("percentile_95p", total.get("response_time"))),
                "median_ms": _number(total.get("median")),
            },
            "transactions": transactions,
            "reached_php_percent": round(100.0 * requests / sent, 2) if requests is not None and sent else None,
        }

    def minutes(self, by_time: dict[str, dict] | None) -> list[dict]:
        locust = {m.get("minute"): m for m in self.run.get("minutes") or [] if isinstance(m, dict)}
        rows = []
        for key in self.window.keys:
            ours = locust.get(key) or {}
            theirs = (by_time or {}).get(key)
            rows.append(
                {
                    "minute": key,
                    "locust_requests": _int(ours.get("requests")),
                    "locust_failures": _int(ours.get("failures")),
                    "locust_p95_ms": _number(ours.get("p95_ms")),
                    "tideways_requests": _int(theirs.get("requests")) if theirs else None,
                    "tideways_errors": _int(theirs.get("errors")) if theirs else None,
                    "tideways_p95_ms": _number(theirs.get("percentile_95p")) if theirs else None,
                }
            )
        return rows

    def traces(self) -> list[dict]:
        return self._slowest(self.window.first.strftime(MINUTE), self.window.last.strftime(MINUTE), self.trace_limit)

    def broke_traces(self) -> list[dict] | None:
        """The slowest traces of the minutes of the first stage that broke (steps, breakpoint): one call;
        None when no stage broke."""
        window = self.load.broke_window() if self.load is not None else None
        if window is None:
            return None
        try:
            return self._slowest(*window, BROKE_TRACES)
        except ApiError as error:  # the same kind, so a used-up rate limit still stops everything
            raise type(error)(f"the traces of the stage that broke: {error}") from None

    def _slowest(self, first: str, last: str, limit: int) -> list[dict]:
        found = self.api.traces(first, last, self.environment, self.service, limit, "response_time")
        others = {t.get("environment") for t in found if t.get("environment") not in (None, self.environment)}
        problem = (
            f"Tideways answered traces of environment {', '.join(sorted(map(str, others)))}, not "
            f"{self.environment!r}: they are left out; check --environment"
        )
        if others and problem not in self.problems:
            self.problems.append(problem)
        traces = [self._trace(t) for t in found if t.get("environment") in (None, self.environment)]
        traces.sort(key=lambda t: -(t["response_time_ms"] or 0))
        return traces[:limit]

    def _trace(self, trace: dict) -> dict:
        return trace_figures(trace, self.project, self.environment, self.service)

    # -- the whole --

    def build(self) -> dict:
        run = self.run
        client_total = run.get("total") or {}
        server = None
        by_time = None
        traces: list[dict] = []
        broke_traces = None
        if self.project is None:
            self.problems.append(f"Server side not fetched: {HOW_TO_LINK} (or give --project)")
        elif self.api is None:
            self.problems.append(
                f"Server side not fetched: no {TOKEN_VARIABLE} in the environment or .env (an API token of the "
                "organization with the scopes traces and metrics)"
            )
        else:
            try:
                application, by_time = self.performance()
                server = self.server(application, by_time, client_total)
                traces = self.traces()
                broke_traces = self.broke_traces()
            except RateLimitError as error:
                self.failed = True
                self.problems.append(f"{error}; nothing more was asked")
            except ApiError as error:
                self.failed = True
                self.problems.append(str(error))
        tideways = run.get("tideways") or {}
        rate = run.get("trace_rate") or {}
        links = self.links()
        return {
            "format": FORMAT,
            "generated": datetime.now(UTC).isoformat(timespec="seconds"),
            "complete": server is not None and not self.failed,
            "problems": self.problems,
            "run": {
                "id": run["run_id"],
                "start": run["start"],
                "end": run["end"],
                "window": self.window.as_dict(),
                "host": without_userinfo(run.get("host")),  # a run file written before it was left out
                "users": run.get("users"),
                "locust": run.get("locust"),
                "project": str(self.project) if self.project else None,
                "environment": self.environment,
                "service": self.service,
                "ref_mode": tideways.get("ref_mode"),
                "trace_rate": {"asked": rate.get("asked"), "reached": rate.get("reached")},
                "requests": run.get("requests"),
                "traced": run.get("traced"),
            },
            "links": links,
            "coverage": coverage.of(run, self.project, links["traces"]),  # None for a run file of before
            "client": {"endpoints": run.get("endpoints") or [], "total": client_total},
            "server": server,
            "minutes": self.minutes(by_time),
            "traces": traces,
            "load": self.load.as_dict(by_time, broke_traces) if self.load is not None else None,
            "api_calls": self.api.calls if self.api is not None else 0,
        }


def trace_figures(trace: dict, project: TidewaysProject | None, environment: str, service: str | None) -> dict:
    """One trace of the traces API as the reports show it; without ``html_url``, its documented form."""
    trace_id = str(trace.get("id") or "")
    links = trace.get("_links") if isinstance(trace.get("_links"), dict) else {}
    url = links.get("html_url") if isinstance(links.get("html_url"), str) else None
    if url is None and trace_id and project is not None:
        # The documented form of html_url, for traces that come without it.
        service_part = quote(str(trace.get("service") or service or "web"), safe="")
        url = (
            f"{APP_URL}/o/{project.api_path()}/trace/{quote(trace_id, safe='')}/quick"
            f"?s={service_part}&env={quote(environment, safe='')}"
        )
    http = trace.get("http") if isinstance(trace.get("http"), dict) else {}
    layers = [
        {
            "name": str(layer.get("name") or ""),
            "perc": _number(layer.get("perc")),
            "count": _int(layer.get("count")),
            "latency_sum_ms": _number(layer.get("latency_sum_ms")),
        }
        for layer in trace.get("layers") or []
        if isinstance(layer, dict)
    ]
    layers.sort(key=lambda layer: -(layer["perc"] or 0))
    return {
        "id": trace_id,
        "date": str(trace.get("date") or ""),
        "url": url,
        "transaction": str(trace.get("transaction_name") or ""),
        "method": http.get("method") if isinstance(http.get("method"), str) else None,
        "status": _int(http.get("status_code")),
        "request_url": http.get("url") if isinstance(http.get("url"), str) else None,
        "response_time_ms": _number(trace.get("response_time_ms")),
        "memory_kb": _number(trace.get("memory_kb")),
        "bottlenecks": [_bottleneck(b) for b in trace.get("bottlenecks") or [] if _bottleneck(b)],
        "layers": layers,
    }


def _bottleneck(value) -> str:
    if isinstance(value, str):
        return value
    if isinstance(value, dict):
        for key in ("name", "title", "type", "layer"):
            if isinstance(value.get(key), str):
                return value[key]
    return ""
