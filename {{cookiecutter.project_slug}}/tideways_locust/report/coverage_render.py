"""The report's "Coverage" section and its lost-workers warning, in Markdown and for the HTML page.

The section is a table of the endpoints, each with its requests, its traced
requests and a link to its slowest traced request (``coverage``), then the
endpoints that got no callgraph and the coverage and budget settings. The
warning, near the top of both reports, names the distributed workers that went
missing mid-run: the traced figures are lower bounds then. Neither is shown for
a run file that does not record coverage (``coverage`` null or missing). Every
string is treated as hostile, as in ``render``.
"""

from __future__ import annotations

from datetime import UTC, datetime

from .coverage import no_callgraph
from .text import NONE, fmt_count, fmt_ms, md, md_link, md_table, safe_url, text_of

TITLE = "Coverage"
NUMERIC = {2, 3}  # the table's columns of figures
RUN_LINK_NOTE = (
    "Every traced request carried the run's id as X-Tideways-Ref, so each link opens the list of the run's "
    "traces: Tideways lists traces by reference, and its app link cannot be filtered by endpoint."
)
LOWER_BOUNDS = "the traced figures are lower bounds"


# -- sentences ------------------------------------------------------------------


def _plural(count: int, one: str, many: str) -> str:
    return f"{count} {one if count == 1 else many}"


def coverage_text(coverage: dict) -> str:
    """``first 2 requests of each endpoint traced``, ``coverage off``."""
    first = coverage.get("coverage")
    if first is None:
        return "coverage not recorded"
    if first == 0:
        return "coverage off"
    return "first request of each endpoint traced" if first == 1 else f"first {first} requests of each endpoint traced"


def budget_text(coverage: dict) -> str:
    """``budget 30 a minute, which left 12 chosen requests untraced``, ``budget off``."""
    per_minute = coverage.get("budget_per_minute")
    if per_minute is None:
        return "budget off"
    capped = coverage.get("budget_capped")
    text = f"budget {per_minute} a minute"
    if capped is None:
        return text
    if capped == 0:
        return f"{text}, which left no chosen request untraced"
    return f"{text}, which left {_plural(capped, 'chosen request', 'chosen requests')} untraced"


def settings_text(coverage: dict) -> str:
    return f"Settings: {coverage_text(coverage)}; {budget_text(coverage)}."


def callgraph_text(coverage: dict) -> str | None:
    """The endpoints requested that got no callgraph, or that each got one; None when no traced count is known."""
    missing = coverage.get("no_callgraph") or []
    if missing:
        counted = "" if coverage.get("traced_exact") is not False else f" (as counted: {LOWER_BOUNDS})"
        return "No callgraph: " + ", ".join(str(name) for name in missing) + counted
    endpoints = coverage.get("endpoints") or []
    if any((e.get("requests") or 0) > 0 and e.get("traced") is not None for e in endpoints):
        return "Every endpoint requested has at least one callgraph."
    return None


def _when(value) -> str:
    """``2026-12-03 06:10:11 UTC`` of an ISO 8601 time; other text as it is."""
    try:
        moment = datetime.fromisoformat(str(value))
    except (TypeError, ValueError):
        return text_of(value)
    moment = moment.replace(tzinfo=UTC) if moment.tzinfo is None else moment.astimezone(UTC)
    return moment.strftime("%Y-%m-%d %H:%M:%S UTC")


def lost_worker_text(worker: dict) -> str:
    """One lost worker: when it last reported, and how many of its traced requests may be missing."""
    last = worker.get("last_report")
    text = f"Worker {text_of(worker.get('worker'))} last reported " + (
        f"at {_when(last)}" if last else "at a time not known"
    )
    reported = worker.get("traced_reported")
    if reported is not None:
        text += f", with {_plural(reported, 'traced request', 'traced requests')}"
    missing = worker.get("may_be_missing")
    after = f"up to about {missing}" if missing is not None else "an unknown number"
    return f"{text}: {after} of its traced requests after that are not counted."


def warning(coverage: dict | None) -> dict | None:
    """The warning of traced figures that are lower bounds; None when they are exact (or not recorded)."""
    if coverage is None or coverage.get("traced_exact") is not False:
        return None
    lost = coverage.get("lost_workers") or []
    if not lost:
        return {"title": "Traced figures not exact", "text": f"the run file says so: {LOWER_BOUNDS}.", "workers": []}
    went = _plural(len(lost), "distributed worker went", "distributed workers went")
    return {
        "title": "Lost workers",
        "text": f"{went} missing mid-run, so {LOWER_BOUNDS}.",
        "workers": [lost_worker_text(worker) for worker in lost],
    }


