"""The report as GitHub-flavoured Markdown and as one self-contained HTML page.

Both show the same sections, in the same order, from the report dict that
``python -m tideways_locust.report`` writes: the run, the link to its traces,
Locust's endpoints beside Tideways' transactions, the per-minute figures and
the slowest traces. Nothing is computed here that is not in the dict.

Every string of the report (names, URLs, ids) is treated as hostile: the HTML
page escapes it (Jinja2's autoescape), the Markdown escapes what could end a
table cell, start HTML or make a link, and only ``http://`` and ``https://``
URLs become links. The page loads nothing: inline CSS, the chart as inline SVG.
"""

from __future__ import annotations

import math
import re
from html import escape
from pathlib import Path
from urllib.parse import quote

import jinja2
from markupsafe import Markup

TEMPLATE = "page.html.j2"
NONE = "\u2013"  # an en dash: the figure is not known
MAX_LAYERS = 3  # layers shown when a trace names no bottleneck
TOKEN_HELP = "set TIDEWAYS_API_TOKEN to fetch Tideways' figures"
REACHED_PHP = (
    "Tideways' requests over Locust's requests in the same window; "
    "other traffic to the application and Tideways' sampling can move it."
)

# -- figures ------------------------------------------------------------------


def _number(value) -> bool:
    return isinstance(value, int | float) and not isinstance(value, bool) and math.isfinite(value)


def fmt_count(value) -> str:
    if value is None:
        return NONE
    if _number(value):
        return str(int(value)) if float(value).is_integer() else f"{value:g}"
    return str(value)


def fmt_ms(value) -> str:
    """Milliseconds: no decimals from 100 on, one below."""
    if value is None:
        return NONE
    if _number(value):
        return f"{value:.0f}" if abs(value) >= 100 else f"{value:.1f}"
    return str(value)


def fmt_percent(value) -> str:
    """A percentage with up to two decimals: ``93.75 %``, ``1 %``."""
    if value is None:
        return NONE
    if _number(value):
        return f"{value:.2f}".rstrip("0").rstrip(".") + " %"
    return str(value)


def fmt_memory(kb) -> str:
    if kb is None:
        return NONE
    if _number(kb):
        return f"{kb:.0f} KB" if abs(kb) < 1024 else f"{kb / 1024:.1f} MB"
    return str(kb)


def safe_url(value) -> str | None:
    """``value`` when it is an http(s) URL, with the characters that could end a link percent-encoded; else None."""
    if not isinstance(value, str) or not re.match(r"(?i)https?://[^/\s]", value):
        return None
    return quote(value, safe=":/?#@!$&'*+,;=%~")


def _text(value) -> str:
    return NONE if value is None or value == "" else str(value)


def bottlenecks(trace: dict) -> str:
    """The trace's bottlenecks, or else its top layers by share of the time."""
    named = [str(name) for name in trace.get("bottlenecks") or []]
    if named:
        return ", ".join(named)
    layers = [layer for layer in trace.get("layers") or [] if isinstance(layer, dict)]
    layers.sort(key=lambda layer: layer.get("perc") if _number(layer.get("perc")) else -1, reverse=True)
    top = [f"{layer.get('name')} {fmt_percent(layer.get('perc'))}" for layer in layers[:MAX_LAYERS]]
    return ", ".join(top) or NONE


def method_status(trace: dict) -> str:
    parts = [str(part) for part in (trace.get("method"), trace.get("status")) if part not in (None, "")]
    return " ".join(parts) or NONE


def minute_label(minute) -> str:
    """``02:41`` of ``2026-11-29 02:41``."""
    return str(minute).rsplit(" ", 1)[-1]


def server_missing(report: dict) -> str:
    problems = [str(problem) for problem in report.get("problems") or []]
    return "; ".join(problems) if problems else TOKEN_HELP


# -- the chart ----------------------------------------------------------------

_SERIES = [("locust", "locust_p95_ms", "Locust p95"), ("tideways", "tideways_p95_ms", "Tideways p95")]


def _step(span: float) -> float:
    """A round tick step (1, 2, 2.5 or 5 times a power of ten) for about four ticks over ``span``."""
    rough = span / 4
    power = 10 ** math.floor(math.log10(rough))
    return next(m * power for m in (1, 2, 2.5, 5, 10) if m * power >= rough)


