"""The evidence of each regression: the slowest callgraph traces, in this run and in the baseline.

- An endpoint (client side): the slowest traced requests of that endpoint, from
  each run's trace log (``--tideways-trace-log``), each with its link; no API call.
- A Tideways transaction (server side): the slowest traces of that transaction
  in each run's window, from Tideways' traces API (``transaction_name``,
  ``min_date``/``max_date``, ``sort_by=response_time``): two calls a
  transaction, for at most ``limit`` transactions.
- Both runs' p95 a minute, side by side from each run's first minute, for the chart.
"""

from __future__ import annotations

import json

from ..report.api import ApiError, TidewaysApi
from ..report.collect import MINUTE, Window, trace_figures
from .runs import Run

TRACES_EACH = 3


def traced_requests(run: Run, key: str, limit: int = TRACES_EACH) -> list[dict] | None:
    """The slowest answered traced requests of endpoint ``key`` in the run's trace log (a log may hold
    earlier runs too: a record is the run's when its X-Tideways-Ref is the run's id or starts with it);
    None without a log."""
    log, run_id = run.trace_log, str(run.data.get("run_id"))
    if log is None:
        return None
    found = []
    try:
        lines = log.read_text(encoding="utf-8").splitlines()
    except OSError:
        return None
    for line in lines:
        try:
            record = json.loads(line)
        except ValueError:
            continue  # a line cut off by a crash
        if not isinstance(record, dict) or record.get("answered") is False:
            continue
        ref = str(record.get("ref") or "")
        if ref != run_id and not ref.startswith(f"{run_id}-"):
            continue
        method = str(record.get("method") or "")
        if (f"{method} {record.get('name')}" if method else str(record.get("name"))) != key:
            continue
        found.append(
            {
                "time": record.get("time"),
                "path": record.get("path"),
                "status": record.get("status"),
                "response_time_ms": record.get("response_time_ms"),
                "ref": record.get("ref"),
                "url": record.get("link"),
            }
        )
    found.sort(key=lambda r: -(r["response_time_ms"] or 0))
    return found[:limit]


def transaction_traces(api: TidewaysApi, run: Run, name: str, environment: str, service: str | None) -> list[dict]:
    window = Window(run.data["_start"], run.data["_end"])
    found = api.traces(
        window.first.strftime(MINUTE),
        window.last.strftime(MINUTE),
        environment,
        service,
        TRACES_EACH,
        "response_time",
        transaction_name=name,
    )
    traces = [
        trace_figures(t, api.project, environment, service)
        for t in found
        if t.get("environment") in (None, environment) and str(t.get("transaction_name") or name) == name
    ]
    traces.sort(key=lambda t: -(t["response_time_ms"] or 0))
    return traces[:TRACES_EACH]


def gather(
    comparison: dict,
    baseline: Run,
    current: Run,
    api: TidewaysApi | None,
    environment: str,
    service: str | None,
    limit: int,
    problems: list[str],
) -> tuple[list[dict], bool]:
    """The evidence of each regression, and whether an API call failed (the rest is still gathered)."""
    evidence, failed = [], False
    asked = 0
    for regression in comparison["regressions"]:
        item = {"side": regression["side"], "name": regression["name"], "baseline": None, "now": None, "note": None}
        if regression["side"] == "client":
            if regression["name"] == "total":
                item["note"] = "all requests: see each endpoint"
            else:
                item["baseline"] = traced_requests(baseline, regression["name"])
                item["now"] = traced_requests(current, regression["name"])
                if item["now"] is None:
                    item["note"] = "no trace log of this run (--tideways-trace-log): no traced requests to show"
                elif current.settings.get("ref_mode") == "run":
                    item["note"] = (
                        "X-Tideways-Ref was the run's id (--tideways-ref-mode run): each link lists the run's "
                        "traces; with --tideways-ref-mode request each links to its own trace"
                    )
        elif api is None:
            item["note"] = "no TIDEWAYS_API_TOKEN or project: the transaction's traces were not fetched"
        elif failed:
            item["note"] = "not fetched: an earlier call failed"
        elif asked >= limit:
            item["note"] = f"not fetched: at most {limit} transactions' traces a comparison (--evidence)"
        else:
            asked += 1
            try:
                item["now"] = transaction_traces(api, current, regression["name"], environment, service)
                item["baseline"] = transaction_traces(api, baseline, regression["name"], environment, service)
            except ApiError as error:
                failed = True
                problems.append(f"the traces of {regression['name']}: {error}")
                item["note"] = "not fetched: " + str(error)
            else:
                if not item["baseline"]:
                    item["note"] = (
                        "no traces in the baseline's window: Tideways keeps traces for a limited time, or none "
                        "of that transaction was traced then"
                    )
        evidence.append(item)
    return evidence, failed


def minutes_side_by_side(baseline: Run, current: Run, key: str | None = None) -> list[dict]:
    """p95 a minute of both runs (of one endpoint, or all requests), aligned on each run's first minute."""

    def series(run: Run) -> list:
        values = []
        for minute in run.data.get("minutes") or []:
            if key is None:
                values.append(minute.get("p95_ms"))
            else:
                values.append(((minute.get("endpoints") or {}).get(key) or {}).get("p95_ms"))
        return values

    was, now = series(baseline), series(current)
    return [
        {
            "minute": f"minute {i + 1}",
            "before_p95_ms": was[i] if i < len(was) else None,
            "now_p95_ms": now[i] if i < len(now) else None,
        }
        for i in range(max(len(was), len(now)))
    ]
