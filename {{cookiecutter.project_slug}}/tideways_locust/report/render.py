"""The report as GitHub-flavoured Markdown and as one self-contained HTML page.

Both show the same sections, in the same order, from the report dict that
``python -m tideways_locust.report`` writes: the run, the link to its traces,
each endpoint's traced requests when the run file records them
(``coverage_render``, with a warning near the top when a distributed worker
was lost), the load profile when the run followed one (``stages_render``), Locust's
endpoints beside Tideways' transactions, the per-minute figures and the slowest
traces. Nothing is computed here that is not in the dict.

Every string of the report (names, URLs, ids) is treated as hostile: the HTML
page escapes it (Jinja2's autoescape), the Markdown escapes what could end a
table cell, start HTML or make a link (``text``), and only ``http://`` and
``https://`` URLs become links. The page loads nothing: inline CSS, the charts
as inline SVG (``chart``).
"""

from __future__ import annotations

from pathlib import Path

import jinja2
from markupsafe import Markup

from . import coverage_render, stages_render
from .chart import svg_chart
from .text import (
    fmt_count,
    fmt_memory,
    fmt_ms,
    fmt_percent,
    md,
    md_link,
    md_traces,
    page_traces,
    safe_url,
)
from .text import md_table as _md_table
from .text import text_of as _text

__all__ = [  # the comparison's page and the tests take these from here
    "_md_table",
    "fmt_count",
    "fmt_memory",
    "fmt_ms",
    "fmt_percent",
    "html",
    "markdown",
    "md",
    "md_link",
    "page_environment",
    "safe_url",
    "svg_chart",
]

TEMPLATE = "page.html.j2"
TOKEN_HELP = "set TIDEWAYS_API_TOKEN to fetch Tideways' figures"
REACHED_PHP = (
    "Tideways' requests over Locust's requests in the same window; "
    "other traffic to the application and Tideways' sampling can move it."
)


def server_missing(report: dict) -> str:
    problems = [str(problem) for problem in report.get("problems") or []]
    return "; ".join(problems) if problems else TOKEN_HELP


# -- Markdown -----------------------------------------------------------------


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
    out += coverage_render.markdown_warning(report.get("coverage"))  # nothing when the traced figures are exact

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

    out += coverage_render.markdown(report.get("coverage"))  # nothing for a run file that does not record it
    out += stages_render.markdown(report.get("load"), server_missing(report))  # nothing without a profile

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
        out += md_traces(traces)
    else:
        out += ["No callgraph traces in this window.", ""]
    return "\n".join(out)


def _md_endpoint(entry: dict, total: bool = False) -> list[str]:
    name = entry.get("name") or ("Total" if total else _text(None))
    cells = [fmt_count(entry.get("requests")), fmt_count(entry.get("failures")), fmt_ms(entry.get("p95_ms"))]
    return [md(entry.get("method") or ("" if total else _text(None))), md(name), *(md(c) for c in cells)]


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
    traces = page_traces(report.get("traces") or [])
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
        load=stages_render.page(report.get("load"), server_missing(report)),
        coverage=coverage_render.page(report.get("coverage")),
        lost_workers=coverage_render.warning(report.get("coverage")),
        generated=_text(report.get("generated")),
    )
