"""Trigger Tideways callgraph traces from Locust users, and find them again.

Tideways takes a full callgraph trace of a PHP request that carries a valid,
fresh ``X-Tideways-Profiler`` header. ``HttpTidewaysUser`` and
``FastHttpTidewaysUser`` add that header to a sample of the requests their
``self.client`` sends: ``--tideways-trace-rate`` percent of them (default 1),
signed with the key from ``--tideways-apikey`` / ``LOCUST_TIDEWAYS_APIKEY``.
User code needs no change; ``self.tidewaysProfilingHeaders()`` from the
Tideways documentation keeps working.

Each traced request also carries ``X-Tideways-Ref``, an id that starts with the
run's id, so one search in Tideways finds the run's traces. The master (or the
only process) counts traced requests, writes them to ``--tideways-trace-log``
and prints a summary when the run ends; the web UI shows it in a Tideways tab.

The header follows Tideways' own server-side check (``Tideways.php``,
``decideProfiling()``)::

    key     = hex MD5 of the API key
    message = "method=" + METHOD + "&time=" + EXPIRES + "&user=" + USER
    header  = message + "&hash=" + hex HMAC-SHA256(key, message)

A wrong or expired header makes Tideways skip monitoring the request
altogether, which is worse than sending none, so every traced request is
signed when it is sent.
"""

from __future__ import annotations

import argparse
import functools
import hashlib
import hmac
import itertools
import json
import logging
import math
import os
import random
import re
import secrets
import time
from collections.abc import Mapping
from datetime import UTC, datetime
from urllib.parse import urlsplit

from locust import FastHttpUser, HttpUser, events
from locust.clients import HttpSession
from locust.runners import WorkerRunner

__all__ = [
    "PROFILER_HEADER",
    "REF_HEADER",
    "FastHttpTidewaysUser",
    "HttpTidewaysUser",
    "TidewaysSigner",
    "parse_trace_rate",
]

PROFILER_HEADER = "X-Tideways-Profiler"
REF_HEADER = "X-Tideways-Ref"
DEFAULT_TRACE_RATE = 1.0
DEFAULT_TTL = 120
"""Seconds a signature stays valid; Tideways' documentation uses 120."""
MAX_TTL = 86400

logger = logging.getLogger(__name__)

_PROFILER_LOWER = PROFILER_HEADER.lower()
_REF_LOWER = REF_HEADER.lower()
_ABSOLUTE_URL = re.compile(r"^https?://", re.IGNORECASE)
_DEFAULT_PORTS = {"http": 80, "https": 443}
_RUN_ID = re.compile(r"^[A-Za-z0-9._-]{1,64}$")
_REPORT_KEY = "tideways_traces"

Headers = Mapping[str, str] | None

# Where this process's reference ids come from: one token a process, one count a request.
_PROCESS_TOKEN = secrets.token_hex(4)
_REF_NUMBERS = itertools.count(1)
_USER_NUMBERS = itertools.count(1)


class TidewaysSigner:
    """Builds ``X-Tideways-Profiler`` values for one API key."""

    __slots__ = ("_expires", "_header", "_key")

    def __init__(self, api_key: str) -> None:
        # Tideways keys the HMAC with the hex MD5 of the API key, not with the key.
        self._key = hashlib.md5(api_key.encode("utf-8")).hexdigest().encode("ascii")
        self._expires = 0
        self._header = ""

    def header(self, expires: int, method: str = "", user: str = "") -> str:
        """The header value for a trace that may start until Unix time ``expires``."""
        message = f"method={method}&time={expires}&user={user}"
        digest = hmac.digest(self._key, message.encode("utf-8"), "sha256").hex()
        return f"{message}&hash={digest}"

    def fresh_header(self, ttl: int = DEFAULT_TTL) -> str:
        """A header valid from now for ``ttl`` seconds.

        The header depends only on the key and the expiry second, so all the
        requests of one second get the value that signing each of them would
        give: it is computed once a second, not once a request.
        """
        expires = int(time.time()) + ttl
        if expires != self._expires:
            self._header = self.header(expires)
            self._expires = expires
        return self._header


@functools.lru_cache(maxsize=16)
def _signer(api_key: str) -> TidewaysSigner:
    """One signer a key, shared by the users of a process."""
    return TidewaysSigner(api_key)


# -- options ------------------------------------------------------------------------------------


