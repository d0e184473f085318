"""Figures and strings as the reports show them: numbers, URLs and Markdown that cannot be broken.

Every string of a report (names, URLs, ids) is treated as hostile: the Markdown
escapes what could end a table cell, start HTML or make a link, and only
``http://`` and ``https://`` URLs become links. The HTML pages escape with
Jinja2's autoescape; these functions give them the same figures.
"""

from __future__ import annotations

import math
import re
from urllib.parse import quote

NONE = "\u2013"  # an en dash: the figure is not known
MAX_LAYERS = 3  # layers shown when a trace names no bottleneck

# -- figures ------------------------------------------------------------------


def is_number(value) -> bool:
    return isinstance(value, int | float) and not isinstance(value, bool) and math.isfinite(value)


def fmt_count(value) -> str:
    if value is None:
        return NONE
    if is_number(value):
        return str(int(value)) if float(value).is_integer() else f"{value:g}"
    return str(value)


def fmt_ms(value) -> str:
    """Milliseconds: no decimals from 100 on, one below."""
    if value is None:
        return NONE
    if is_number(value):
        return f"{value:.0f}" if abs(value) >= 100 else f"{value:.1f}"
    return str(value)


def fmt_rate(value) -> str:
    """Requests a second, as milliseconds are shown: no decimals from 100 on, one below."""
    return fmt_ms(value)


def fmt_percent(value) -> str:
    """A percentage with up to two decimals: ``93.75 %``, ``1 %``."""
    if value is None:
        return NONE
    if is_number(value):
        return f"{value:.2f}".rstrip("0").rstrip(".") + " %"
    return str(value)


def fmt_memory(kb) -> str:
    if kb is None:
        return NONE
    if is_number(kb):
        return f"{kb:.0f} KB" if abs(kb) < 1024 else f"{kb / 1024:.1f} MB"
    return str(kb)


def safe_url(value) -> str | None:
    """``value`` when it is an http(s) URL, with the characters that could end a link percent-encoded; else None."""
    if not isinstance(value, str) or not re.match(r"(?i)https?://[^/\s]", value):
        return None
    return quote(value, safe=":/?#@!$&'*+,;=%~")


def text_of(value) -> str:
    """``value`` as text, a dash when it is not known."""
    return NONE if value is None or value == "" else str(value)


def minute_label(minute) -> str:
    """``02:41`` of ``2026-11-29 02:41``."""
    return str(minute).rsplit(" ", 1)[-1]


# -- traces -------------------------------------------------------------------


def bottlenecks(trace: dict) -> str:
    """The trace's bottlenecks, or else its top layers by share of the time."""
    named = [str(name) for name in trace.get("bottlenecks") or []]
    if named:
        return ", ".join(named)
    layers = [layer for layer in trace.get("layers") or [] if isinstance(layer, dict)]
    layers.sort(key=lambda layer: layer.get("perc") if is_number(layer.get("perc")) else -1, reverse=True)
    top = [f"{layer.get('name')} {fmt_percent(layer.get('perc'))}" for layer in layers[:MAX_LAYERS]]
    return ", ".join(top) or NONE


def method_status(trace: dict) -> str:
    parts = [str(part) for part in (trace.get("method"), trace.get("status")) if part not in (None, "")]
    return " ".join(parts) or NONE


# -- Markdown -----------------------------------------------------------------

_MD_ESCAPES = {"&": "&amp;", "<": "&lt;", ">": "&gt;", "|": "\\|"}
_MD_SPECIAL = re.compile(r"[\\`*_~\[\]#@!&<>|]")


def md(value) -> str:
    """``value`` as literal Markdown text, safe in a table cell: one line, no HTML, no link, no emphasis."""
    text = " ".join(str(value).split())  # newlines and tabs become spaces
    text = "".join(ch for ch in text if ch.isprintable())
    text = _MD_SPECIAL.sub(lambda m: _MD_ESCAPES.get(m[0], "\\" + m[0]), text)
    text = re.sub(r"(?<=[A-Za-z]):", r"\\:", text)  # no autolink of scheme:... (http:, javascript:, mailto:)
    text = re.sub(r"(?i)\bwww\.", lambda m: m[0][:-1] + "\\.", text)  # nor of www.
    # nor a list, heading or rule when the text starts a line (a problem in a list, say)
    return re.sub(r"^([-+=])|^(\d+)([.)])(?=\s|$)", lambda m: f"\\{m[1]}" if m[1] else f"{m[2]}\\{m[3]}", text)


def md_link(text, url) -> str:
    link = safe_url(url)
    return f"[{md(text)}]({link})" if link else md(text)


def md_table(headers: list[str], numeric: set[int], rows: list[list[str]]) -> list[str]:
    """A table of cells already in Markdown; the columns in ``numeric`` are aligned right."""
    align = ["---:" if i in numeric else "---" for i in range(len(headers))]
    return [f"| {' | '.join(row)} |" for row in [headers, align, *rows]] + [""]


TRACE_HEADERS = ["Time (UTC)", "Transaction", "Method and status", "Response time (ms)", "Memory", "Bottlenecks"]


def md_traces(traces: list[dict]) -> list[str]:
    """Callgraph traces as a Markdown table, each transaction linked to its trace."""
    rows = [
        [
            md(text_of(t.get("date"))),
            md_link(text_of(t.get("transaction")), t.get("url")),
            md(method_status(t)),
            md(fmt_ms(t.get("response_time_ms"))),
            md(fmt_memory(t.get("memory_kb"))),
            md(bottlenecks(t)),
        ]
        for t in traces
    ]
    return md_table(TRACE_HEADERS, {3, 4}, rows)


def page_traces(traces: list[dict]) -> list[dict]:
    """Callgraph traces for a page template: each with its safe link and its texts."""
    return [
        {**t, "link": safe_url(t.get("url")), "method_status": method_status(t), "bottlenecks_text": bottlenecks(t)}
        for t in traces
    ]
