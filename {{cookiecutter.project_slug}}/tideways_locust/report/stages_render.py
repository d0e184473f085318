"""The report's "Load profile" section, in Markdown and for the HTML page, from the report's ``load``.

The profile in one line, each stage as Locust and Tideways saw it, the
requests asked but not sent (rate profiles), and for steps and breakpoint the
capacity, two charts of req/s and p95 against the stages' levels and the
slowest traces of the first stage that broke. Nothing at all when the run
followed no profile (``load`` null or missing). Every string is treated as
hostile, as in ``render``.
"""

from __future__ import annotations

from markupsafe import Markup

from .chart import svg_chart
from .text import (
    fmt_count,
    fmt_ms,
    fmt_percent,
    fmt_rate,
    md,
    md_table,
    md_traces,
    minute_label,
    page_traces,
    text_of,
)

TITLE = "Load profile"
RPS_SERIES = [("locust", "rps", "Locust req/s"), ("tideways", "server_rps", "Tideways req/s")]
P95_SERIES = [("locust", "p95_ms", "Locust p95"), ("tideways", "server_p95_ms", "Tideways p95")]
MINUTES_NOTE = (
    "Tideways keys its figures by minute: a stage's server side is that of the minutes it ran longest in "
    "(req/s over the seconds of load in them, p95 the highest of theirs); a stage shorter than a minute "
    "takes every minute it touched and shares them with the stages named."
)


# -- sentences ------------------------------------------------------------------


def about(rps: float) -> str:
    """``80`` of 80.1, ``7.5`` of 7.46: a capacity is an estimate."""
    return f"{rps:.0f}" if abs(rps) >= 10 else f"{rps:.1f}"


def capacity_parts(capacity: dict | None) -> tuple[str, str] | None:
    """The capacity line as its head and the rest: ``Capacity about 80 req/s``, ``stage 8 (80/s) held, ...``."""
    if capacity is None:
        return None
    if capacity.get("rps") is None:
        return "No capacity", "no stage ran to its end"
    held, broke = capacity.get("last_held"), capacity.get("first_broke")
    held_text = f"stage {held} ({text_of(capacity.get('level_held'))}) held" if held else "no stage held"
    if broke:
        why = "; ".join(capacity.get("why") or [])
        broke_text = f"stage {broke} ({text_of(capacity.get('level_broke'))}) broke" + (f": {why}" if why else "")
    else:
        broke_text = "no stage broke, so the capacity is above the highest level"
    return f"Capacity about {about(capacity['rps'])} req/s", f"{held_text}, {broke_text}"


def capacity_server(capacity: dict | None) -> str | None:
    """Tideways' req/s and p95 at the stages the capacity names; None when it has none of them."""
    if capacity is None:
        return None
    server = capacity.get("server") or {}
    parts, shared = [], False
    for key in ("last_held", "first_broke"):
        figures, index = server.get(key), capacity.get(key)
        if figures is None or index is None:
            continue
        shared = shared or bool(figures.get("shared"))
        rps, p95 = fmt_rate(figures.get("rps")), fmt_ms(figures.get("p95_ms"))
        parts.append(f"stage {index} at {rps} req/s with p95 {p95} ms")
    if not parts:
        return None
    shared_text = " (in minutes shared with neighbouring stages)" if shared else ""
    return "On the server (Tideways): " + ", ".join(parts) + shared_text


def shortfall(load: dict) -> str | None:
    """What a rate profile asked and did not send; None in a users profile."""
    asked, not_sent = load.get("asked"), load.get("not_sent")
    if load.get("unit") != "rate" or asked is None or not_sent is None:
        return None
    if not_sent <= 0:
        return f"All {asked:.0f} asked requests were sent."
    pool = load.get("pool")
    advice = f" ({pool} users paced the rate: raise --users or lower the rate)" if pool else ""
    return (
        f"{not_sent} of {asked:.0f} asked requests not sent ({fmt_percent(load.get('not_sent_percent'))}): "
        f"the users could not keep up{advice}"
    )