def svg_chart(
    minutes: list[dict],
    series: list[tuple[str, str, str]] = _SERIES,
    label: str = "Per-minute p95 response time in milliseconds, Locust and Tideways",
    chart_id: str = "minutes-chart",
) -> str:
    """Each of ``series`` (CSS name, key of ``minutes``, title) a minute as inline SVG, by default Locust's
    and Tideways' p95; None values are gaps in the lines."""
    values = [m.get(key) for m in minutes for _, key, _ in series]
    if not any(_number(v) for v in values):
        return '<p class="no-figures">No per-minute figures</p>'
    width, height, left, right, top, bottom = 720, 280, 56, 28, 36, 40
    highest = max(v for v in values if _number(v))
    step = _step(highest or 1)
    y_max = step * math.ceil(highest / step) or step
    plot_w, plot_h = width - left - right, height - top - bottom
    radius = 3.5 if len(minutes) <= 30 else 2.5

    def x(i: int) -> float:
        return left + (plot_w / 2 if len(minutes) == 1 else plot_w * i / (len(minutes) - 1))

    def y(value: float) -> float:
        return top + plot_h * (1 - value / y_max)

    label = escape(label)
    out = [
        f'<svg id="{escape(chart_id)}" role="img" aria-label="{label}" viewBox="0 0 {width} {height}" class="chart">',
        f"<title>{label}</title>",
        f'<text x="{left - 8}" y="{top - 14}" class="axis-title" text-anchor="end">ms</text>',
    ]
    for i in range(int(round(y_max / step)) + 1):  # y ticks and grid lines
        tick = step * i
        out.append(f'<line class="grid" x1="{left}" x2="{width - right}" y1="{y(tick):.1f}" y2="{y(tick):.1f}"/>')
        out.append(f'<text x="{left - 8}" y="{y(tick) + 4:.1f}" text-anchor="end">{tick:g}</text>')
    labels = min(len(minutes), 8)  # at most eight minute labels, the first and the last among them
    labelled = {round(k * (len(minutes) - 1) / max(labels - 1, 1)) for k in range(labels)}
    for i, minute in enumerate(minutes):
        if i in labelled:
            out.append(
                f'<line class="tick" x1="{x(i):.1f}" x2="{x(i):.1f}" y1="{top + plot_h}" y2="{top + plot_h + 5}"/>'
            )
            text = escape(minute_label(minute.get("minute")))
            out.append(f'<text x="{x(i):.1f}" y="{top + plot_h + 20}" text-anchor="middle">{text}</text>')
    out.append(f'<line class="axis" x1="{left}" x2="{width - right}" y1="{top + plot_h}" y2="{top + plot_h}"/>')
    for n, (name, key, title) in enumerate(series):
        path, points, pen_down = [], [], False
        for i, minute in enumerate(minutes):
            value = minute.get(key)
            if not _number(value):
                pen_down = False  # a gap: the next point starts a new piece of the line
                continue
            path.append(f"{'L' if pen_down else 'M'}{x(i):.1f} {y(value):.1f}")
            pen_down = True
            tip = escape(f"{minute_label(minute.get('minute'))} {title} {fmt_ms(value)} ms")
            points.append(
                f'<circle class="point-{name}" cx="{x(i):.1f}" cy="{y(value):.1f}" r="{radius}" '
                f'data-minute="{escape(str(minute.get("minute")))}" data-value="{value}"><title>{tip}</title></circle>'
            )
        if path:
            out.append(f'<path class="series-{name}" d="{" ".join(path)}"/>')
        out.extend(points)
        legend_x = left + 8 + n * 150  # the legend, above the plot
        out.append(f'<line class="legend-{name}" x1="{legend_x}" x2="{legend_x + 24}" y1="12" y2="12"/>')
        out.append(f'<text x="{legend_x + 30}" y="16">{title}</text>')
    out.append("</svg>")
    return "\n".join(out)


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


def _md_table(headers: list[str], numeric: set[int], rows: list[list[str]]) -> list[str]:
    """A table of cells already in Markdown; the columns in ``numeric`` are aligned right."""
    align = ["---:" if i in numeric else "---" for i in range(len(headers))]
    return [f"| {' | '.join(row)} |" for row in [headers, align, *rows]] + [""]


