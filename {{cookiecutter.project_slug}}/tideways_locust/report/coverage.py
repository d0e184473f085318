"""Which endpoints got a callgraph: the report's ``coverage``, from the run file's coverage fields.

A run file that records coverage holds, in ``tideways``, the coverage setting
(the first N requests of each endpoint traced, 0 off), the budget (at most M
traced requests a minute, null off) and the requests the budget left
untraced, the distributed workers that went missing mid-run, and
``traced_exact``; each endpoint holds its traced requests and its slowest
traced one. Older run files hold none of these: their report's ``coverage`` is
None and the reports show no section.

Each endpoint gets the link a reader follows to its slowest traced request: in
``request`` ref mode that request's own list of traces (the run file's link,
or one built from its ref and the report's project); in ``run`` ref mode every
traced request carries the run's id, so the only link is the run's list.
"""

from __future__ import annotations

from ..links import TidewaysProject
from .text import NONE

MARKERS = ("coverage", "budget_per_minute", "budget_capped", "lost_workers")
"""Keys of the run file's ``tideways`` that only a run file recording coverage has."""


def _count(value) -> int | None:
    """A count of the run file: a whole number from 0 on, else not known."""
    if isinstance(value, bool) or not isinstance(value, int | float):
        return None
    return int(value) if value == value and abs(value) != float("inf") and value >= 0 else None


def _number(value) -> float | None:
    if isinstance(value, bool) or not isinstance(value, int | float):
        return None
    return float(value) if value == value and abs(value) != float("inf") else None


def _text(value) -> str | None:
    return None if value in (None, "") else str(value)


def recorded(run: dict) -> bool:
    """Whether the run file records coverage (a run file of before does not)."""
    tideways = run.get("tideways") if isinstance(run.get("tideways"), dict) else {}
    endpoints = [entry for entry in run.get("endpoints") or [] if isinstance(entry, dict)]
    return any(key in tideways for key in MARKERS) or "traced_exact" in run or any("traced" in e for e in endpoints)


def lost_worker(raw: dict) -> dict:
    return {
        "worker": _text(raw.get("worker")),
        "last_report": _text(raw.get("last_report")),
        "traced_reported": _count(raw.get("traced_reported")),
        "may_be_missing": _count(raw.get("may_be_missing")),
    }


def slowest_trace(raw, project: TidewaysProject | None) -> dict | None:
    """An endpoint's slowest traced request, with its own list of traces when one is known."""
    if not isinstance(raw, dict):
        return None
    ref = _text(raw.get("ref"))
    link = raw.get("link") if isinstance(raw.get("link"), str) and raw.get("link") else None
    if link is None and ref is not None and project is not None:
        link = project.traces_link(ref)
    return {
        "ref": ref,
        "response_time_ms": _number(raw.get("response_time_ms")),
        "path": _text(raw.get("path")),
        "link": link,
    }


def endpoint(raw: dict, ref_mode: str, project: TidewaysProject | None, run_link: str | None) -> dict:
    """One endpoint of the run file, with the link to its slowest traced request: its own traces in ``request``
    ref mode, the run's in ``run`` ref mode (every traced request carried the run's id)."""
    slowest = slowest_trace(raw.get("slowest_trace"), project)
    own = slowest["link"] if slowest is not None else None
    return {
        "method": _text(raw.get("method")),
        "name": _text(raw.get("name")),
        "requests": _count(raw.get("requests")),
        "traced": _count(raw.get("traced")),
        "slowest_trace": slowest,
        "link": (own if ref_mode == "request" else run_link) if slowest is not None else None,
    }


def label(entry: dict) -> str:
    """``GET /cart``: an endpoint as the reports name it."""
    return " ".join(part for part in (entry.get("method"), entry.get("name")) if part) or NONE


def no_callgraph(entry: dict) -> bool:
    """Requested, and not one of its requests traced (not so when its traced count is not known)."""
    return (entry.get("requests") or 0) > 0 and entry.get("traced") == 0


def of(run: dict, project: TidewaysProject | None, run_link: str | None) -> dict | None:
    """The report's ``coverage``; None for a run file that does not record it.

    ``run_link`` is the run's list of traces (the report's ``links.traces``), the
    link of every endpoint in ``run`` ref mode.
    """
    if not recorded(run):
        return None
    tideways = run.get("tideways") if isinstance(run.get("tideways"), dict) else {}
    ref_mode = "request" if tideways.get("ref_mode") == "request" else "run"
    raw_lost = tideways.get("lost_workers") if isinstance(tideways.get("lost_workers"), list) else []
    lost = [lost_worker(raw) for raw in raw_lost if isinstance(raw, dict)]
    raw_endpoints = [entry for entry in run.get("endpoints") or [] if isinstance(entry, dict)]
    endpoints = [endpoint(raw, ref_mode, project, run_link) for raw in raw_endpoints]
    return {
        "ref_mode": ref_mode,
        "coverage": _count(tideways.get("coverage")),
        "budget_per_minute": _count(tideways.get("budget_per_minute")),
        "budget_capped": _count(tideways.get("budget_capped")),
        "traced_exact": run.get("traced_exact") is not False and not lost,
        "lost_workers": lost,
        "endpoints": endpoints,
        "no_callgraph": [label(entry) for entry in endpoints if no_callgraph(entry)],
    }
