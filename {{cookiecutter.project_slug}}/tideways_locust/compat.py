"""What the runtime needs of Locust, checked before a run sends its first request.

The runtime reaches into Locust: both clients' ``request``, requests' ``prepare_request``
and ``rebuild_auth`` on ``HttpSession``, geventhttpclient's request class on
``FastHttpSession``, and Locust's events. A Locust release that moves one of them
must stop the run with one line, never turn it into a run that quietly sends no
profiling header (or sends one where it must not).
"""

from __future__ import annotations

import inspect
import logging

import locust
from locust import events
from locust.clients import HttpSession
from locust.contrib import fasthttp

logger = logging.getLogger("tideways_locust")

TESTED = "2.47.0"
"""The Locust version this runtime is tested with (requirements.txt pins it)."""

EVENTS = ("init", "init_command_line_parser", "test_start", "quit", "request", "report_to_master", "worker_report",
          "reset_stats")  # fmt: skip


def _takes(function, *names: str) -> bool:
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
    if callable(getattr(HttpSession, "request", None)) and not _takes(HttpSession.request, "headers", "context"):
        found.append("headers= and context= on HttpSession.request()")
    session = getattr(fasthttp, "FastHttpSession", None)
    if session is None or not callable(getattr(session, "request", None)):
        found.append("FastHttpSession.request()")
    elif not _takes(session.request, "headers", "context"):
        found.append("headers= and context= on FastHttpSession.request()")
    agent = getattr(fasthttp, "LocustUserAgent", None)
    request_type = getattr(agent, "request_type", None)
    if not isinstance(request_type, type) or not callable(getattr(request_type, "redirect", None)):
        found.append("LocustUserAgent.request_type with a redirect() method (geventhttpclient)")
    found += [f"the {name} event" for name in EVENTS if not hasattr(events, name)]
    return found


def check() -> None:
    """Stop Locust with one line, before any request, when something the runtime hooks is missing."""
    lacking = missing()
    if lacking:
        logger.error(
            "Tideways: Locust %s lacks what tideways_locust hooks: %s. It is tested with Locust %s: "
            "pin that version in requirements.txt (README: Locust versions)",
            locust.__version__,
            ", ".join(lacking),
            TESTED,
        )
        raise SystemExit(2)
