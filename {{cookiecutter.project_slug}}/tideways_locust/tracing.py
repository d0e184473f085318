"""Which requests carry a profiling header, and the user classes that send them.

``HttpTidewaysUser`` and ``FastHttpTidewaysUser`` add ``X-Tideways-Profiler``
(and ``X-Tideways-Ref``) to a sample of the requests their ``self.client``
sends: ``--tideways-trace-rate`` percent of them (and the first
``--tideways-trace-coverage`` of each endpoint, within ``--tideways-trace-budget``:
:mod:`.sampling`), signed with the key from ``--tideways-apikey``. User code needs
no change; ``self.tidewaysProfilingHeaders()`` from the Tideways documentation keeps
working.

Only the request Locust sends carries the headers, never a hop of a redirect it follows:
an application traces every request that carries a valid header, so a traced login POST
answered 302 would give two traces for one request, and the count, the budget and the
coverage would no longer be what the application took. The page a redirect lands on is
traced when a user requests it itself.
"""

from __future__ import annotations

import itertools
import random
import re
import secrets
import time
from collections.abc import Mapping
from urllib.parse import urlsplit

from gevent import GreenletExit
from locust import FastHttpUser, HttpUser
from locust.clients import HttpSession
from locust.contrib.fasthttp import FastHttpSession

from . import logins
from .options import Settings
from .profiles.pacing import phase_first
from .sampling import Sampler
from .signing import PROFILER_HEADER, REF_HEADER, shared_signer
from .tracelog import TraceReport, path_of

Headers = Mapping[str, str] | None

_PROFILER_LOWER = PROFILER_HEADER.lower()
_REF_LOWER = REF_HEADER.lower()
_ABSOLUTE_URL = re.compile(r"^https?://", re.IGNORECASE)
_DEFAULT_PORTS = {"http": 80, "https": 443}

# Where this process's per-request reference ids come from: one token a process, one count a request.
_PROCESS_TOKEN = secrets.token_hex(4)
_REF_NUMBERS = itertools.count(1)
_USER_NUMBERS = itertools.count(1)

# Where a user waits for an answer: both clients send the whole request before they read.
_READING = frozenset({"recv", "recv_into", "readinto", "recvfrom", "recvfrom_into"})


def _was_sent(traceback) -> bool:
    """Whether a request stopped by ``GreenletExit`` was on its way: its user was reading the answer.

    A user stopped earlier (checking or opening its connection) never sent the request, so the
    application has nothing of it.
    """
    while traceback is not None:
        if traceback.tb_frame.f_code.co_name in _READING:
            return True
        traceback = traceback.tb_next
    return False


def _discard_trace_headers(headers) -> None:
    for name in (PROFILER_HEADER, REF_HEADER):  # both clients' header maps ignore case
        headers.pop(name, None)


_REDIRECT_TYPES: dict[type, type] = {}


class _Unnamed:
    """A client without ``rename_request()``: its requests are named by their URL."""

    request_name = None


_UNNAMED = _Unnamed()


