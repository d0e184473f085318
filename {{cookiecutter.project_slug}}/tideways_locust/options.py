"""The ``--tideways-*`` command line options, how each is read, and the settings a user starts with.

Locust hands custom options from the master to its workers when a run starts,
so they are read when a user starts (:class:`Settings`), never at import time.
"""

from __future__ import annotations

import argparse
import math
import os
import re
import secrets
from datetime import UTC, datetime
from urllib.parse import urlsplit

from locust import events

from .links import TidewaysProject, parse_environment, parse_project, without_userinfo
from .signing import DEFAULT_TTL, MAX_TTL

DEFAULT_TRACE_RATE = 1.0
DEFAULT_ENVIRONMENT = "production"
REF_MODES = ("run", "request")
"""``run``: every traced request carries the run's id, so one link lists the run's traces;
``request``: each carries an id of its own, so each trace log record links to its trace."""
DEFAULT_REF_MODE = "run"
MAX_TRACE_COVERAGE = 1000
MAX_TRACE_BUDGET = 1_000_000
DEFAULT_TRACE_LOG_MAX_MB = 100
"""A soak of hours at a high rate would write a trace log without end; a line a record is about 400 bytes."""

EVENT_TYPES = ("marker", "release", "none")
"""The run's Tideways event: ``marker`` marks the run in Tideways' charts; ``release`` also has
Tideways compare the minutes after it with those before; ``none`` posts nothing."""
DEFAULT_EVENT_TYPE = "marker"
DEFAULT_EVENTS_URL = "https://app.tideways.io/api/events"  # documented: deployment-events.html

_RUN_ID = re.compile(r"^[A-Za-z0-9._-]{1,64}$")
_SERVICE = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._-]{0,63}$")


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


def bounded_number(low: float, high: float, what: str):
    """A parser of numbers from ``low`` to ``high`` that names a bad value and ``what`` is allowed."""

    def parse(value: object) -> float:
        try:
            number = float(value)  # type: ignore[arg-type]
        except (TypeError, ValueError):
            number = math.nan
        if not low <= number <= high:  # also rejects nan
            raise argparse.ArgumentTypeError(f"{value!r} is not allowed: give {what}")
        return number

    return parse


def whole_number(high: int, what: str):
    """A parser of whole numbers from 0 to ``high`` that names a bad value and ``what`` they count."""

    def parse(value: object) -> int:
        text = str(value).strip()
        if not text.isdigit() or int(text) > high:
            raise argparse.ArgumentTypeError(f"{value!r} is not allowed: give a whole number from 0 to {high} ({what})")
        return int(text)

    return parse


parse_trace_coverage = whole_number(MAX_TRACE_COVERAGE, "requests of each endpoint to trace first; 0: none")
parse_trace_budget = whole_number(MAX_TRACE_BUDGET, "traced requests a minute across the run; 0: no budget")


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


def _file_to_write(value: object, folder_may_be_made: bool, allowed: str) -> str:
    """Empty (no file), or a path that is not a folder, in a folder that can be written: one that
    exists, or with ``folder_may_be_made``, the nearest one that exists."""
    path = str(value).strip()
    if path:
        folder = os.path.dirname(os.path.abspath(path))
        while folder_may_be_made and not os.path.exists(folder):  # made when the file is written
            folder = os.path.dirname(folder)
        if os.path.isdir(path) or not os.path.isdir(folder) or not os.access(folder, os.W_OK):
            raise argparse.ArgumentTypeError(f"{value!r} is not allowed: give {allowed}")
    return path


def parse_trace_log(value: object) -> str:
    """Read the trace log's path: empty (no log), or a file in a folder that exists and can be written."""
    return _file_to_write(value, False, "a file path in a folder that exists and can be written")


def parse_run_file(value: object) -> str:
    """Read the run file's path: empty (none), or a file whose folder exists or can be made."""
    return _file_to_write(value, True, "a file path whose folder exists or can be made, or nothing")


def check_project(value: object) -> str:
    """``organization/project`` as given, or "" (a string, so Locust can hand it to workers)."""
    project = parse_project(value)
    return str(project) if project else ""


def parse_ref_mode(value: object) -> str:
    text = str(value).strip().lower()
    if text not in REF_MODES:
        raise argparse.ArgumentTypeError(
            f"{value!r} is not allowed: give run (one X-Tideways-Ref for the whole run) "
            "or request (one for each traced request)"
        )
    return text


def parse_event_type(value: object) -> str:
    text = str(value).strip().lower()
    if text not in EVENT_TYPES:
        raise argparse.ArgumentTypeError(
            f"{value!r} is not allowed: give marker (the run marked in Tideways' charts), "
            "release (Tideways also compares the minutes after the run's start with those before) "
            "or none (no event)"
        )
    return text


def parse_events_url(value: object) -> str:
    """Read the events endpoint: an http:// or https:// URL (a stand-in's, in tests)."""
    text = str(value).strip()
    try:
        parts = urlsplit(text) if text.isprintable() and " " not in text else None
    except ValueError:  # an unclosed [ of an IPv6 address
        parts = None
    if parts is None or parts.scheme.lower() not in ("http", "https") or not parts.hostname:
        raise argparse.ArgumentTypeError(
            f"{without_userinfo(str(value))!r} is not allowed: give an http:// or https:// URL, "
            f"Tideways' own is {DEFAULT_EVENTS_URL}"
        )
    return text


