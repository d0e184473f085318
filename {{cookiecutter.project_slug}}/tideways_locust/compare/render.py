"""The comparison as GitHub-flavoured Markdown and as one self-contained HTML page.

Both show the same parts from the comparison dict that ``__main__`` writes as
JSON: the verdict, the two runs, each endpoint and each transaction before and
now, new failures, the evidence of each regression with its trace links, and
how it was judged. Every string is treated as hostile, as in ``report.render``.
"""

from __future__ import annotations

from pathlib import Path

from markupsafe import Markup

from ..report.render import (
    _md_table,
    fmt_count,
    fmt_ms,
    fmt_percent,
    md,
    md_link,
    page_environment,
    safe_url,
    svg_chart,
)
from .stats import Z
from .verdicts import FASTER, MIN_REQUESTS, NEW, NOT_ENOUGH, REGRESSION, REMOVED

TEMPLATE = "page.html.j2"
SERIES = [("before", "before_p95_ms", "Baseline p95"), ("now", "now_p95_ms", "This run p95")]
MARKS = {REGRESSION: "slower", FASTER: "faster", NOT_ENOUGH: "not enough data", NEW: "new", REMOVED: "removed"}


def method_text() -> str:
    return (
        f"An endpoint is a regression when its p95 grew past its tolerance and past chance: the 95 % "
        f"confidence intervals of the two p95s (order statistics of Locust's response-time histograms, "
        f"z = {Z}) do not overlap; or when its failure rate rose past the tolerance's points and past chance "
        f"(a one-sided two-proportion z-test). Fewer than {MIN_REQUESTS} requests cannot bound a p95: "
        "not enough data, neither pass nor fail. Tideways' transactions are judged by the tolerance alone "
        "(Tideways gives a p95, not the distribution). Requests per second are shown, not judged: "
        "with a fixed number of users they fall when responses slow down."
    )


def headline(comparison: dict) -> str:
    regressions = comparison["regressions"]
    if not regressions:
        return "No regression against the baseline"
    names = ", ".join(
        "all requests"
        if r["name"] == "total"
        else f"{'endpoint' if r['side'] == 'client' else 'transaction'} {r['name']}"
        for r in regressions
    )
    return f"{len(regressions)} regression{'s' if len(regressions) != 1 else ''} against the baseline: {names}"


def reasons_of(comparison: dict, item: dict) -> list[str]:
    """Why the regression that ``item`` (evidence) belongs to is one."""
    found = (r for r in comparison["regressions"] if (r["side"], r["name"]) == (item["side"], item["name"]))
    return next((r["reasons"] for r in found), [])


def when(run: dict) -> str:
    """``2026-12-02 16:38:13 to 16:38:21 UTC`` of a run's ISO 8601 start and end."""
    start, end = str(run.get("start") or ""), str(run.get("end") or "")
    start_day, _, start_time = start.partition("T")
    end_day, _, end_time = end.partition("T")
    start_time, end_time = start_time[:8], end_time[:8]
    if not start_time or not end_time:
        return f"{start} to {end}"
    return f"{start_day} {start_time} to {'' if end_day == start_day else end_day + ' '}{end_time} UTC"


def run_text(run: dict) -> str:
    return f"{run.get('run_id')}, {when(run)}" + (f", commit {run['commit']}" if run.get("commit") else "")


def fmt_rate(value) -> str:
    return fmt_count(value) if not isinstance(value, float) else f"{value:.1f}"


def cell(before, now, fmt, change=None) -> str:
    """``84 → 112 (+33.3 %)``."""
    text = f"{fmt(before)} \u2192 {fmt(now)}"
    if change is not None:
        text += f" ({change:+g} %)"
    return text


def shown_verdict(row: dict) -> str:
    """The row's verdict; all requests together, when the endpoints were judged, only "not judged"."""
    return "not judged" if row.get("judged") is False else row["verdict"]


def verdict_text(row: dict) -> str:
    text = MARKS.get(row["verdict"], row["verdict"])
    return f"{text}, not judged" if row.get("judged") is False else text


def endpoint_cells(row: dict) -> list[str]:
    b, n, c = row.get("before") or {}, row.get("now") or {}, row.get("change") or {}
    return [
        row["key"] if row["key"] != "total" else "All requests",
        cell(b.get("requests"), n.get("requests"), fmt_count),
        cell(b.get("median_ms"), n.get("median_ms"), fmt_ms, c.get("median_percent")),
        cell(b.get("p95_ms"), n.get("p95_ms"), fmt_ms, c.get("p95_percent")),
        cell(b.get("p99_ms"), n.get("p99_ms"), fmt_ms, c.get("p99_percent")),
        cell(b.get("fail_percent"), n.get("fail_percent"), fmt_percent),
        cell(b.get("rps"), n.get("rps"), fmt_rate, c.get("rps_percent")),
        verdict_text(row),
    ]


def transaction_cells(row: dict) -> list[str]:
    b, n = row.get("before") or {}, row.get("now") or {}
    return [
        row["name"],
        cell(b.get("requests"), n.get("requests"), fmt_count),
        cell(b.get("error_percent"), n.get("error_percent"), fmt_percent),
        cell(b.get("p95_ms"), n.get("p95_ms"), fmt_ms),
        MARKS.get(row["verdict"], row["verdict"]),
    ]