def _redirect_type(base: type) -> type:
    """geventhttpclient's request class, minus the trace headers on every redirect hop.

    It follows redirects itself, keeping every header but ``Authorization`` on the way; one
    subclass a base class, shared by all users.
    """
    if base not in _REDIRECT_TYPES:

        def redirect(self, code, location):
            base.redirect(self, code, location)
            _discard_trace_headers(self.headers)

        _REDIRECT_TYPES[base] = type(f"Tideways{base.__name__}", (base,), {"redirect": redirect})
    return _REDIRECT_TYPES[base]


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
        "_by_path",
        "_client",
        "_decided",
        "_draw",
        "_fresh_header",
        "_origin",
        "_pending",
        "_prepare_request",
        "_rebuild_auth",
        "_ref",
        "_ref_prefix",
        "_sampler",
        "_send",
        "_threshold",
        "_ttl",
        "rate",
        "report",
    )

    def __init__(
        self, options, host: str | None, report: TraceReport | None = None, sampler: Sampler | None = None
    ) -> None:
        settings = Settings(options)
        self.rate = settings.rate
        self.report = report if report is not None else TraceReport(None)
        self._ttl = settings.ttl
        # run mode: every traced request carries the run's id; request mode: an id of its own.
        self._ref = settings.run if settings.ref_mode == "run" else None
        self._ref_prefix = f"{settings.run}-{_PROCESS_TOKEN}-"
        tracing = self.rate > 0 or (sampler is not None and sampler.coverage is not None)
        signer = shared_signer(settings.api_key) if settings.api_key and tracing else None
        self._fresh_header = signer.fresh_header if signer is not None else None
        # A request is traced when a draw from [0, 1) falls below this; 0 traces nothing.
        self._threshold = self.rate / 100.0 if signer is not None else 0.0
        # The run's coverage and budget (None: both off, the rate alone decides).
        self._sampler = sampler if signer is not None else None
        self._client = _UNNAMED
        self._by_path = False  # requests' session names an unnamed request by its path
        self._origin = _origin(host or "")
        user_number = next(_USER_NUMBERS)
        self._draw = (random if settings.seed is None else random.Random(f"{settings.seed}/{user_number}")).random
        # Set by tidewaysProfilingHeaders(): the next request was sampled already.
        self._decided = False
        # Trace headers on their way to requests' prepared request.
        self._pending: dict | None = None
        self._send = self._prepare_request = self._rebuild_auth = None

    def _sampled(self) -> bool:
        return self._draw() < self._threshold

    def _choose(self, method, url, kwargs, hit: bool | None = None) -> bool:
        """Whether this request carries a trace: the rate's draw (``hit``, drawn here when not given), or the
        coverage, within the budget."""
        sampler = self._sampler
        if hit is None:
            hit = self._draw() < self._threshold
        if sampler is None or sampler.coverage is None:  # the rate alone chooses, the budget may refuse
            return hit and self._same_origin(url) and (sampler is None or sampler.choose("", hit))
        if not self._same_origin(url):
            return False
        return sampler.choose(f"{method} {self.request_name(url, kwargs)}", hit)

    def request_name(self, url, kwargs) -> str:
        """The request's name as Locust's stats key it, with its method: its endpoint."""
        name = kwargs.get("name") or self._client.request_name
        if not name:
            name = url.decode("utf-8", "replace") if isinstance(url, bytes) else url
            if self._by_path and name[:1] != "/":
                name = path_of(name)
        return name

    def _same_origin(self, url) -> bool:
        if isinstance(url, bytes):
            url = url.decode("utf-8", "replace")
        if not _ABSOLUTE_URL.match(url):
            return True  # relative: Locust sends it to the host under test
        return self._origin is not None and _origin(url) == self._origin

    def _new_ref(self) -> str:
        return self._ref or f"{self._ref_prefix}{next(_REF_NUMBERS)}"

    def _trace_headers(self) -> dict[str, str]:
        return {
            PROFILER_HEADER: self._fresh_header(self._ttl),  # type: ignore[misc]
            REF_HEADER: self._ref or f"{self._ref_prefix}{next(_REF_NUMBERS)}",
        }

    def explicit_headers(self) -> dict[str, str]:
        self._decided = True
        if not self._sampled() or (self._sampler is not None and not self._sampler.take_explicit()):
            return {}
        return self._trace_headers()

    def prepare(
        self, url, headers: Headers, method: str = "GET", kwargs: dict | None = None
    ) -> tuple[Headers, dict[str, str] | None, str | None]:
        """The caller's headers to send, the trace headers to add, and a traced request's reference id."""
        decided, self._decided = self._decided, False
        if headers and any(name.lower() == _PROFILER_LOWER for name in headers):
            if not self._same_origin(url):
                return {k: v for k, v in headers.items() if k.lower() not in (_PROFILER_LOWER, _REF_LOWER)}, None, None
            ref = next((v for k, v in headers.items() if k.lower() == _REF_LOWER), None)
            if ref is None:  # signed elsewhere: give it an id so it can be found
                ref = self._new_ref()
                return headers, {REF_HEADER: ref}, ref
            return headers, None, ref  # signed by tidewaysProfilingHeaders(): never sign twice
        if decided or not self._choose(method, url, kwargs or {}):
            return headers, None, None
        added = self._trace_headers()
        return headers, added, added[REF_HEADER]

    def install(self, client) -> None:
        """Send every request of ``client`` (Locust's HttpSession or FastHttpSession) through ``request``.

        Both clients follow redirects keeping custom headers, so the trace headers are taken off
        each redirect hop: the application traces the request Locust sent, once, and a CDN, a
        payment provider or a login service a redirect leads to never gets a valid profiling header.
        """
        self._client = client if hasattr(client, "request_name") else _UNNAMED  # Locust's clients have it
        self._by_path = isinstance(client, HttpSession)
        self._send = client.request
        client.request = self.request
        if isinstance(client, HttpSession):
            # requests merges any headers= passed with the session's, which costs more than the
            # trace itself, so a traced request gets its headers on requests' prepared request.
            self._prepare_request = client.prepare_request
            client.prepare_request = self.prepare_request
            # requests calls rebuild_auth() on each redirect, with the next request prepared.
            self._rebuild_auth = client.rebuild_auth
            client.rebuild_auth = self.rebuild_auth
        elif isinstance(client, FastHttpSession):
            agent = client.client  # its geventhttpclient UserAgent
            agent.request_type = _redirect_type(agent.request_type)

    def rebuild_auth(self, prepared_request, response) -> None:
        """requests' ``Session.rebuild_auth`` on a redirect, minus the trace headers."""
        self._rebuild_auth(prepared_request, response)  # type: ignore[misc]
        _discard_trace_headers(prepared_request.headers)

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
            sampler = self._sampler
            if sampler is None:
                if self._draw() >= self._threshold or (url[:1] != "/" and not self._same_origin(url)):
                    return send(method, url, *args, **kwargs) if args or kwargs else send(method, url)
            else:
                hit = self._draw() < self._threshold
                coverage = sampler.coverage
                # Most requests: an endpoint that has its first N (named as Locust names a relative URL), no hit.
                if not hit and (
                    coverage is None
                    or f"{method} {kwargs.get('name') or self._client.request_name or url}" in coverage.done
                ):
                    return send(method, url, *args, **kwargs) if args or kwargs else send(method, url)
                if not self._choose(method, url, kwargs, hit):
                    return send(method, url, *args, **kwargs) if args or kwargs else send(method, url)
            added = self._trace_headers()
            ref = added[REF_HEADER]
        else:
            headers, added, ref = self.prepare(url, headers, method, kwargs)
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
        started = time.perf_counter()
        try:
            if args or kwargs:
                response = send(method, url, *args, headers=headers, **kwargs)
            else:
                response = send(method, url, headers=headers)
        except GreenletExit as stopped:
            # The run stopped this user while the request was out: the application has it (and
            # Tideways its trace) but Locust never reports it, so it is recorded here.
            if _was_sent(stopped.__traceback__):
                report.unanswered(method, url, self.request_name(url, kwargs), ref, started)
            raise
        finally:
            self._pending = None
        # Done: Locust has reported it (a catch_response request is reported when its block ends).
        report.note_traced(method, self.request_name(url, kwargs), ref, url, (time.perf_counter() - started) * 1000)
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
        sampling = getattr(self.environment, "tideways_sampling", None)
        sampler = sampling.sampler if sampling is not None else None
        self._tideways = _Tracer(self.environment.parsed_options, self.host, report, sampler)
        self._tideways.install(self.client)
        self.login = logins.install(self)  # outside the trace: its headers go with every request
        phase_first(self)  # in a rate profile: a random start within the first interval, before the login

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
