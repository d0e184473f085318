"""What the runtime needs of Locust, checked before a run sends its first request.

The runtime reaches into Locust: both clients' ``request``, requests' ``prepare_request``
and ``rebuild_auth`` on ``HttpSession``, geventhttpclient's request class on
``FastHttpSession``, Locust's events, its runners' messages and its statistics' entries. A Locust release that
moves one of them must stop the run with one line, never turn it into a run that quietly
sends no profiling header (or sends one where it must not).

It supports the minor lines ``SUPPORTED`` names, oldest to newest: the template tests
the first and the last release of each. An older Locust stops the run; a newer one
runs, with a warning, when everything the runtime hooks is there and behaves.
"""

from __future__ import annotations

import inspect
import logging
import os
import re
import sys

import locust
from locust import events
from locust.clients import HttpSession
from locust.contrib import fasthttp
from locust.runners import Runner
from locust.stats import StatsEntry

logger = logging.getLogger("tideways_locust")

TESTED = "2.47.0"
"""The Locust version requirements.txt pins: the newest this runtime is tested with."""

SUPPORTED = ("2.42", "2.47")
"""The oldest and the newest minor line of Locust this runtime supports."""

RANGE = f"{SUPPORTED[0]} to {SUPPORTED[1]}"

PYTHON = (3, 11)
"""The oldest Python the runtime runs on. Locust 2.42 to 2.46.0 also run on 3.10, but there
FastHttpUser gets geventhttpclient 2.4, which breaks the connection on a redirect after a POST."""

EVENTS = ("init", "init_command_line_parser", "test_start", "test_stop", "quit", "request", "report_to_master",
          "worker_report", "reset_stats")  # fmt: skip


def takes(function, *names: str) -> bool:
    """Whether ``function`` takes each of ``names`` as a keyword (or any keyword)."""
    try:
        parameters = inspect.signature(function).parameters.values()
    except (TypeError, ValueError):
        return False
    if any(p.kind is p.VAR_KEYWORD for p in parameters):
        return True
    return all(any(p.name == name for p in parameters) for name in names)


def missing() -> list[str]:
    """What the runtime hooks and this Locust lacks; empty when everything is there."""
    found = []
    for name in ("request", "prepare_request", "rebuild_auth"):
        if not callable(getattr(HttpSession, name, None)):
            found.append(f"HttpSession.{name}()")
    if callable(getattr(HttpSession, "request", None)) and not takes(HttpSession.request, "headers", "context"):
        found.append("headers= and context= on HttpSession.request()")
    session = getattr(fasthttp, "FastHttpSession", None)
    if session is None or not callable(getattr(session, "request", None)):
        found.append("FastHttpSession.request()")
    elif not takes(session.request, "headers", "context"):
        found.append("headers= and context= on FastHttpSession.request()")
    agent = getattr(fasthttp, "LocustUserAgent", None)
    request_type = getattr(agent, "request_type", None)
    if not isinstance(request_type, type) or not callable(getattr(request_type, "redirect", None)):
        found.append("LocustUserAgent.request_type with a redirect() method (geventhttpclient)")
    if not callable(getattr(StatsEntry, "unserialize", None)):
        found.append("StatsEntry.unserialize()")
    found += [f"the {name} event" for name in EVENTS if not hasattr(events, name)]
    # Coverage claims and the workers' hand-overs between the master and its workers.
    found += [
        f"Runner.{name}()" for name in ("register_message", "send_message") if not callable(getattr(Runner, name, None))
    ]
    if not found and not _prepared_headers_are_sent():
        found.append("HttpSession sending the request its prepare_request() returns")
    return found


def _prepared_headers_are_sent() -> bool:
    """Whether a header added in an HttpSession's own ``prepare_request`` reaches the wire.

    The traced path of HttpUser relies on it. Sent to an adapter in memory: no network.
    """
    from locust.event import EventHook
    from requests.adapters import BaseAdapter
    from requests.models import Response

    sent = {}

    class Wire(BaseAdapter):
        def send(self, request, **kwargs):
            sent.update(request.headers)
            response = Response()
            response.status_code, response.request, response.url, response._content = 204, request, request.url, b""
            return response

        def close(self):
            pass

    def prepare_with_a_header(request):
        prepared = prepare(request)
        prepared.headers["X-Tideways-Locust-Probe"] = "1"
        return prepared

    try:
        session = HttpSession("http://tideways-locust.invalid", EventHook(), None)
        session.mount("http://", Wire())
        prepare = session.prepare_request
        session.prepare_request = prepare_with_a_header
        try:
            session.request("GET", "/")
        finally:
            session.close()
    except Exception:  # any failure: the hook does not behave
        return False
    return sent.get("X-Tideways-Locust-Probe") == "1"


def minor_line(version: str) -> tuple[int, int] | None:
    """``(2, 47)`` of ``"2.47.1.dev5"``; None when the version does not start with two numbers."""
    match = re.match(r"(\d+)\.(\d+)", version)
    return (int(match[1]), int(match[2])) if match else None


def _stop() -> None:
    """Exit 2 at once, the line logged being all that is printed.

    Nothing has run yet, so nothing is left to clean up; a normal exit would let some
    gevent and greenlet pairs (Locust 2.42's) print a traceback while the interpreter
    shuts down.
    """
    logging.shutdown()
    sys.stdout.flush()
    sys.stderr.flush()
    os._exit(2)


def python_problem(version: tuple[int, ...]) -> str | None:
    """The line that stops a run on a Python older than ``PYTHON``; None on a supported one."""
    if tuple(version[:2]) >= PYTHON:
        return None
    return (
        f"Tideways: Python {'.'.join(map(str, version[:2]))} is older than tideways_locust supports "
        f"({'.'.join(map(str, PYTHON))} or newer): install the project on a newer Python (README: Locust versions)"
    )


def check(version: str | None = None) -> None:
    """Stop Locust with one line, before any request, on an old Python or Locust, or one that lacks a hook.

    A newer Locust that has everything runs, with one warning.
    """
    problem = python_problem(sys.version_info)
    if problem:
        logger.error(problem)
        _stop()
    version = locust.__version__ if version is None else version
    line = minor_line(version)
    if line is not None and line < minor_line(SUPPORTED[0]):
        logger.error(
            "Tideways: Locust %s is older than tideways_locust supports (%s): pin locust==%s in "
            "requirements.txt (README: Locust versions)",
            version,
            RANGE,
            TESTED,
        )
        _stop()
    lacking = missing()
    if lacking:
        logger.error(
            "Tideways: Locust %s lacks what tideways_locust hooks: %s. It supports Locust %s and is "
            "tested with Locust %s: pin that version in requirements.txt (README: Locust versions)",
            version,
            ", ".join(lacking),
            RANGE,
            TESTED,
        )
        _stop()
    if line is None or line > minor_line(SUPPORTED[1]):
        logger.warning(
            "Tideways: Locust %s is not one tideways_locust is tested with (%s), though everything it "
            "hooks is there; python -m pytest -m locust_hooks tells whether tracing works with it "
            "(README: Locust versions)",
            version,
            RANGE,
        )