def markdown(report: dict) -> str:
    """The report as GitHub-flavoured Markdown (for the job summary and ``reports/tideways-report.md``)."""
    run = report.get("run") or {}
    window = run.get("window") or {}
    links = report.get("links") or {}
    problems = [str(p) for p in report.get("problems") or []]
    out = [f"# Tideways report of run {md(_text(run.get('id')))}", ""]
    if problems or report.get("complete") is False:
        head = "**Problems:**"
        if report.get("complete") is False:
            head = "**Incomplete report.** Some parts could not be fetched:"
        out += [f"> {head}", ">", *[f"> - {md(problem)}" for problem in problems], ""]

    out += ["## The run", ""]
    for name, value in _run_facts(run, window):
        out.append(f"- **{name}:** {md(value)}")
    out += [f"- **Report generated:** {md(_text(report.get('generated')))}", ""]

    out += ["## Traces", ""]
    link = safe_url(links.get("traces"))
    if link:
        out += [f"**[Open the traces of this run in Tideways]({link})**", ""]
    elif links.get("traces"):
        out += [f"Traces of this run: {md(links['traces'])}", ""]
    else:
        out += [md(links.get("help") or "No link to the traces of this run."), ""]
    out += [_ref_mode_text(run), ""]  # our words: Markdown as they are

    out += ["## Client beside server", "", "### Locust (client)", ""]
    client = report.get("client") or {}
    rows = [_md_endpoint(e) for e in client.get("endpoints") or []]
    if client.get("total"):
        rows.append([f"**{cell}**" if cell else cell for cell in _md_endpoint(client["total"], total=True)])
    out += _md_table(["Method", "Name", "Requests", "Failures", "p95 (ms)"], {2, 3, 4}, rows)
    out += ["### Tideways (server)", ""]
    server = report.get("server")
    if server is None:
        out += [f"The server side was not fetched: {md(server_missing(report))}", ""]
    else:
        rows = [[md(cell) for cell in _transaction_cells(t)] for t in server.get("transactions") or []]
        total = server.get("total") or {}
        rows.append(["**Total**", *(f"**{md(cell)}**" for cell in _server_total_cells(total)), ""])
        out += _md_table(["Transaction", "Requests", "Errors", "p95 (ms)", "Memory"], {1, 2, 3, 4}, rows)
        share = md(fmt_percent(server.get("reached_php_percent")))
        out += [f"**Load that reached PHP: {share}**: {REACHED_PHP}", ""]

    out += ["## Per minute", ""]
    minutes = report.get("minutes") or []
    if minutes:
        rows = [[md(c) for c in _minute_cells(m)] for m in minutes]
        headers = ["Minute (UTC)", "Locust requests", "Locust p95 (ms)", "Tideways requests", "Tideways p95 (ms)"]
        out += _md_table(headers, {1, 2, 3, 4}, rows)
    else:
        out += ["No per-minute figures.", ""]

    out += ["## Slowest traces", ""]
    traces = report.get("traces") or []
    if traces:
        rows = [
            [
                md(_text(t.get("date"))),
                md_link(_text(t.get("transaction")), t.get("url")),
                md(method_status(t)),
                md(fmt_ms(t.get("response_time_ms"))),
                md(fmt_memory(t.get("memory_kb"))),
                md(bottlenecks(t)),
            ]
            for t in traces
        ]
        headers = ["Time (UTC)", "Transaction", "Method and status", "Response time (ms)", "Memory", "Bottlenecks"]
        out += _md_table(headers, {3, 4}, rows)
    else:
        out += ["No callgraph traces in this window.", ""]
    return "\n".join(out)


def _md_endpoint(entry: dict, total: bool = False) -> list[str]:
    name = entry.get("name") or ("Total" if total else NONE)
    cells = [fmt_count(entry.get("requests")), fmt_count(entry.get("failures")), fmt_ms(entry.get("p95_ms"))]
    return [md(entry.get("method") or ("" if total else NONE)), md(name), *(md(c) for c in cells)]


# -- shared by both formats ---------------------------------------------------


