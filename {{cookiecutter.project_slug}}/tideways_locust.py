"""Trigger Tideways callgraph traces from Locust users.

Tideways takes a full callgraph trace of a PHP request that carries a valid,
fresh ``X-Tideways-Profiler`` header. ``HttpTidewaysUser`` and
``FastHttpTidewaysUser`` add that header to a sample of the requests their
``self.client`` sends: ``--tideways-trace-rate`` percent of them (default 1),
signed with the key from ``--tideways-apikey`` / ``LOCUST_TIDEWAYS_APIKEY``.
User code needs no change; ``self.tidewaysProfilingHeaders()`` from the
Tideways documentation keeps working.

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
import hashlib
import hmac
import logging
import math
import random
import re
import time
from collections.abc import Callable, Mapping
from urllib.parse import urlsplit

from locust import FastHttpUser, HttpUser, events
from locust.runners import WorkerRunner

__all__ = [
    "PROFILER_HEADER",
    "FastHttpTidewaysUser",
    "HttpTidewaysUser",
    "TidewaysSigner",
    "parse_trace_rate",
]

PROFILER_HEADER = "X-Tideways-Profiler"
DEFAULT_TRACE_RATE = 1.0
VALIDITY_SECONDS = 120
"""How long a signature stays valid; Tideways' documentation uses 120 s."""

logger = logging.getLogger(__name__)

_PROFILER_HEADER_LOWER = PROFILER_HEADER.lower()
_ABSOLUTE_URL = re.compile(r"^https?://", re.IGNORECASE)
_DEFAULT_PORTS = {"http": 80, "https": 443}


class TidewaysSigner:
    """Builds ``X-Tideways-Profiler`` values for one API key."""

    __slots__ = ("_key",)

    def __init__(self, api_key: str) -> None:
        # Tideways keys the HMAC with the hex MD5 of the API key, not with the key.
        self._key = hashlib.md5(api_key.encode("utf-8")).hexdigest().encode("ascii")

    def header(self, expires: int, method: str = "", user: str = "") -> str:
        """The header value for a trace that may start until Unix time ``expires``."""
        message = f"method={method}&time={expires}&user={user}"
        digest = hmac.digest(self._key, message.encode("utf-8"), "sha256").hex()
        return f"{message}&hash={digest}"

    def fresh_header(self) -> str:
        """A header valid from now for ``VALIDITY_SECONDS``."""
        return self.header(int(time.time()) + VALIDITY_SECONDS)


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


@events.test_start.add_listener
def _warn_about_missing_key(environment, **_kwargs) -> None:
    # Workers receive the master's options; the master (or a local runner) warns once.
    if isinstance(environment.runner, WorkerRunner):
        return
    api_key, rate = _read_options(environment.parsed_options)
    if rate > 0 and not api_key:
        logger.warning(
            "Tideways: no API key (--tideways-apikey or LOCUST_TIDEWAYS_APIKEY), "
            "so no request carries a profiling header"
        )


def _read_options(options) -> tuple[str, float]:
    """The API key and trace rate; read when a user starts, so workers see the master's."""
    if options is None:
        return "", 0.0
    api_key = (getattr(options, "tideways_apikey", "") or "").strip()
    rate = parse_trace_rate(getattr(options, "tideways_trace_rate", DEFAULT_TRACE_RATE))
    return api_key, rate


def _origin(url: str) -> tuple[str, str, int] | None:
    try:
        parts = urlsplit(url)
        scheme = parts.scheme.lower()
        return scheme, (parts.hostname or "").lower(), parts.port or _DEFAULT_PORTS.get(scheme, 0)
    except ValueError:
        return None


class _Tracer:
    """Decides for each request of one user whether it carries a profiling header."""

    def __init__(self, options, host: str | None) -> None:
        api_key, self.rate = _read_options(options)
        self._signer = TidewaysSigner(api_key) if api_key and self.rate > 0 else None
        self._origin = _origin(host or "")
        # Set by tidewaysProfilingHeaders(): the next request was sampled already.
        self._decided = False

    def _sampled(self) -> bool:
        return self._signer is not None and random.random() * 100.0 < self.rate

    def _same_origin(self, url) -> bool:
        if isinstance(url, bytes):
            url = url.decode("utf-8", "replace")
        if not _ABSOLUTE_URL.match(url):
            return True  # relative: Locust sends it to the host under test
        return self._origin is not None and _origin(url) == self._origin

    def explicit_headers(self) -> dict[str, str]:
        self._decided = True
        if self._sampled():
            return {PROFILER_HEADER: self._signer.fresh_header()}  # type: ignore[union-attr]
        return {}

    def headers_for(self, url, headers: Mapping[str, str] | None) -> Mapping[str, str] | None:
        decided, self._decided = self._decided, False
        if headers and any(name.lower() == _PROFILER_HEADER_LOWER for name in headers):
            if self._same_origin(url):
                return headers  # signed by tidewaysProfilingHeaders(): never sign twice
            return {k: v for k, v in headers.items() if k.lower() != _PROFILER_HEADER_LOWER}
        if decided or not self._sampled() or not self._same_origin(url):
            return headers
        traced = dict(headers) if headers else {}
        traced[PROFILER_HEADER] = self._signer.fresh_header()  # type: ignore[union-attr]
        return traced

    def wrap(self, send: Callable) -> Callable:
        def request(method, url, *args, headers=None, **kwargs):
            return send(method, url, *args, headers=self.headers_for(url, headers), **kwargs)

        request.__doc__ = send.__doc__
        return request


class _TidewaysUserMixin:
    """Samples every request of ``self.client`` for a Tideways trace.

    Locust builds the client inside ``User.__init__`` and offers no way to pick
    its class. Both of its clients send every verb (and ``rest()``) through
    ``client.request()``, so wrapping that one method sees every request.
    """

    def __init__(self, *args, **kwargs) -> None:
        super().__init__(*args, **kwargs)
        self._tideways = _Tracer(self.environment.parsed_options, self.host)
        self.client.request = self._tideways.wrap(self.client.request)

    def tidewaysProfilingHeaders(self) -> dict[str, str]:  # noqa: N802 - Tideways' documented name
        """``{"X-Tideways-Profiler": ...}`` for a sampled request, else ``{}``.

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