def warning_lines(coverage: dict | None) -> list[str]:
    """The warning as lines for the command's output; none when the traced figures are exact."""
    found = warning(coverage)
    return [f"{found['title']}: {found['text']}", *found["workers"]] if found else []


# -- the table --------------------------------------------------------------------


def traced_header(coverage: dict) -> str:
    """``Traced``, or ``Traced (at least)`` when a worker was lost."""
    return "Traced" if coverage.get("traced_exact") is not False else "Traced (at least)"


def headers(coverage: dict) -> list[str]:
    return ["Method", "Name", "Requests", traced_header(coverage), "Slowest traced request"]


def slowest(entry: dict, ref_mode: str) -> dict | None:
    """An endpoint's slowest traced request as the reports show it: its time (the link's text), the safe link
    (its own traces in ``request`` ref mode, the run's in ``run`` ref mode) and its path (and ref)."""
    found = entry.get("slowest_trace")
    if not isinstance(found, dict):
        return None
    ms = found.get("response_time_ms")
    details = [str(found["path"])] if found.get("path") else []
    if ref_mode == "request" and found.get("ref"):
        details.append(f"ref {found['ref']}")
    return {
        "time": NONE if ms is None else f"{fmt_ms(ms)} ms",
        "link": safe_url(entry.get("link")),
        "kind": "trace" if ref_mode == "request" else "run",
        "details": ", ".join(details),
    }


def _row_cells(entry: dict) -> list[str]:
    return [
        text_of(entry.get("method")),
        text_of(entry.get("name")),
        fmt_count(entry.get("requests")),
        fmt_count(entry.get("traced")),
    ]


def _run_link_note(coverage: dict, rows: list[dict | None]) -> str | None:
    run_links = coverage.get("ref_mode") != "request" and any(row and row["link"] for row in rows)
    return RUN_LINK_NOTE if run_links else None


# -- Markdown ---------------------------------------------------------------------


def markdown_warning(coverage: dict | None) -> list[str]:
    """The warning as a quote, for the top of the Markdown; no lines when the traced figures are exact."""
    found = warning(coverage)
    if found is None:
        return []
    out = [f"> **{found['title']}:** {md(found['text'])}"]
    if found["workers"]:
        out += [">", *(f"> - {md(line)}" for line in found["workers"])]
    return [*out, ""]


def _md_slowest(found: dict | None) -> str:
    if found is None:
        return md(NONE)
    cell = md_link(found["time"], found["link"])
    return cell + (f", {md(found['details'])}" if found["details"] else "")


def markdown(coverage: dict | None) -> list[str]:
    """The section's lines; none when the run file does not record coverage."""
    if coverage is None:
        return []
    out = [f"## {TITLE}", ""]
    endpoints = coverage.get("endpoints") or []
    found = [slowest(entry, coverage.get("ref_mode")) for entry in endpoints]
    if endpoints:
        rows = [
            [*(md(cell) for cell in _row_cells(entry)), _md_slowest(best)]
            for entry, best in zip(endpoints, found, strict=True)
        ]
        out += md_table(headers(coverage), NUMERIC, rows)
    else:
        out += ["No endpoint was requested.", ""]
    for line in (_run_link_note(coverage, found), callgraph_text(coverage), settings_text(coverage)):
        if line:
            out += [md(line), ""]
    return out


# -- the page ---------------------------------------------------------------------


def page(coverage: dict | None) -> dict | None:
    """What ``coverage.html.j2`` shows; None when the run file does not record coverage."""
    if coverage is None:
        return None
    endpoints = coverage.get("endpoints") or []
    found = [slowest(entry, coverage.get("ref_mode")) for entry in endpoints]
    return {
        "traced_header": traced_header(coverage),
        "rows": [
            {"cells": _row_cells(entry), "slowest": best, "no_callgraph": no_callgraph(entry)}
            for entry, best in zip(endpoints, found, strict=True)
        ],
        "run_link_note": _run_link_note(coverage, found),
        "callgraph": callgraph_text(coverage),
        "settings": settings_text(coverage),
    }