def parse_trace_rate(value: object) -> float:
    """Read a trace rate: a percentage from 0 (tracing off) to 100 (every request)."""
    try:
        rate = float(value)  # type: ignore[arg-type]
    except (TypeError, ValueError):
        rate = math.nan
    if not 0.0 <= rate <= 100.0:  # also rejects nan and inf
        raise argparse.ArgumentTypeError(
            f"{value!r} is not allowed: give a number from 0 to 100 "
            "(percent of requests to trace, decimals like 0.5 allowed, 0 turns tracing off)"
        )
    return rate


def parse_ttl(value: object) -> int:
    """Read a validity window: whole seconds from 1 to a day."""
    text = str(value).strip()
    if not text.isdigit() or not 1 <= int(text) <= MAX_TTL:
        raise argparse.ArgumentTypeError(f"{value!r} is not allowed: give whole seconds from 1 to {MAX_TTL}")
    return int(text)


def parse_seed(value: object) -> int | None:
    """Read a sampling seed: a whole number, or empty for none."""
    text = str(value).strip()
    if not text:
        return None
    try:
        return int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"{value!r} is not allowed: give a whole number, or nothing") from None


def parse_run_id(value: object) -> str:
    """Read a run id: empty (one is made up) or 1 to 64 letters, digits, '.', '_' or '-'."""
    text = str(value).strip()
    if text and not _RUN_ID.match(text):
        raise argparse.ArgumentTypeError(
            f"{value!r} is not allowed: give 1 to 64 letters, digits, '.', '_' or '-', or nothing"
        )
    return text


def parse_trace_log(value: object) -> str:
    """Read a trace log path: empty (no log), or a file in a folder that exists and can be written."""
    path = str(value).strip()
    if path:
        folder = os.path.dirname(os.path.abspath(path))
        if os.path.isdir(path) or not os.path.isdir(folder) or not os.access(folder, os.W_OK):
            raise argparse.ArgumentTypeError(
                f"{value!r} is not allowed: give a file path in a folder that exists and can be written"
            )
    return path


@events.init_command_line_parser.add_listener
def _add_tideways_arguments(parser) -> None:
    parser.add_argument(
        "--tideways-apikey",
        type=str,
        env_var="LOCUST_TIDEWAYS_APIKEY",
        default="",
        # is_secret only masks the input field; the value would still be written
        # into the web UI page, so the key never goes there.
        include_in_web_ui=False,
        help="Tideways API key that signs the trace trigger header. Empty: no traces.",
    )
    parser.add_argument(
        "--tideways-trace-rate",
        type=parse_trace_rate,
        env_var="LOCUST_TIDEWAYS_TRACE_RATE",
        # A float default: the web UI converts its field with type(default).
        default=DEFAULT_TRACE_RATE,
        help="Percent of requests that trigger a Tideways trace, 0 to 100 (default 1).",
    )
    parser.add_argument(
        "--tideways-trace-ttl",
        type=parse_ttl,
        env_var="LOCUST_TIDEWAYS_TRACE_TTL",
        default=DEFAULT_TTL,
        help=f"Seconds a trace trigger stays valid, 1 to {MAX_TTL} (default {DEFAULT_TTL}).",
    )
    parser.add_argument(
        "--tideways-trace-log",
        type=parse_trace_log,
        env_var="LOCUST_TIDEWAYS_TRACE_LOG",
        default="",
        include_in_web_ui=False,
        help="Append one JSON line per traced request to this file (on the master). Empty: no log.",
    )
    parser.add_argument(
        "--tideways-trace-seed",
        type=parse_seed,
        env_var="LOCUST_TIDEWAYS_TRACE_SEED",
        default=None,
        include_in_web_ui=False,
        help="Seed the sampling, so a single-process run traces the same requests again. Default: random.",
    )
    parser.add_argument(
        "--tideways-run-id",
        type=parse_run_id,
        env_var="LOCUST_TIDEWAYS_RUN_ID",
        default="",
        include_in_web_ui=False,
        help="Id that starts every X-Tideways-Ref of a run (default: made up at each start).",
    )


class _Settings:
    """The options as one user reads them when it starts (so workers see the master's)."""

    def __init__(self, options) -> None:
        self.api_key = (getattr(options, "tideways_apikey", "") or "").strip()
        self.rate = parse_trace_rate(getattr(options, "tideways_trace_rate", DEFAULT_TRACE_RATE))
        self.ttl = parse_ttl(getattr(options, "tideways_trace_ttl", DEFAULT_TTL))
        self.seed = getattr(options, "tideways_trace_seed", None)
        self.run = getattr(options, "tideways_run", "") or _new_run_id()


