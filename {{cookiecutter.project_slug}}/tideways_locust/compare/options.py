"""The Locust options a comparison reads from the run: how much slower counts, and the commit under test.

They are Locust options (``locust.conf``, ``LOCUST_*``, flags) so that a run
file records the tolerances its run was meant to be judged by, and a bad value
stops the run at its start, not a pipeline's last step.

A tolerance is ``PERCENT%+MSms`` (``10%+20ms``), ``PERCENT%`` or ``MSms``: a
percentile counts as slower only when it grew by more than both.
"""

from __future__ import annotations

import argparse
import math
import re
from dataclasses import dataclass

from locust import events

DEFAULT_TOLERANCE = "10%+20ms"
DEFAULT_FAIL_POINTS = 1.0
_TOLERANCE = re.compile(
    r"^\s*(?:(?P<percent>\d+(?:\.\d+)?)\s*%)?\s*(?P<plus>\+)?\s*(?:(?P<ms>\d+(?:\.\d+)?)\s*ms)?\s*$", re.IGNORECASE
)
TOLERANCE_FORM = "PERCENT%+MSms like 10%+20ms, or PERCENT% or MSms alone"


@dataclass(frozen=True)
class Tolerance:
    """Slower counts only past both: ``percent`` of the baseline and ``ms`` milliseconds."""

    percent: float = 10.0
    ms: float = 20.0

    def exceeded(self, before: float, now: float) -> bool:
        return now - before > self.ms and now > before * (1 + self.percent / 100)

    def __str__(self) -> str:
        return f"{self.percent:g}%+{self.ms:g}ms"


def parse_tolerance(value: object) -> Tolerance:
    text = str(value).strip()
    match = _TOLERANCE.match(text)
    if (
        not text
        or not match
        or (match["percent"] is None and match["ms"] is None)
        or bool(match["plus"]) != (match["percent"] is not None and match["ms"] is not None)
    ):
        raise argparse.ArgumentTypeError(f"{value!r} is not allowed: give {TOLERANCE_FORM}")
    percent = float(match["percent"] or 0)
    ms = float(match["ms"] or 0)
    if not (math.isfinite(percent) and math.isfinite(ms)) or percent > 1000:
        raise argparse.ArgumentTypeError(f"{value!r} is not allowed: give {TOLERANCE_FORM}, at most 1000%")
    return Tolerance(percent, ms)


def parse_endpoint_tolerances(value: object) -> dict[str, Tolerance]:
    """``GET /search=30%+100ms; /checkout=20%``: an endpoint (``METHOD name``, or a name for every
    method) or a Tideways transaction, ``=``, its tolerance; ``;`` between them."""
    found: dict[str, Tolerance] = {}
    for part in str(value or "").split(";"):
        if not part.strip():
            continue
        name, sep, tolerance = part.rpartition("=")
        if not sep or not name.strip():
            raise argparse.ArgumentTypeError(
                f"{part.strip()!r} is not allowed: give ENDPOINT=TOLERANCE pairs separated by ';', "
                "like 'GET /search=30%+100ms; /checkout=20%'"
            )
        try:
            found[" ".join(name.split())] = parse_tolerance(tolerance)
        except argparse.ArgumentTypeError as error:
            raise argparse.ArgumentTypeError(f"{name.strip()}: {error}") from None
    return found


def parse_fail_points(value: object) -> float:
    try:
        number = float(value)  # type: ignore[arg-type]
    except (TypeError, ValueError):
        number = math.nan
    if not 0 <= number <= 100:
        raise argparse.ArgumentTypeError(f"{value!r} is not allowed: give percentage points from 0 to 100")
    return number


def _checked(parse):
    """Locust hands options to workers as strings: keep the text, refuse a bad one at the start."""

    def check(value: object) -> str:
        parse(value)
        return str(value).strip()

    return check


@events.init_command_line_parser.add_listener
def _add_compare_arguments(parser) -> None:
    parser.add_argument(
        "--compare-tolerance",
        type=_checked(parse_tolerance),
        env_var="LOCUST_COMPARE_TOLERANCE",
        default=DEFAULT_TOLERANCE,
        include_in_web_ui=False,
        # argparse formats help with %: each one doubled
        help=f"python -m tideways_locust.compare: a p95 counts as slower than the baseline's only past "
        f"this, {TOLERANCE_FORM} (default {DEFAULT_TOLERANCE}).".replace("%", "%%"),
    )
    parser.add_argument(
        "--compare-endpoint-tolerance",
        type=_checked(parse_endpoint_tolerances),
        env_var="LOCUST_COMPARE_ENDPOINT_TOLERANCE",
        default="",
        include_in_web_ui=False,
        help="Tolerances of single endpoints or transactions: 'GET /search=30%%+100ms; /checkout=20%%'.",
    )
    parser.add_argument(
        "--compare-fail-points",
        type=parse_fail_points,
        env_var="LOCUST_COMPARE_FAIL_POINTS",
        default=DEFAULT_FAIL_POINTS,
        include_in_web_ui=False,
        help="A failure rate counts as worse only when it rose by more than this many percentage points "
        f"(default {DEFAULT_FAIL_POINTS:g}).",
    )
    parser.add_argument(
        "--commit",
        type=str,
        env_var="LOCUST_COMMIT",
        default="",
        include_in_web_ui=False,
        help="The commit of the application under test, kept in the run file "
        "(default: GITHUB_SHA or CI_COMMIT_SHA when set).",
    )


def tolerance_settings(options) -> dict:
    """The run's tolerances as the run file keeps them."""
    return {
        "p95": str(parse_tolerance(getattr(options, "compare_tolerance", DEFAULT_TOLERANCE) or DEFAULT_TOLERANCE)),
        "endpoints": {
            name: str(tolerance)
            for name, tolerance in parse_endpoint_tolerances(getattr(options, "compare_endpoint_tolerance", "")).items()
        },
        "fail_points": float(getattr(options, "compare_fail_points", DEFAULT_FAIL_POINTS)),
    }