def parse_service(value: object) -> str:
    """Read a Tideways service: empty (the project's default service) or a name like web or worker."""
    text = "" if value is None else str(value).strip()
    if text and not _SERVICE.match(text):
        raise argparse.ArgumentTypeError(
            f"{value!r} is not allowed: give a Tideways service name like web or worker "
            "(letters, digits, '.', '_', '-'), or nothing for the project's default service"
        )
    return text


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
        "--tideways-trace-coverage",
        type=parse_trace_coverage,
        env_var="LOCUST_TIDEWAYS_TRACE_COVERAGE",
        default=0,
        help="Trace the first N requests of every endpoint (Locust's request name) of a run, whatever "
        "the rate, then sample at the rate (default 0: none).",
    )
    parser.add_argument(
        "--tideways-trace-budget",
        type=parse_trace_budget,
        env_var="LOCUST_TIDEWAYS_TRACE_BUDGET",
        default=0,
        help="At most M traced requests in any minute, across all users and workers; "
        "pick it below the Tideways plan's traces a minute (default 0: no budget).",
    )
    parser.add_argument(
        "--tideways-project",
        type=check_project,
        env_var="LOCUST_TIDEWAYS_PROJECT",
        default="",
        include_in_web_ui=False,
        help="Tideways ORGANIZATION/PROJECT, as in the app's URLs: the run's summary links to its traces.",
    )
    parser.add_argument(
        "--tideways-environment",
        type=parse_environment,
        env_var="LOCUST_TIDEWAYS_ENVIRONMENT",
        default=DEFAULT_ENVIRONMENT,
        include_in_web_ui=False,
        help=f"Tideways environment of the application under test (default {DEFAULT_ENVIRONMENT}).",
    )
    parser.add_argument(
        "--tideways-ref-mode",
        type=parse_ref_mode,
        env_var="LOCUST_TIDEWAYS_REF_MODE",
        default=DEFAULT_REF_MODE,
        include_in_web_ui=False,
        help="X-Tideways-Ref: 'run' (default) sends the run id, one link lists the run's traces; "
        "'request' sends an id per traced request.",
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
        "--tideways-trace-log-max-mb",
        type=bounded_number(0, 100_000, "megabytes from 0 (no limit) to 100000"),
        env_var="LOCUST_TIDEWAYS_TRACE_LOG_MAX_MB",
        default=float(DEFAULT_TRACE_LOG_MAX_MB),
        include_in_web_ui=False,
        help=f"The trace log stops growing at this size, in MB; later traced requests are counted, "
        f"not logged (default {DEFAULT_TRACE_LOG_MAX_MB}, 0: no limit).",
    )
    parser.add_argument(
        "--tideways-run-file",
        type=parse_run_file,
        env_var="LOCUST_TIDEWAYS_RUN_FILE",
        default="",
        include_in_web_ui=False,
        help="Write the run's id, window and figures to this JSON file when it ends, "
        "for `python -m tideways_locust.report`. Empty: none.",
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
        help="The run's id: X-Tideways-Ref of its traced requests (default: made up at each start).",
    )
    parser.add_argument(
        "--tideways-event",
        type=parse_event_type,
        env_var="LOCUST_TIDEWAYS_EVENT",
        default=DEFAULT_EVENT_TYPE,
        include_in_web_ui=False,
        help="The Tideways event posted when a run starts, so Tideways' charts show it: 'marker' (default), "
        "'release' (Tideways compares the minutes after with those before) or 'none'.",
    )
    parser.add_argument(
        "--tideways-events-url",
        type=parse_events_url,
        env_var="LOCUST_TIDEWAYS_EVENTS_URL",
        default=DEFAULT_EVENTS_URL,
        include_in_web_ui=False,
        help=f"Where the run's event is posted (default {DEFAULT_EVENTS_URL}).",
    )
    parser.add_argument(
        "--tideways-service",
        type=parse_service,
        env_var="LOCUST_TIDEWAYS_SERVICE",
        default="",
        include_in_web_ui=False,
        help="Tideways service of the run's event. Empty (default): the project's default service.",
    )


class Settings:
    """The options as one user reads them when it starts (so workers see the master's)."""

    def __init__(self, options) -> None:
        self.api_key = (getattr(options, "tideways_apikey", "") or "").strip()
        self.rate = parse_trace_rate(getattr(options, "tideways_trace_rate", DEFAULT_TRACE_RATE))
        self.coverage = parse_trace_coverage(getattr(options, "tideways_trace_coverage", 0) or 0)
        self.budget = parse_trace_budget(getattr(options, "tideways_trace_budget", 0) or 0)
        self.ttl = parse_ttl(getattr(options, "tideways_trace_ttl", DEFAULT_TTL))
        self.seed = getattr(options, "tideways_trace_seed", None)
        self.run = getattr(options, "tideways_run", "") or new_run_id()
        self.ref_mode = parse_ref_mode(getattr(options, "tideways_ref_mode", DEFAULT_REF_MODE) or DEFAULT_REF_MODE)
        self.project: TidewaysProject | None = parse_project(getattr(options, "tideways_project", ""))
        self.environment = parse_environment(
            getattr(options, "tideways_environment", DEFAULT_ENVIRONMENT) or DEFAULT_ENVIRONMENT
        )


def new_run_id() -> str:
    return f"{datetime.now(UTC):%Y%m%dT%H%M%S}-{secrets.token_hex(2)}"