def _new_run_id() -> str:
    return f"{datetime.now(UTC):%Y%m%dT%H%M%S}-{secrets.token_hex(2)}"


# -- deciding and signing, per user ------------------------------------------------------------


def _origin(url: str) -> tuple[str, str, int] | None:
    try:
        parts = urlsplit(url)
        scheme = parts.scheme.lower()
        return scheme, (parts.hostname or "").lower(), parts.port or _DEFAULT_PORTS.get(scheme, 0)
    except ValueError:
        return None


class _Tracer:
    """Decides for each request of one user whether it carries a profiling header.

    One a user, so its state is kept small (slots, no closures): a 1,000-user run
    holds a thousand of them.
    """

    __slots__ = (
        "_decided",
        "_draw",
        "_fresh_header",
        "_origin",
        "_pending",
        "_prepare_request",
        "_ref_prefix",
        "_send",
        "_threshold",
        "_ttl",
        "rate",
        "report",
    )

    def __init__(self, options, host: str | None, report: TraceReport | None = None) -> None:
        settings = _Settings(options)
        self.rate = settings.rate
        self.report = report if report is not None else TraceReport(None)
        self._ttl = settings.ttl
        self._ref_prefix = f"{settings.run}-{_PROCESS_TOKEN}-"
        signer = _signer(settings.api_key) if settings.api_key and self.rate > 0 else None
        self._fresh_header = signer.fresh_header if signer is not None else None
        # A request is traced when a draw from [0, 1) falls below this; 0 traces nothing.
        self._threshold = self.rate / 100.0 if signer is not None else 0.0
        self._origin = _origin(host or "")
        user_number = next(_USER_NUMBERS)
        self._draw = (random if settings.seed is None else random.Random(f"{settings.seed}/{user_number}")).random
        # Set by tidewaysProfilingHeaders(): the next request was sampled already.
        self._decided = False
        # Trace headers on their way to requests' prepared request.
        self._pending: dict | None = None
        self._send = self._prepare_request = None

    def _sampled(self) -> bool:
        return self._draw() < self._threshold

    def _same_origin(self, url) -> bool:
        if isinstance(url, bytes):
            url = url.decode("utf-8", "replace")
        if not _ABSOLUTE_URL.match(url):
            return True  # relative: Locust sends it to the host under test
        return self._origin is not None and _origin(url) == self._origin

    def _trace_headers(self) -> dict[str, str]:
        return {
            PROFILER_HEADER: self._fresh_header(self._ttl),  # type: ignore[misc]
            REF_HEADER: f"{self._ref_prefix}{next(_REF_NUMBERS)}",
        }

    def explicit_headers(self) -> dict[str, str]:
        self._decided = True
        return self._trace_headers() if self._sampled() else {}

    def prepare(self, url, headers: Headers) -> tuple[Headers, dict[str, str] | None, str | None]:
        """The caller's headers to send, the trace headers to add, and a traced request's reference id."""
        decided, self._decided = self._decided, False
        if headers and any(name.lower() == _PROFILER_LOWER for name in headers):
            if not self._same_origin(url):
                return {k: v for k, v in headers.items() if k.lower() not in (_PROFILER_LOWER, _REF_LOWER)}, None, None
            ref = next((v for k, v in headers.items() if k.lower() == _REF_LOWER), None)
            if ref is None:  # signed elsewhere: give it an id so it can be found
                ref = f"{self._ref_prefix}{next(_REF_NUMBERS)}"
                return headers, {REF_HEADER: ref}, ref
            return headers, None, ref  # signed by tidewaysProfilingHeaders(): never sign twice
        if decided or not self._sampled() or not self._same_origin(url):
            return headers, None, None
        added = self._trace_headers()
        return headers, added, added[REF_HEADER]

    def install(self, client) -> None:
        """Send every request of ``client`` (Locust's HttpSession or FastHttpSession) through ``request``."""
        self._send = client.request
        client.request = self.request
        if isinstance(client, HttpSession):
            # requests merges any headers= passed with the session's, which costs more than the
            # trace itself, so a traced request gets its headers on requests' prepared request.
            self._prepare_request = client.prepare_request
            client.prepare_request = self.prepare_request

    def prepare_request(self, request):
        """requests' ``Session.prepare_request``, plus the trace headers of the request being sent."""
        prepared = self._prepare_request(request)  # type: ignore[misc]
        if self._pending is not None:
            prepared.headers.update(self._pending)
            self._pending = None
        return prepared

    def request(self, method, url, *args, headers=None, **kwargs):
        """Locust's ``client.request``, sampled for a trace.

        Every request pays for this, so its common cases are kept short: a request without
        headers that the draw leaves untraced goes straight on; a traced one is counted
        once Locust has reported it, and carries its id in Locust's request ``context``
        only when a trace log wants a record of it. Calls to send() without ``*args`` or
        ``**kwargs`` run inline in Python 3.11+; with them, in a new C frame, which deepens
        the stack that gevent copies at every switch of a user.
        """
        send = self._send
        if headers is None and not self._decided:  # the common case, kept short
            if self._draw() >= self._threshold or (url[:1] != "/" and not self._same_origin(url)):
                return send(method, url, *args, **kwargs) if args or kwargs else send(method, url)
            added = self._trace_headers()
            ref = added[REF_HEADER]
        else:
            headers, added, ref = self.prepare(url, headers)
            if ref is None:
                return send(method, url, *args, headers=headers, **kwargs)
        report = self.report
        if report.keep_records:
            kwargs["context"] = {**(kwargs.get("context") or {}), "tideways_ref": ref}
        if added is not None:
            if self._prepare_request is not None:
                self._pending = added  # taken by prepare_request() before anything yields
            else:
                headers = {**headers, **added} if headers else added
        try:
            if args or kwargs:
                response = send(method, url, *args, headers=headers, **kwargs)
            else:
                response = send(method, url, headers=headers)
        finally:
            self._pending = None
        # Done: Locust has reported it (a catch_response request is reported when its block ends).
        report.counted += 1
        return response