def markdown(comparison: dict) -> str:
    out = [f"# {md(headline(comparison))}", ""]
    if comparison.get("refused"):
        out += ["**Not comparable** (compared anyway, --force):", ""]
        out += [f"- {md(line)}" for line in comparison["refused"]] + [""]
    if comparison.get("problems"):
        out += ["> **Problems:**", ">", *[f"> - {md(p)}" for p in comparison["problems"]], ""]
    runs = comparison["runs"]
    out += ["## The runs", ""]
    for title, run in (("Baseline", runs["baseline"]), ("This run", runs["current"])):
        out.append(f"- **{title}:** " + md_link(run_text(run), run.get("traces_link")))
    out += [f"- **Differences that may move the figures:** {md(line)}" for line in comparison.get("noted") or []]
    out += ["", "## Locust (client), per endpoint", ""]
    client = comparison["client"]
    rows = [[md(c) for c in endpoint_cells(r)] for r in client["endpoints"]]
    rows.append([f"**{md(c)}**" for c in endpoint_cells(client["total"])])
    headers = ["Endpoint", "Requests", "Median (ms)", "p95 (ms)", "p99 (ms)", "Failures", "req/s", "Verdict"]
    out += _md_table(headers, set(), rows)
    out += ["## Tideways (server), per transaction", ""]
    if comparison["server"] is None:
        out += [md(comparison.get("server_missing") or "Not compared."), ""]
    elif comparison["server"]:
        rows = [[md(c) for c in transaction_cells(r)] for r in comparison["server"]]
        out += _md_table(["Transaction", "Requests", "Errors", "p95 (ms)", "Verdict"], set(), rows)
    else:
        out += ["Tideways listed no transactions in either window.", ""]
    if comparison["new_failures"] or comparison["added"] or comparison["removed"]:
        out += ["## What is new", ""]
        out += [
            f"- New failure at {md(f['endpoint'])} ({f['occurrences']}x): {md(f['message'])}"
            for f in comparison["new_failures"]
        ]
        out += [f"- Endpoint added: {md(key)}" for key in comparison["added"]]
        out += [f"- Endpoint removed: {md(key)}" for key in comparison["removed"]]
        out.append("")
    if comparison["evidence"]:
        out += ["## Evidence", ""]
        for item in comparison["evidence"]:
            side = "endpoint" if item["side"] == "client" else "transaction"
            out += [f"### {md(item['name'])} ({side})", ""]
            out += [f"- {md(reason)}" for reason in reasons_of(comparison, item)]
            for title, key in (("This run", "now"), ("Baseline", "baseline")):
                traces = item.get(key)
                if traces:
                    links = ", ".join(md_link(f"{fmt_ms(t.get('response_time_ms'))} ms", t.get("url")) for t in traces)
                    out.append(f"- {title}, slowest traces: {links}")
                elif traces is not None:
                    out.append(f"- {title}: no traces")
            if item.get("note"):
                out.append(f"- {md(item['note'])}")
            out.append("")
    out += ["## How it was judged", "", md(method_text()), ""]
    out += [
        f"Tolerance: {md(tolerance_text(comparison['tolerance']))}. Tideways API calls: {comparison['api_calls']}.",
        "",
    ]
    return "\n".join(out)


def tolerance_text(tolerance: dict) -> str:
    parts = [f"{tolerance['p95']} on p95"]
    parts += [f"{t} for {name}" for name, t in (tolerance.get("endpoints") or {}).items()]
    points = tolerance["fail_points"]
    return ", ".join(parts) + f"; {points:g} percentage point{'' if points == 1 else 's'} on failure rates"


def _environment():
    return page_environment(Path(__file__).parent, ms=fmt_ms)


def html(comparison: dict) -> str:
    """One self-contained page: inline CSS, charts as inline SVG, no scripts."""
    charts = []
    for chart in comparison.get("charts") or []:
        charts.append(
            {
                "title": chart["title"],
                "svg": Markup(  # built of our markup and escaped text only
                    svg_chart(
                        chart["minutes"],
                        SERIES,
                        f"p95 a minute, baseline and this run: {chart['title']}",
                        chart_id=chart["id"],
                    )
                ),
            }
        )
    evidence = []
    for item in comparison["evidence"]:
        sides = []
        for title, key in (("This run", "now"), ("Baseline", "baseline")):
            traces = item.get(key)
            sides.append(
                {
                    "title": title,
                    "known": traces is not None,
                    "traces": [{**t, "link": safe_url(t.get("url"))} for t in traces or []],
                }
            )
        evidence.append({**item, "sides": sides, "reasons": reasons_of(comparison, item)})
    runs = comparison["runs"]
    return (
        _environment()
        .get_template(TEMPLATE)
        .render(
            c=comparison,
            headline=headline(comparison),
            regressed=bool(comparison["regressions"]),
            runs=[
                {"title": title, "text": run_text(run), "link": safe_url(run.get("traces_link"))}
                for title, run in (("Baseline", runs["baseline"]), ("This run", runs["current"]))
            ],
            tolerance=tolerance_text(comparison["tolerance"]),
            endpoints=[(r["verdict"], endpoint_cells(r)) for r in comparison["client"]["endpoints"]],
            total=(shown_verdict(comparison["client"]["total"]), endpoint_cells(comparison["client"]["total"])),
            transactions=[(r["verdict"], transaction_cells(r)) for r in comparison["server"] or []],
            charts=charts,
            evidence=evidence,
            method=method_text(),
        )
    )
