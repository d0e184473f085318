"""What a run traced: the count, each endpoint's share, the trace log, the summary line.

The users' tracers count their traced requests; workers hand counts and
records to the master every ``FLUSH_INTERVAL`` seconds (and with Locust's own
stats reports); the master (or the only process) adds them up, writes the
trace log and prints the summary when the run ends. A worker that goes missing
is named, with how many of its traced requests may not have reached the
master: then the traced figures are lower bounds, and say so.
"""

from __future__ import annotations

import json
import logging
import math
import time
from datetime import UTC, datetime
from urllib.parse import urlsplit

import gevent
from locust.runners import WorkerRunner

from .links import HOW_TO_LINK
from .logins import COUNTS as LOGINS
from .options import DEFAULT_TRACE_RATE, Settings

logger = logging.getLogger("tideways_locust")

REPORT_KEY = "tideways_traces"
"""The key of the workers' share in Locust's stats reports, and the type of their own messages."""
FLUSH_INTERVAL = 0.5
"""Seconds between a worker's hand-overs: a worker lost mid-run takes at most about one second
of its records with it (Locust's own stats reports come every 3 s)."""
MISSING = "missing"  # Locust's state of a worker whose heartbeats stopped


def path_of(url) -> str:
    """The path and query of ``url``, as a trace log record and requests' session name it."""
    if isinstance(url, bytes):
        url = url.decode("utf-8", "replace")
    parts = urlsplit(url or "")
    return parts.path + (f"?{parts.query}" if parts.query else "")