def _run_facts(run: dict, window: dict) -> list[tuple[str, str]]:
    """The run's facts, as (name, text) pairs."""
    rate = run.get("trace_rate") or {}
    facts = [
        ("Run id", _text(run.get("id"))),
        (
            "Window (UTC)",
            f"{_text(window.get('from'))} to {_text(window.get('to'))}, {fmt_count(window.get('minutes'))} "
            + ("minute" if window.get("minutes") == 1 else "minutes"),
        ),
        ("Run", f"{_text(run.get('start'))} to {_text(run.get('end'))}"),
        ("Host", _text(run.get("host"))),
        ("Tideways project", _text(run.get("project"))),
        ("Environment", _text(run.get("environment"))),
    ]
    if run.get("service"):
        facts.append(("Service", _text(run.get("service"))))
    facts += [
        ("Users", fmt_count(run.get("users"))),
        ("Trace rate", f"asked {fmt_percent(rate.get('asked'))}, reached {fmt_percent(rate.get('reached'))}"),
        ("Requests", fmt_count(run.get("requests"))),
        ("Traced", fmt_count(run.get("traced"))),
        ("Locust", _text(run.get("locust"))),
    ]
    return facts


def _ref_mode_text(run: dict) -> str:
    if run.get("ref_mode") == "request":
        return (
            "Each traced request carried its own X-Tideways-Ref: each record of the trace log links to its own trace."
        )
    return "Each traced request carried the run's id as X-Tideways-Ref, Tideways' correlation id of the trace."


def _server_total_cells(total: dict) -> list[str]:
    errors = fmt_count(total.get("errors"))
    if total.get("error_rate") is not None:
        errors += f" ({fmt_percent(total.get('error_rate'))})"
    return [fmt_count(total.get("requests")), errors, fmt_ms(total.get("p95_ms"))]


def _transaction_cells(transaction: dict) -> list[str]:
    return [
        _text(transaction.get("name")),
        fmt_count(transaction.get("requests")),
        fmt_count(transaction.get("errors")),
        fmt_ms(transaction.get("p95_ms")),
        fmt_memory(transaction.get("memory_kb")),
    ]


def _minute_cells(minute: dict) -> list[str]:
    return [
        _text(minute.get("minute")),
        fmt_count(minute.get("locust_requests")),
        fmt_ms(minute.get("locust_p95_ms")),
        fmt_count(minute.get("tideways_requests")),
        fmt_ms(minute.get("tideways_p95_ms")),
    ]


# -- HTML ---------------------------------------------------------------------


def page_environment(folder: Path, **filters) -> jinja2.Environment:
    """Jinja2 for a page template in ``folder``: every string escaped, an unknown name an error."""
    environment = jinja2.Environment(
        loader=jinja2.FileSystemLoader(folder),
        autoescape=True,
        undefined=jinja2.StrictUndefined,
        trim_blocks=True,
        lstrip_blocks=True,
    )
    environment.filters.update(filters)
    return environment


def _environment() -> jinja2.Environment:
    return page_environment(
        Path(__file__).parent, count=fmt_count, ms=fmt_ms, percent=fmt_percent, memory=fmt_memory, text=_text
    )


def html(report: dict) -> str:
    """The report as one self-contained HTML page: no scripts, nothing loaded from elsewhere."""
    run = report.get("run") or {}
    links = report.get("links") or {}
    client = report.get("client") or {}
    server = report.get("server")
    minutes = report.get("minutes") or []
    traces = [
        {**t, "link": safe_url(t.get("url")), "method_status": method_status(t), "bottlenecks_text": bottlenecks(t)}
        for t in report.get("traces") or []
    ]
    template = _environment().get_template(TEMPLATE)
    return template.render(
        report=report,
        run_id=_text(run.get("id")),
        complete=report.get("complete") is not False,
        problems=[str(p) for p in report.get("problems") or []],
        facts=_run_facts(run, run.get("window") or {}),
        traces_url=links.get("traces"),
        traces_link=safe_url(links.get("traces")),
        traces_help=links.get("help") or "No link to the traces of this run.",
        ref_mode_text=_ref_mode_text(run),
        endpoints=client.get("endpoints") or [],
        client_total=client.get("total"),
        server=server,
        server_total=(server or {}).get("total") or {},
        server_total_cells=_server_total_cells((server or {}).get("total") or {}),
        server_missing=server_missing(report),
        reached_php=REACHED_PHP,
        chart=Markup(svg_chart(minutes)),  # built of our markup and escaped text only
        minutes=[_minute_cells(m) for m in minutes],
        traces=traces,
        generated=_text(report.get("generated")),
    )
