"""The verdicts: each endpoint (client side) and each Tideways transaction (server side), before and now.

An endpoint is a regression when its p95 grew past its tolerance *and* past
chance (``stats``), or its failure rate rose past ``fail_points`` and past
chance. All requests together count only when no endpoint had enough requests
to be judged. Too few requests to bound a p95 is "not enough data": never a pass, never
a fail. Tideways gives a transaction's p95 but not its distribution, so the
server side is judged by the tolerance alone, with the same minimum of requests.
"""

from __future__ import annotations

from .options import Tolerance
from .runs import Run
from .stats import Histogram, failures_rose, minimum_requests, shift

REGRESSION = "regression"
FASTER = "faster"
UNCHANGED = "unchanged"
NOT_ENOUGH = "not enough data"
NEW = "new"
REMOVED = "removed"

MIN_REQUESTS = minimum_requests(0.95)


class Judge:
    """Tolerances: the run's default, per endpoint or transaction where set, and the failure points."""

    def __init__(self, tolerance: Tolerance, by_name: dict[str, Tolerance], fail_points: float) -> None:
        self.tolerance = tolerance
        self.by_name = by_name
        self.fail_points = fail_points

    def tolerance_of(self, key: str, name: str | None = None) -> Tolerance:
        return self.by_name.get(key) or (self.by_name.get(name) if name else None) or self.tolerance


def _side(entry: dict, seconds: float | None) -> dict:
    histogram = Histogram(entry.get("histogram") or {})
    requests = int(entry.get("requests") or 0)
    failures = int(entry.get("failures") or 0)
    rps = entry.get("rps")
    return {
        "requests": requests,
        "failures": failures,
        "fail_percent": round(100.0 * failures / requests, 3) if requests else None,
        "median_ms": histogram.percentile(0.5),
        "p95_ms": histogram.percentile(0.95),
        "p99_ms": histogram.percentile(0.99),
        "rps": rps if rps is not None else (round(requests / seconds, 3) if seconds else None),
    }


def _change(before, now) -> float | None:
    if before is None or now is None or before == 0:
        return None
    return round(100.0 * (now - before) / before, 1)


def _changes(was: dict, now: dict) -> dict:
    fail_points = None
    if was["fail_percent"] is not None and now["fail_percent"] is not None:
        fail_points = round(now["fail_percent"] - was["fail_percent"], 3)
    return {
        "median_percent": _change(was["median_ms"], now["median_ms"]),
        "p95_percent": _change(was["p95_ms"], now["p95_ms"]),
        "p95_ms": round(now["p95_ms"] - was["p95_ms"], 3) if None not in (was["p95_ms"], now["p95_ms"]) else None,
        "p99_percent": _change(was["p99_ms"], now["p99_ms"]),
        "fail_points": fail_points,
        "rps_percent": _change(was["rps"], now["rps"]),
    }


def endpoint_row(key: str, before: dict | None, now: dict | None, judge: Judge, seconds: tuple) -> dict:
    entry = now or before or {}
    row = {"key": key, "method": entry.get("method") or "", "name": entry.get("name") or key}
    tolerance = judge.tolerance_of(key, row["name"])
    row["tolerance"] = str(tolerance)
    row["before"] = _side(before, seconds[0]) if before else None
    row["now"] = _side(now, seconds[1]) if now else None
    row["reasons"] = []
    if before is None or now is None:
        row["verdict"] = NEW if before is None else REMOVED
        row["change"] = None
        return row
    row["change"] = _changes(row["before"], row["now"])
    was, is_ = Histogram(before.get("histogram") or {}), Histogram(now.get("histogram") or {})
    p95 = shift(was, is_, 0.95)
    row["p95_intervals"] = {"before": was.interval(0.95), "now": is_.interval(0.95)}
    reasons = row["reasons"]
    slower = p95.enough and p95.slower and tolerance.exceeded(p95.before, p95.now)
    faster = p95.enough and p95.faster and tolerance.exceeded(p95.now, p95.before)
    if slower:
        reasons.append(
            f"p95 {p95.before:g} ms to {p95.now:g} ms ({row['change']['p95_percent']:+g} %): past {tolerance} "
            "and past chance"
        )
    b, n = row["before"], row["now"]
    fail_worse = (
        n["fail_percent"] is not None
        and b["fail_percent"] is not None
        and n["fail_percent"] - b["fail_percent"] > judge.fail_points
        and failures_rose(b["failures"], b["requests"], n["failures"], n["requests"])
    )
    if fail_worse:
        reasons.append(
            f"failures {b['fail_percent']:g} % to {n['fail_percent']:g} %: up more than "
            f"{judge.fail_points:g} points, and past chance"
        )
    if reasons:
        row["verdict"] = REGRESSION
    elif not p95.enough:
        row["verdict"] = NOT_ENOUGH
        reasons.append(f"fewer than {MIN_REQUESTS} requests in a run: too few to bound a p95")
    else:
        row["verdict"] = FASTER if faster else UNCHANGED
    return row