def settings_text(load: dict) -> str:
    return ", ".join(f"{name} {value}" for name, value in (load.get("settings") or {}).items())


# -- the stages table -------------------------------------------------------------


def _stage_text(stage: dict) -> str:
    label, level = str(stage.get("label") or ""), str(stage.get("level") or "")
    bare = level.removesuffix(" users").removesuffix(" user")
    text = str(stage.get("index"))
    if label and label not in (level, bare):
        text += f" ({label})"
    return text + ("" if stage.get("complete", True) else ", stopped")


def _users_text(stage: dict) -> str:
    users, most = stage.get("users"), stage.get("users_max")
    return fmt_count(users) + (f" (max {most})" if most is not None and users is not None and most != users else "")


def _failures_text(stage: dict) -> str:
    failures = stage.get("failures")
    return fmt_count(failures) + (f" ({fmt_percent(stage.get('fail_percent'))})" if failures else "")


def _minutes_text(server: dict) -> str:
    minutes = [minute_label(minute) for minute in server.get("minutes") or []]
    if not minutes:
        return text_of(None)
    text = minutes[0] if len(minutes) == 1 else f"{minutes[0]} to {minutes[-1]}"
    others = server.get("shared_with") or []
    if server.get("shared"):
        text += ", shared" + (f" with {', '.join(str(n) for n in others)}" if others else "")
    return text


def _verdict_text(stage: dict) -> str:
    if stage.get("verdict") == "broke":
        why = "; ".join(stage.get("why") or [])
        return "broke" + (f": {why}" if why else "")
    return stage.get("verdict") or "not judged"


def columns(load: dict) -> list[tuple[str, bool]]:
    """The table's headers, each with whether it holds figures (aligned right)."""
    stages = load.get("stages") or []
    found = [("Stage", False), ("Level asked", False), ("Users", True), ("Req/s", True)]
    found += [("p50 (ms)", True), ("p95 (ms)", True), ("Failures", True)]
    if load.get("unit") == "rate":
        found.append(("Not sent", True))
    if load.get("server_fetched"):
        found += [("Tideways minutes (UTC)", False), ("Tideways req/s", True), ("Tideways p95 (ms)", True)]
    if any(stage.get("verdict") for stage in stages):
        found.append(("Verdict", False))
    return found


def cells(load: dict, stage: dict) -> list[str]:
    headers = {name for name, _ in columns(load)}
    row = [
        _stage_text(stage),
        text_of(stage.get("level")),
        _users_text(stage),
        fmt_rate(stage.get("rps")),
        fmt_ms(stage.get("p50_ms")),
        fmt_ms(stage.get("p95_ms")),
        _failures_text(stage),
    ]
    if "Not sent" in headers:
        row.append(fmt_count(stage.get("not_sent")))
    if "Tideways req/s" in headers:
        server = stage.get("server") or {}
        row += [_minutes_text(server), fmt_rate(server.get("rps")), fmt_ms(server.get("p95_ms"))]
    if "Verdict" in headers:
        row.append(_verdict_text(stage))
    return row


def _not_fetched(load: dict, server_missing: str) -> str | None:
    return None if load.get("server_fetched") else f"The stages show the client side only: {server_missing}"


def _traces_title(capacity: dict) -> str:
    return f"Slowest traces of stage {capacity['first_broke']} ({text_of(capacity.get('level_broke'))})"


def _no_traces(capacity: dict) -> str:
    window = capacity.get("traces_window") or {}
    return (
        f"No callgraph traces in the minutes of stage {capacity['first_broke']} "
        f"({minute_label(window.get('from'))} to {minute_label(window.get('to'))} UTC)."
    )


# -- Markdown ---------------------------------------------------------------------


