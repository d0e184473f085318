"""The run's event in Tideways: posted when a run starts, so Tideways' own charts show the load test.

Tideways documents ``POST https://app.tideways.io/api/events`` (support.tideways.com,
deployment-events.html): a JSON body with the project's API key (``apiKey``, the
key that signs the profiling header; no API token), ``name``, ``type`` (``marker``
or ``release``), ``description``, ``environment`` and ``service``. The answer's
shape is not documented, so any 2xx counts as posted. The master (or the only
process) posts once a run, in a greenlet of its own: one attempt, bounded by
``TIMEOUT``, never in the run's way, and one log line whatever happens.
"""

from __future__ import annotations

import logging

import gevent
import requests

from .links import without_userinfo
from .options import DEFAULT_EVENT_TYPE, DEFAULT_EVENTS_URL, Settings, parse_event_type, parse_service
from .tracelog import TraceReport

logger = logging.getLogger(__name__)

TIMEOUT = 3.0
"""Seconds for the whole attempt (connecting, sending, the answer); no retry after it."""
_REDACTED = "[redacted]"


def event_body(environment, settings: Settings, report: TraceReport | None, event_type: str, service: str) -> dict:
    """The JSON body of the run's event; the key is in ``apiKey`` and nowhere else."""
    options = environment.parsed_options
    users = getattr(options, "num_users", None)
    host = without_userinfo(environment.host or getattr(options, "host", None))
    parts = [f"{users} users" if users is not None else "users of a load shape", f"host {host or '(none)'}"]
    link = report.run_link(traced_only=False) if report is not None else None  # before any request
    if link:
        parts.append(f"traces: {link}")
    body = {
        "apiKey": settings.api_key,
        "type": event_type,
        "name": f"Load test {settings.run}",
        "description": f"Locust load test {settings.run}: " + ", ".join(parts),
        "environment": settings.environment,
    }
    if service:
        body["service"] = service
    return body


class RunEvent:
    """The event of one run: its type, where it goes and whether it was posted
    (``posted``: True, False, or None while it is out or when nothing is posted)."""

    def __init__(self, event_type: str, url: str, body: dict | None) -> None:
        self.type = event_type
        self._url = url  # may hold a user:password@; the logs show shown_url
        self.shown_url = without_userinfo(url) or url
        self.posted: bool | None = None
        self._body = body
        self._greenlet = None

    def as_dict(self) -> dict:
        """What may be written about the event (the run file): never the key."""
        return {"type": self.type, "posted": self.posted}

    def start(self) -> None:
        if self._body is not None:
            self._greenlet = gevent.spawn(self._post)

    def stop(self) -> None:
        """At quit: an attempt still out ends here, with its one warning line."""
        greenlet, self._greenlet = self._greenlet, None
        if greenlet is not None and not greenlet.dead:
            greenlet.kill(block=True, timeout=1)
            self._failed("the run ended before Tideways answered")

    def _post(self) -> None:
        body = self._body
        try:
            # requests (Locust's own dependency) honours HTTPS_PROXY and closes its connection
            # however the attempt ends; the gevent.Timeout bounds all of it, the socket's
            # timeout (a little longer) only each read.
            with requests.Session() as session, gevent.Timeout(TIMEOUT):
                response = session.post(self._url, json=body, timeout=TIMEOUT + 1, allow_redirects=False)
        except gevent.Timeout:
            self._failed(f"no answer within {TIMEOUT:g} s")
            return
        except Exception as error:  # noqa: BLE001 - a greenlet that raised would end Locust with exit code 2
            self._failed(_reason(error))
            return
        if 200 <= response.status_code < 300:
            self.posted = True
            self._greenlet = None
            logger.info("Tideways: event %s %r posted to %s", self.type, body["name"], self.shown_url)
        else:
            self._failed(f"HTTP {response.status_code} {response.reason or ''}".rstrip())

    def _failed(self, reason: str) -> None:
        if self.posted is not None:
            return  # said once already
        self.posted = False
        self._greenlet = None
        key = (self._body or {}).get("apiKey")
        if key:
            reason = reason.replace(key, _REDACTED)
        logger.warning("Tideways: event %s not posted to %s: %s", self.type, self.shown_url, reason)


def _reason(error: BaseException) -> str:
    """The innermost cause of a failed attempt, as Python words it ("[Errno 111] Connection refused"),
    not requests' and urllib3's wrappers around it."""
    for _ in range(10):  # a chain of causes is short; never follow a loop
        inner = getattr(error, "reason", None) or error.__cause__ or error.__context__
        if not isinstance(inner, BaseException):
            break
        error = inner
    return str(error).rpartition(">: ")[2] or type(error).__name__


def post_run_event(environment, settings: Settings, report: TraceReport | None) -> RunEvent:
    """Start posting the run's event, unless it is off (``none``) or there is no key to post it with."""
    options = environment.parsed_options
    event_type = parse_event_type(getattr(options, "tideways_event", DEFAULT_EVENT_TYPE) or DEFAULT_EVENT_TYPE)
    url = getattr(options, "tideways_events_url", "") or DEFAULT_EVENTS_URL
    body = None
    if event_type != "none" and settings.api_key:
        service = parse_service(getattr(options, "tideways_service", ""))
        body = event_body(environment, settings, report, event_type, service)
    event = RunEvent(event_type, url, body)
    event.start()
    return event