def transaction_row(name: str, before: dict | None, now: dict | None, judge: Judge) -> dict:
    def side(t: dict | None) -> dict | None:
        if t is None:
            return None
        requests, errors = t.get("requests"), t.get("errors")
        rate = round(100.0 * errors / requests, 3) if requests and errors is not None else None
        return {"requests": requests, "errors": errors, "error_percent": rate, "p95_ms": t.get("p95_ms")}

    tolerance = judge.tolerance_of(name)
    row = {"name": name, "tolerance": str(tolerance), "before": side(before), "now": side(now), "reasons": []}
    if before is None or now is None:
        row["verdict"] = NEW if before is None else REMOVED
        return row
    b, n = row["before"], row["now"]
    too_few = min(b["requests"] or 0, n["requests"] or 0) < MIN_REQUESTS
    if too_few or b["p95_ms"] is None or n["p95_ms"] is None:
        row["verdict"] = NOT_ENOUGH
        row["reasons"].append(f"fewer than {MIN_REQUESTS} requests in a window, or no p95")
        return row
    if tolerance.exceeded(b["p95_ms"], n["p95_ms"]):
        row["reasons"].append(
            f"p95 {b['p95_ms']:g} ms to {n['p95_ms']:g} ms ({_change(b['p95_ms'], n['p95_ms']):+g} %): past {tolerance}"
        )
    if (
        b["error_percent"] is not None
        and n["error_percent"] is not None
        and n["error_percent"] - b["error_percent"] > judge.fail_points
        and failures_rose(b["errors"], b["requests"], n["errors"], n["requests"])
    ):
        row["reasons"].append(
            f"errors {b['error_percent']:g} % to {n['error_percent']:g} %: up more than {judge.fail_points:g} points"
        )
    if row["reasons"]:
        row["verdict"] = REGRESSION
    else:
        row["verdict"] = FASTER if tolerance.exceeded(n["p95_ms"], b["p95_ms"]) else UNCHANGED
    return row


def new_failures(baseline: Run, current: Run) -> list[dict]:
    """Error messages (per endpoint) this run had and the baseline did not."""
    was = {key: set(e.get("failures_by_message") or {}) for key, e in baseline.endpoints.items()}
    found = []
    for key, entry in current.endpoints.items():
        for message, count in (entry.get("failures_by_message") or {}).items():
            if message not in was.get(key, set()):
                found.append({"endpoint": key, "message": message, "occurrences": count})
    return found


def compare(baseline: Run, current: Run, judge: Judge) -> dict:
    seconds = (baseline.data.get("seconds"), current.data.get("seconds"))
    before, now = baseline.endpoints, current.endpoints
    keys = sorted(set(before) | set(now))
    endpoints = [endpoint_row(key, before.get(key), now.get(key), judge, seconds) for key in keys]
    total = endpoint_row("total", baseline.data.get("total"), current.data.get("total"), judge, seconds)
    total["name"] = "All requests"
    server = None
    if baseline.report is not None and current.report is not None:
        was, is_ = baseline.transactions, current.transactions
        if (baseline.report.get("server") or None) is not None and (current.report.get("server") or None) is not None:
            server = [
                transaction_row(name, was.get(name), is_.get(name), judge) for name in sorted(set(was) | set(is_))
            ]
    judged = any(row["verdict"] in (REGRESSION, FASTER, UNCHANGED) for row in endpoints)
    # All requests together are judged only when no endpoint could be: else they would flag again what an
    # endpoint flagged (or one its own tolerance let pass).
    rows = endpoints if judged else [*endpoints, total]
    regressions = [
        {"side": "client", "name": row["key"], "reasons": row["reasons"]}
        for row in rows
        if row["verdict"] == REGRESSION
    ] + [
        {"side": "server", "name": row["name"], "reasons": row["reasons"]}
        for row in server or []
        if row["verdict"] == REGRESSION
    ]
    total["judged"] = not judged
    return {
        "client": {"endpoints": endpoints, "total": total},
        "server": server,
        "new_failures": new_failures(baseline, current),
        "added": [row["key"] for row in endpoints if row["verdict"] == NEW],
        "removed": [row["key"] for row in endpoints if row["verdict"] == REMOVED],
        "regressions": regressions,
    }