def markdown(load: dict | None, server_missing: str) -> list[str]:
    """The section's lines; none when the run followed no profile."""
    if load is None:
        return []
    out = [f"## {TITLE}", "", f"**{md(text_of(load.get('description')))}**", ""]
    if settings_text(load):
        out += [f"Settings: {md(settings_text(load))}", ""]
    capacity = load.get("capacity")
    if parts := capacity_parts(capacity):
        out += [f"**{md(parts[0])}:** {md(parts[1])}", ""]
    for line in (capacity_server(capacity), shortfall(load), _not_fetched(load, server_missing)):
        if line:
            out += [md(line), ""]
    stages = load.get("stages") or []
    if not stages:
        return out + ["No stage was recorded.", ""]
    headers = columns(load)
    rows = [[md(cell) for cell in cells(load, stage)] for stage in stages]
    out += md_table([name for name, _ in headers], {n for n, (_, right) in enumerate(headers) if right}, rows)
    if load.get("server_fetched"):
        out += [md(MINUTES_NOTE), ""]
    if capacity and capacity.get("first_broke") and capacity.get("traces") is not None:
        out += [f"### {md(_traces_title(capacity))}", ""]
        out += md_traces(capacity["traces"]) if capacity["traces"] else [md(_no_traces(capacity)), ""]
    return out


# -- the page ---------------------------------------------------------------------


def chart_rows(load: dict) -> list[dict]:
    """A point a stage: its level on the x axis, Locust's and Tideways' req/s and p95."""
    rows = []
    for stage in load.get("stages") or []:
        server = stage.get("server") or {}
        rows.append(
            {
                "stage": stage.get("index"),
                "level": text_of(stage.get("level")),
                "rps": stage.get("rps"),
                "server_rps": server.get("rps"),
                "p95_ms": stage.get("p95_ms"),
                "server_p95_ms": server.get("p95_ms"),
            }
        )
    return rows


def charts(load: dict) -> list[Markup]:
    """Req/s and p95 against the stages' levels (steps and breakpoint)."""
    rows = chart_rows(load)

    def level(row: dict) -> str:
        return row["level"]

    common = {"x_key": "stage", "x_text": level, "empty": "No figures of the stages"}
    rps = svg_chart(
        rows,
        RPS_SERIES,
        "Requests a second at each stage's level, Locust and Tideways",
        "capacity-rps",
        unit="req/s",
        value_text=lambda value: f"{fmt_rate(value)} req/s",
        **common,
    )
    p95_label = "p95 response time at each stage's level, Locust and Tideways"
    p95 = svg_chart(rows, P95_SERIES, p95_label, "capacity-p95", **common)
    return [Markup(rps), Markup(p95)]  # built of our markup and escaped text only


def page(load: dict | None, server_missing: str) -> dict | None:
    """What ``load.html.j2`` shows; None when the run followed no profile."""
    if load is None:
        return None
    capacity = load.get("capacity")
    headers = columns(load)
    rows = [
        {
            "index": stage.get("index"),
            "verdict": stage.get("verdict"),
            "cells": list(zip(cells(load, stage), (right for _, right in headers), strict=True)),
        }
        for stage in load.get("stages") or []
    ]
    broke = capacity if capacity and capacity.get("first_broke") and capacity.get("traces") is not None else None
    return {
        "description": text_of(load.get("description")),
        "settings": settings_text(load),
        "capacity": capacity_parts(capacity),
        "capacity_server": capacity_server(capacity),
        "shortfall": shortfall(load),
        "not_fetched": _not_fetched(load, server_missing),
        "headers": headers,
        "rows": rows,
        "minutes_note": MINUTES_NOTE if load.get("server_fetched") else None,
        "charts": charts(load) if capacity is not None and rows else [],
        "traces_title": _traces_title(broke) if broke else None,
        "traces": page_traces(broke["traces"]) if broke else None,
        "no_traces": _no_traces(broke) if broke else None,
    }