class TraceReport:
    """What a run traced, per process."""

    def __init__(self, environment) -> None:
        self.environment = environment
        self.counted = 0  # traced requests of this process's users, counted by their tracers
        self.reported = 0  # on a worker: the part of counted already sent to the master
        self.from_workers = 0  # on the master: what the workers reported
        self.keep_records = False  # only a trace log needs them; counting is cheaper
        self.pending: list[dict] = []  # on a worker: records not yet reported to the master
        self.log_path = ""
        self.settings: Settings | None = None  # on the master: the run's, from test start
        self._log = None
        self._listening = False
        self.log_limit, self.log_limit_mb = 0, 0.0  # what the log may hold; 0: no limit
        self.log_bytes = 0
        self.not_logged = 0  # records a full log did not take
        self.sampling = None  # the run's sampling.SamplerSetup, set at init
        # Traced requests by endpoint: [count, slowest ms, its ref, its URL]; on a worker, since its last hand-over.
        self.by_endpoint: dict[str, list] = {}
        self.capped_from_workers = 0  # on the master: requests the workers' budgets left untraced
        self.workers: dict[str, dict] = {}  # on the master: each worker's hand-overs, by client id
        self.lost: dict[str, dict] = {}  # on the master: the workers that went missing, by client id
        self._final = False  # on a worker: the run stopped, so the next hand-over is its last
        self._capped_reported = 0  # on a worker: the part of its budget's capped count already handed over
        self._started = time.monotonic()
        self._flusher = None

    @property
    def traced(self) -> int:
        return self.counted + self.from_workers

    @property
    def exact(self) -> bool:
        """Whether every traced request has been counted: no worker went missing with records."""
        return not self.lost

    @property
    def is_worker(self) -> bool:
        return isinstance(getattr(self.environment, "runner", None), WorkerRunner)

    # -- links --

    def run_link(self, traced_only: bool = True) -> str | None:
        """The app's list of this run's traces (run mode), when the project is known and, ``traced_only``,
        a request was traced (the run's event names it before any was)."""
        settings = self.settings
        if (
            settings is None
            or settings.project is None
            or settings.ref_mode != "run"
            or (traced_only and not self.traced)
        ):
            return None
        return settings.project.traces_link(settings.run)

    def why_none_traced(self) -> str | None:
        """Why no request of the run carried a profiling header, when none did; ``None`` when one did."""
        if self.traced:
            return None
        settings = self.settings
        sent = self.environment.stats.total.num_requests if self.environment is not None else 0
        if settings is None:
            return "none traced: the run has not started"
        if not settings.api_key:
            return "none traced: the run had no Tideways API key (LOCUST_TIDEWAYS_APIKEY) to sign a header with"
        if settings.rate == 0 and not settings.coverage:
            return "none traced: the trace rate is 0 (--tideways-trace-rate) and coverage is off"
        if not sent:
            return "none traced: no request was sent"
        return f"none traced: none of the {sent} requests was drawn at {settings.rate:g} %"

    def record_link(self, ref: str) -> str | None:
        settings = self.settings
        if settings is None or settings.project is None:
            return None
        return settings.project.traces_link(ref)

    # -- records --

    def open_log(self, path: str, limit_mb: float = 0) -> None:
        self.log_path = path
        self.log_limit, self.log_limit_mb = int(limit_mb * 1024 * 1024), limit_mb
        if path:
            self._log = open(path, "a", encoding="utf-8")  # noqa: SIM115 - open for the whole run
            self.log_bytes = self._log.tell()

    def add(self, records: list[dict]) -> None:
        """Keep the records of traced requests: the master's log, or a worker's next report."""
        if self.is_worker:
            self.pending.extend(records)
            return
        if self._log is not None and records:
            for record in records:
                record["link"] = self.record_link(record["ref"])
            text = "".join(json.dumps(record, ensure_ascii=False) + "\n" for record in records)
            size = len(text.encode("utf-8"))
            if self.log_limit and self.log_bytes + size > self.log_limit:
                if not self.not_logged:
                    logger.warning(
                        "Tideways: the trace log %s is full (--tideways-trace-log-max-mb %g): later traced "
                        "requests are counted, not logged",
                        self.log_path,
                        self.log_limit_mb,
                    )
                self.not_logged += len(records)
                return
            self._log.write(text)
            self._log.flush()  # a run that is stopped or crashes keeps every record it reported
            self.log_bytes += size

    def note_traced(self, method, name, ref: str, url, response_time_ms: float) -> None:
        """Count one traced request that Locust reported, for its endpoint too."""
        self.counted += 1
        key = f"{method} {name}"
        found = self.by_endpoint.get(key)
        if found is None:
            self.by_endpoint[key] = [1, response_time_ms, ref, url]
        else:
            found[0] += 1
            if response_time_ms > found[1]:
                found[1:] = [response_time_ms, ref, url]

    def unanswered(self, method, url, name, ref: str, started: float) -> None:
        """A traced request that the run stopped while it was out: the application got it, Locust
        reports nothing of it, so it is counted and recorded here, marked as unanswered."""
        elapsed_ms = (time.perf_counter() - started) * 1000
        self.note_traced(method, name, ref, url, 0.0)
        if self.keep_records:
            path = path_of(url)
            self.add([self._record(name or path, method, path, None, elapsed_ms, ref, False)])

    def _merge_endpoints(self, found: dict[str, list]) -> None:
        for key, (count, slowest_ms, ref, url) in found.items():
            mine = self.by_endpoint.get(key)
            if mine is None:
                self.by_endpoint[key] = [count, slowest_ms, ref, url]
            else:
                mine[0] += count
                if slowest_ms > mine[1]:
                    mine[1:] = [slowest_ms, ref, url]

    @staticmethod
    def _record(name, method, path, status, response_time_ms, ref, answered) -> dict:
        return {
            "time": datetime.now(UTC).isoformat(timespec="milliseconds"),
            "name": name,
            "method": str(method).upper(),
            "path": path,
            "status": status,
            "response_time_ms": round(response_time_ms or 0, 3),
            "ref": ref,
            "answered": answered,
            "worker": "local",
        }

    def take_pending(self) -> dict:
        """A worker's hand-over: what its users traced since the last one."""
        capped = self._capped()
        by_endpoint = {key: [n, ms, ref, path_of(url)] for key, (n, ms, ref, url) in self.by_endpoint.items()}
        report = {
            "count": self.counted - self.reported,
            "records": self.pending,
            "endpoints": by_endpoint,
            "capped": capped - self._capped_reported,
            "final": self._final,  # its users have stopped: nothing comes after this one
        }
        self.reported, self.pending, self.by_endpoint, self._capped_reported = self.counted, [], {}, capped
        return report

    def _capped(self) -> int:
        sampler = self.sampling.sampler if self.sampling is not None else None
        return sampler.budget.capped if sampler is not None and sampler.budget is not None else 0

    def close(self) -> None:
        if self._flusher is not None:
            self._flusher.kill(block=False)
            self._flusher = None
        if self._log is not None:
            self._log.close()
            self._log = None

    # -- workers --

    def _flush(self) -> None:
        """On a worker: hand the master what the users traced, every ``FLUSH_INTERVAL`` seconds
        (nothing new is handed over too: the master sees that the worker is there)."""
        runner = self.environment.runner
        while True:  # ends with the worker (killed at quit)
            gevent.sleep(FLUSH_INTERVAL)
            runner.send_message(REPORT_KEY, self.take_pending())

    def _watch(self) -> None:
        """On the master: note each worker that Locust finds missing (its heartbeats stopped)."""
        while True:  # ends with the master (killed at quit)
            gevent.sleep(FLUSH_INTERVAL)
            self.note_missing()

    def note_missing(self, quitting: bool = False) -> None:
        """Note the workers Locust found missing and, ``quitting``, those whose last hand-over (sent
        once their users stopped) has not come: a worker killed shortly before the end, which
        Locust's heartbeats (3 s) had no time to find missing."""
        clients = getattr(getattr(self.environment, "runner", None), "clients", None) or {}
        for node in list(clients.values()):
            if node.state == MISSING and node.id not in self.lost:
                self.lost[node.id] = self._lost(node.id)
                logger.warning("Tideways lost worker: %s", self.lost_text(self.lost[node.id]))
        if quitting:
            for worker, seen in self.workers.items():
                if not seen["final"] and worker not in self.lost:
                    self.lost[worker] = self._lost(worker)

    def _lost(self, worker: str) -> dict:
        seen = self.workers.get(worker) or {"last": None, "last_monotonic": 0.0, "traced": 0}
        # Its records since its last hand-over, FLUSH_INTERVAL before it died at most (a second with
        # the delays of a busy worker), had not reached the master: estimated from the rate it traced
        # at until then.
        seconds = max(seen["last_monotonic"] - self._started, FLUSH_INTERVAL) if seen["last"] else None
        per_second = seen["traced"] / seconds if seconds else 0.0
        return {
            "worker": worker,
            "index": self._index(worker),
            "last_report": seen["last"].isoformat(timespec="milliseconds") if seen["last"] else None,
            "traced_reported": seen["traced"],
            "may_be_missing": math.ceil(per_second * 2 * FLUSH_INTERVAL),
        }

    def _index(self, worker: str) -> int | None:
        indexes = getattr(getattr(self.environment, "runner", None), "worker_indexes", None) or {}
        return indexes.get(worker)

    @staticmethod
    def lost_text(lost: dict) -> str:
        last = lost["last_report"]
        since = f"after its last report at {last[11:23]} UTC" if last else "(none reached the master)"
        index = f" {lost['index']}" if lost.get("index") is not None else ""
        return (
            f"worker{index} {lost['worker']} stopped reporting mid-run: up to about {lost['may_be_missing']} of its "
            f"traced requests {since} are not counted, so the traced figures are lower bounds"
        )

    # -- figures --

    def endpoints(self) -> dict[str, dict]:
        """Each endpoint's traced requests and its slowest traced one (the run's, on the master)."""
        return {
            key: {
                "traced": count,
                "slowest_trace": {
                    "ref": ref,
                    "response_time_ms": round(slowest_ms, 3),
                    "path": path_of(url),
                    "link": self.record_link(ref),
                },
            }
            for key, (count, slowest_ms, ref, url) in self.by_endpoint.items()
        }

    def untraced_endpoints(self) -> list[str]:
        """The endpoints Locust counted requests of that got no callgraph."""
        stats = self.environment.stats
        requested = {f"{e.method} {e.name}" for e in stats.entries.values() if e.num_requests or e.num_failures}
        return sorted(requested - set(self.by_endpoint))

    def sampling_figures(self) -> dict:
        settings = self.settings
        coverage = settings.coverage if settings else 0
        budget = settings.budget if settings else 0
        return {"coverage": coverage, "budget": budget, "budget_capped": self._capped() + self.capped_from_workers}

    def figures(self) -> dict:
        options = self.environment.parsed_options
        sent = self.environment.stats.total.num_requests
        settings = self.settings
        sampling = self.sampling_figures()
        untraced = self.untraced_endpoints()
        requested = len(untraced) + len(self.by_endpoint)
        return {
            "requests": sent,
            "traced": self.traced,
            "traced_exact": self.exact,
            "rate_reached": round(100.0 * self.traced / sent, 3) if sent else 0.0,
            "rate_asked": float(getattr(options, "tideways_trace_rate", DEFAULT_TRACE_RATE)),
            "run_id": getattr(options, "tideways_run", ""),
            "ref_mode": settings.ref_mode if settings else "",
            "traces": self.run_link() or self.link_help(),
            "trace_log": self._log_text(),
            "logins": LOGINS.text() or "(none: --app-login)",
            "endpoints_traced": f"{requested - len(untraced)} of {requested}"
            + (f" (first {sampling['coverage']} of each)" if sampling["coverage"] else ""),
            "no_callgraph": ", ".join(untraced) or "(none)",
            "budget": (
                f"{sampling['budget']} a minute, {sampling['budget_capped']} chosen requests left untraced"
                if sampling["budget"]
                else "(none: --tideways-trace-budget)"
            ),
            "lost_workers": "; ".join(self.lost_text(lost) for lost in self.lost.values()) or "(none)",
        }

    def _log_text(self) -> str:
        if not self.log_path:
            return "(none: --tideways-trace-log)"
        if self.not_logged:
            return f"{self.log_path} (full: {self.not_logged} traced requests not logged)"
        return self.log_path

    def link_help(self) -> str:
        if why := self.why_none_traced():
            return why
        settings = self.settings
        if settings is not None and settings.project is not None:
            return "one link per trace log record (--tideways-ref-mode request)"
        return f"no link: {HOW_TO_LINK}"

    def summary(self) -> str:
        f = self.figures()
        ref = "X-Tideways-Ref" + (" is " if f["ref_mode"] == "run" else " starts with ")
        return (
            f"Tideways: {f['requests']} requests sent, {'' if f['traced_exact'] else 'at least '}{f['traced']} traced "
            f"({self.rate_words(f)}), "
            f"{ref}{f['run_id']}{'' if f['ref_mode'] == 'run' else '-'}, traces: {f['traces']}, "
            f"trace log: {f['trace_log']}" + (f", logins: {LOGINS.text()}" if LOGINS.text() else "")
        )

    def rate_words(self, figures: dict | None = None) -> str:
        """The reached and the asked rate, and why they differ: ``5.33 %, asked 1 %, ...``."""
        f, sampling = figures or self.figures(), self.sampling_figures()
        asked = f"asked {f['rate_asked']:g} %"
        if sampling["coverage"]:
            asked += f" plus the first {sampling['coverage']} of each endpoint"
        chance = "each request drawn on its own: the share nears the rate over many requests"
        return f"{f['rate_reached']:g} %, {asked}, {chance}"

    def sampling_summary(self) -> list[str]:
        """The lines on the coverage, the budget and lost workers, when there is something to say."""
        sampling = self.sampling_figures()
        lines = []
        if sampling["coverage"]:
            untraced = self.untraced_endpoints()
            line = (
                f"Tideways coverage (the first {sampling['coverage']} requests of each endpoint): "
                f"{len(self.by_endpoint)} of {len(self.by_endpoint) + len(untraced)} endpoints traced"
            )
            lines.append(line + (f"; no callgraph: {', '.join(untraced)}" if untraced else ""))
        if sampling["budget"] and sampling["budget_capped"]:
            lines.append(
                f"Tideways budget: {sampling['budget']} traced requests a minute capped the rate: "
                f"{sampling['budget_capped']} requests chosen for a trace were sent without one"
            )
        lines += [f"Tideways lost worker: {self.lost_text(lost)}" for lost in self.lost.values()]
        return lines

    # -- listeners, registered on the environment at init --

    def on_test_start(self, environment, **_kwargs) -> None:
        # On a worker, the master's options (the trace log among them) have arrived now.
        # Every request would pay for a request listener, so there is one only for a log.
        self.keep_records = bool(getattr(environment.parsed_options, "tideways_trace_log", ""))
        if self.keep_records and not self._listening:
            environment.events.request.add_listener(self.on_request)
            self._listening = True
        self._started = time.monotonic()
        self._final = False
        self.workers, self.lost = {}, {}
        if self._flusher is None:
            if self.is_worker:
                self._flusher = gevent.spawn(self._flush)
            elif hasattr(getattr(environment, "runner", None), "clients"):
                self._flusher = gevent.spawn(self._watch)

    def on_request(self, request_type, name, response_time, response, context, url=None, **_kwargs) -> None:
        ref = context.get("tideways_ref") if context else None
        if ref is None:
            return
        status = getattr(response, "status_code", None) or 0
        self.add([self._record(name, request_type, path_of(url), status, response_time, ref, True)])

    def on_test_stop(self, **_kwargs) -> None:
        self._final = True

    def on_report_to_master(self, client_id, data, **_kwargs) -> None:
        data[REPORT_KEY] = self.take_pending()

    def on_worker_report(self, client_id, data, **_kwargs) -> None:
        report = data.get(REPORT_KEY) or {"count": 0, "records": []}
        for record in report["records"]:
            record["worker"] = client_id
        self.from_workers += report["count"]
        self.capped_from_workers += report.get("capped", 0)
        self._merge_endpoints(report.get("endpoints") or {})
        seen = self.workers.setdefault(client_id, {"last": None, "last_monotonic": 0.0, "traced": 0, "final": False})
        seen["last"], seen["last_monotonic"] = datetime.now(UTC), time.monotonic()
        seen["traced"] += report["count"]
        seen["final"] = bool(report.get("final"))
        self.add(report["records"])

    def on_worker_message(self, environment, msg, **_kwargs) -> None:
        """A worker's hand-over between Locust's stats reports (a custom message)."""
        self.on_worker_report(msg.node_id, {REPORT_KEY: msg.data})

    def on_reset_stats(self, **_kwargs) -> None:
        self.counted = self.from_workers = self.not_logged = self.capped_from_workers = 0
        self.by_endpoint = {}