class _TidewaysUserMixin:
    """Samples every request of ``self.client`` for a Tideways trace.

    Locust builds the client inside ``User.__init__`` and offers no way to pick
    its class. Both of its clients send every verb (and ``rest()``) through
    ``client.request()``, so wrapping that one method of the user's own client
    sees every request.
    """

    def __init__(self, *args, **kwargs) -> None:
        super().__init__(*args, **kwargs)
        report = getattr(self.environment, "tideways_report", None)
        self._tideways = _Tracer(self.environment.parsed_options, self.host, report)
        self._tideways.install(self.client)

    def tidewaysProfilingHeaders(self) -> dict[str, str]:  # noqa: N802 - Tideways' documented name
        """The trace headers for a sampled request, else ``{}``.

        Kept for code written against Tideways' documentation, which passes the
        result as ``headers=``. The next request then is not sampled again.
        """
        return self._tideways.explicit_headers()


class HttpTidewaysUser(_TidewaysUserMixin, HttpUser):
    """An ``HttpUser`` whose requests trigger Tideways traces at the trace rate."""

    abstract = True


class FastHttpTidewaysUser(_TidewaysUserMixin, FastHttpUser):
    """A ``FastHttpUser`` whose requests trigger Tideways traces at the trace rate."""

    abstract = True


# -- counting, the trace log and the summary, per process -------------------------------------


