"""Pass or fail a load test on its numbers, for CI.

When Locust stops, the master (or the only process) compares the run with
the limits below and sets the exit code:

    0  within the limits (failed requests under --max-fail-percent do not fail it)
    1  every login failed (``tideways_locust.logins``), whatever the limits say
    2  Locust itself failed: a bad option, or an unhandled error in a task
    3  a limit was exceeded, or no request was made; one log line says which

The limits are Locust options, so they come from ``locust.conf``, ``LOCUST_*``
environment variables or flags, like any other.
"""

from __future__ import annotations

import logging
import math

from locust import events, log
from locust.runners import WorkerRunner

from tideways_locust.options import bounded_number

logger = logging.getLogger(__name__)

EXIT_THRESHOLD_EXCEEDED = 3


@events.init_command_line_parser.add_listener
def _add_threshold_arguments(parser) -> None:
    parser.add_argument(
        "--max-fail-percent",
        type=bounded_number(0, 100, "a percentage from 0 to 100"),
        env_var="LOCUST_MAX_FAIL_PERCENT",
        default=1.0,
        help="Fail the run (exit 3) when more than this percent of requests failed (default 1).",
    )
    parser.add_argument(
        "--max-response-time",
        type=bounded_number(0, math.inf, "milliseconds, 0 or more (0 turns the check off)"),
        env_var="LOCUST_MAX_RESPONSE_TIME",
        default=2000.0,
        help="Fail the run (exit 3) when the --response-time-percentile is slower, in ms (default 2000, 0: off).",
    )
    parser.add_argument(
        "--response-time-percentile",
        type=bounded_number(1, 100, "a percentile from 1 to 100"),
        env_var="LOCUST_RESPONSE_TIME_PERCENTILE",
        default=95.0,
        help="The percentile --max-response-time limits (default 95).",
    )


def breaches(total, options) -> list[str]:
    """Why the run fails its limits; empty when it passes. ``total`` is ``environment.stats.total``."""
    if total.num_requests == 0:
        return ["no request was made"]
    found = []
    fail_percent = 100.0 * total.fail_ratio
    if fail_percent > options.max_fail_percent:
        found.append(f"{fail_percent:.2f} % of requests failed, over --max-fail-percent {options.max_fail_percent:g}")
    percentile = options.response_time_percentile
    if options.max_response_time > 0:
        measured = total.get_response_time_percentile(percentile / 100.0)
        if measured > options.max_response_time:
            found.append(
                f"p{percentile:g} response time {measured:g} ms is over --max-response-time "
                f"{options.max_response_time:g} ms"
            )
    return found


@events.quitting.add_listener
def _judge_the_run(environment, **_kwargs) -> None:
    if isinstance(environment.runner, WorkerRunner) or environment.parsed_options is None:
        return
    found = breaches(environment.stats.total, environment.parsed_options)
    if found and environment.process_exit_code:
        # The run failed already, for a reason of its own (every login failed: 1): that code stays.
        logger.error("Load test failed: %s (exit code %d)", "; ".join(found), environment.process_exit_code)
    elif found:
        logger.error("Load test failed: %s (exit code %d)", "; ".join(found), EXIT_THRESHOLD_EXCEEDED)
        environment.process_exit_code = EXIT_THRESHOLD_EXCEEDED
    elif environment.process_exit_code is None and not log.unhandled_greenlet_exception:
        logger.info("Load test passed its limits")
        environment.process_exit_code = 0
