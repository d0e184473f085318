"""What a run traced: the count, the trace log, the summary line.

The users' tracers count their traced requests; workers pass counts and
records on with Locust's own stats reports; the master (or the only process)
adds them up, writes the trace log and prints the summary when the run ends.
"""

from __future__ import annotations

import json
import logging
import time
from datetime import UTC, datetime
from urllib.parse import urlsplit

from locust.runners import WorkerRunner

from .links import HOW_TO_LINK
from .logins import COUNTS as LOGINS
from .options import DEFAULT_TRACE_RATE, Settings

logger = logging.getLogger("tideways_locust")

REPORT_KEY = "tideways_traces"
"""The key of the workers' share in Locust's stats reports."""


def _path(url) -> str:
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

    @property
    def traced(self) -> int:
        return self.counted + self.from_workers

    @property
    def is_worker(self) -> bool:
        return isinstance(getattr(self.environment, "runner", None), WorkerRunner)

    # -- links --

    def run_link(self) -> str | None:
        """The app's list of this run's traces (run mode), when the project is known."""
        settings = self.settings
        if settings is None or settings.project is None or settings.ref_mode != "run":
            return None
        return settings.project.traces_link(settings.run)

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

    def unanswered(self, method, url, name, ref: str, started: float) -> None:
        """A traced request that the run stopped while it was out: the application got it, Locust
        reports nothing of it, so it is counted and recorded here, marked as unanswered."""
        self.counted += 1
        if self.keep_records:
            path = _path(url)
            self.add(
                [self._record(name or path, method, path, None, (time.perf_counter() - started) * 1000, ref, False)]
            )

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
        report = {"count": self.counted - self.reported, "records": self.pending}
        self.reported, self.pending = self.counted, []
        return report

    def close(self) -> None:
        if self._log is not None:
            self._log.close()
            self._log = None

    # -- figures --

    def figures(self) -> dict:
        options = self.environment.parsed_options
        sent = self.environment.stats.total.num_requests
        settings = self.settings
        return {
            "requests": sent,
            "traced": self.traced,
            "rate_reached": round(100.0 * self.traced / sent, 3) if sent else 0.0,
            "rate_asked": float(getattr(options, "tideways_trace_rate", DEFAULT_TRACE_RATE)),
            "run_id": getattr(options, "tideways_run", ""),
            "ref_mode": settings.ref_mode if settings else "",
            "traces": self.run_link() or self.link_help(),
            "trace_log": self._log_text(),
            "logins": LOGINS.text() or "(none: --app-login)",
        }

    def _log_text(self) -> str:
        if not self.log_path:
            return "(none: --tideways-trace-log)"
        if self.not_logged:
            return f"{self.log_path} (full: {self.not_logged} traced requests not logged)"
        return self.log_path

    def link_help(self) -> str:
        settings = self.settings
        if settings is not None and settings.project is not None:
            return "one link per trace log record (--tideways-ref-mode request)"
        return f"no link: {HOW_TO_LINK}"

    def summary(self) -> str:
        f = self.figures()
        ref = "X-Tideways-Ref" + (" is " if f["ref_mode"] == "run" else " starts with ")
        return (
            f"Tideways: {f['requests']} requests sent, {f['traced']} traced "
            f"({f['rate_reached']:g} %, asked {f['rate_asked']:g} %), "
            f"{ref}{f['run_id']}{'' if f['ref_mode'] == 'run' else '-'}, traces: {f['traces']}, "
            f"trace log: {f['trace_log']}" + (f", logins: {LOGINS.text()}" if LOGINS.text() else "")
        )

    # -- listeners, registered on the environment at init --

    def on_test_start(self, environment, **_kwargs) -> None:
        # On a worker, the master's options (the trace log among them) have arrived now.
        # Every request would pay for a request listener, so there is one only for a log.
        self.keep_records = bool(getattr(environment.parsed_options, "tideways_trace_log", ""))
        if self.keep_records and not self._listening:
            environment.events.request.add_listener(self.on_request)
            self._listening = True

    def on_request(self, request_type, name, response_time, response, context, url=None, **_kwargs) -> None:
        ref = context.get("tideways_ref") if context else None
        if ref is None:
            return
        status = getattr(response, "status_code", None) or 0
        self.add([self._record(name, request_type, _path(url), status, response_time, ref, True)])

    def on_report_to_master(self, client_id, data, **_kwargs) -> None:
        data[REPORT_KEY] = self.take_pending()

    def on_worker_report(self, client_id, data, **_kwargs) -> None:
        report = data.get(REPORT_KEY) or {"count": 0, "records": []}
        for record in report["records"]:
            record["worker"] = client_id
        self.from_workers += report["count"]
        self.add(report["records"])

    def on_reset_stats(self, **_kwargs) -> None:
        self.counted = self.from_workers = self.not_logged = 0