class TraceReport:
    """What a run traced, per process. The users' tracers count the traced requests;
    workers pass their counts and records on with Locust's stats reports; the master
    (or the only process) adds them up and writes the trace log."""

    def __init__(self, environment) -> None:
        self.environment = environment
        self.counted = 0  # traced requests of this process's users, counted by their tracers
        self.reported = 0  # on a worker: the part of counted already sent to the master
        self.from_workers = 0  # on the master: what the workers reported
        self.keep_records = False  # only a trace log needs them; counting is cheaper
        self.pending: list[dict] = []  # on a worker: records not yet reported to the master
        self.log_path = ""
        self._log = None
        self._listening = False

    @property
    def traced(self) -> int:
        return self.counted + self.from_workers

    @property
    def is_worker(self) -> bool:
        return isinstance(getattr(self.environment, "runner", None), WorkerRunner)

    def open_log(self, path: str) -> None:
        self.log_path = path
        if path:
            self._log = open(path, "a", encoding="utf-8")  # noqa: SIM115 - open for the whole run

    def add(self, records: list[dict]) -> None:
        """Keep the records of traced requests: the master's log, or a worker's next report."""
        if self.is_worker:
            self.pending.extend(records)
            return
        if self._log is not None and records:
            self._log.write("".join(json.dumps(record, ensure_ascii=False) + "\n" for record in records))
            self._log.flush()  # a run that is stopped or crashes keeps every record it reported

    def take_pending(self) -> dict:
        report = {"count": self.counted - self.reported, "records": self.pending}
        self.reported, self.pending = self.counted, []
        return report

    def close(self) -> None:
        if self._log is not None:
            self._log.close()
            self._log = None

    def figures(self) -> dict:
        options = self.environment.parsed_options
        sent = self.environment.stats.total.num_requests
        return {
            "requests": sent,
            "traced": self.traced,
            "rate_reached": round(100.0 * self.traced / sent, 3) if sent else 0.0,
            "rate_asked": float(getattr(options, "tideways_trace_rate", DEFAULT_TRACE_RATE)),
            "run_id": getattr(options, "tideways_run", ""),
            "trace_log": self.log_path or "(none: --tideways-trace-log)",
        }

    def summary(self) -> str:
        f = self.figures()
        return (
            f"Tideways: {f['requests']} requests sent, {f['traced']} traced "
            f"({f['rate_reached']:g} %, asked {f['rate_asked']:g} %), "
            f"X-Tideways-Ref starts with {f['run_id']}-, trace log: {f['trace_log']}"
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
        parts = urlsplit(url or "")
        record = {
            "time": datetime.now(UTC).isoformat(timespec="milliseconds"),
            "name": name,
            "method": request_type,
            "path": parts.path + (f"?{parts.query}" if parts.query else ""),
            "status": getattr(response, "status_code", None) or 0,
            "response_time_ms": round(response_time or 0, 3),
            "ref": ref,
            "worker": "local",
        }
        self.add([record])

    def on_report_to_master(self, client_id, data, **_kwargs) -> None:
        data[_REPORT_KEY] = self.take_pending()

    def on_worker_report(self, client_id, data, **_kwargs) -> None:
        report = data.get(_REPORT_KEY) or {"count": 0, "records": []}
        for record in report["records"]:
            record["worker"] = client_id
        self.from_workers += report["count"]
        self.add(report["records"])

    def on_reset_stats(self, **_kwargs) -> None:
        self.counted = self.from_workers = 0

    def on_quit(self, **_kwargs) -> None:
        # Locust fires quit once its users have stopped and, on a master, the workers' last
        # reports are in (quitting comes before that when a run is stopped by a signal),
        # so the summary and the log hold every request Locust reported.
        if not self.is_worker and self.environment.parsed_options is not None:
            logger.info(self.summary())
        self.close()


@events.init.add_listener
def _on_init(environment, **_kwargs) -> None:
    report = environment.tideways_report = TraceReport(environment)
    environment.events.test_start.add_listener(report.on_test_start)
    environment.events.quit.add_listener(report.on_quit)
    if report.is_worker:
        environment.events.report_to_master.add_listener(report.on_report_to_master)
        return
    environment.events.worker_report.add_listener(report.on_worker_report)
    environment.events.reset_stats.add_listener(report.on_reset_stats)
    options = environment.parsed_options
    report.open_log(getattr(options, "tideways_trace_log", "") if options else "")
    if environment.web_ui:
        _extend_web_ui(environment, report)


@events.test_start.add_listener
def _on_test_start(environment, **_kwargs) -> None:
    # Workers receive the master's options, the run id among them, when the run starts.
    if isinstance(environment.runner, WorkerRunner) or environment.parsed_options is None:
        return
    options = environment.parsed_options
    options.tideways_run = getattr(options, "tideways_run_id", "") or _new_run_id()
    settings = _Settings(options)
    if settings.rate > 0 and not settings.api_key:
        logger.warning(
            "Tideways: no API key (--tideways-apikey or LOCUST_TIDEWAYS_APIKEY), "
            "so no request carries a profiling header"
        )


def _extend_web_ui(environment, report: TraceReport) -> None:
    """A Tideways tab in the web UI, fed with the live figures of /stats/requests."""
    from flask import request as flask_request

    columns = [
        ("requests", "Requests sent"),
        ("traced", "Traced"),
        ("rate_reached", "Rate reached %"),
        ("rate_asked", "Rate asked %"),
        ("run_id", "X-Tideways-Ref starts with"),
        ("trace_log", "Trace log"),
    ]
    web_ui = environment.web_ui
    web_ui.template_args["extended_tabs"] = [{"title": "Tideways", "key": "tideways"}]
    web_ui.template_args["extended_tables"] = [
        {"key": "tideways", "structure": [{"key": key, "title": title} for key, title in columns]}
    ]

    @web_ui.app.after_request
    def _add_tideways_figures(response):
        if flask_request.path.endswith("/stats/requests") and response.is_json:
            data = response.get_json()
            data["extended_stats"] = [{"key": "tideways", "data": [report.figures()]}]
            response.set_data(json.dumps(data))
        return response
