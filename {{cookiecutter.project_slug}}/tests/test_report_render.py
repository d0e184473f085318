"""The report as Markdown and as one HTML page: sections, tables, the chart, and hostile strings kept as text."""

from __future__ import annotations

import copy
import re
from html.parser import HTMLParser

import pytest

from tideways_locust.links import parse_project
from tideways_locust.report import coverage, coverage_render, render, stages_render

XSS = "<script>alert(1)</script>"
PIPE = "a|b"
BAD_LINK = "javascript:alert(1)"
MD_LINK = "](http://evil)"
TRACES = "https://app.tideways.io/o/acme/shop/traces?cid=20261129T024100-3f9a"
TRACE_URL = "https://app.tideways.io/o/acme/shop/trace/-abc123/quick?s=web&env=production"


def endpoint(method, name, requests, failures, p95):
    return {
        "method": method,
        "name": name,
        "requests": requests,
        "failures": failures,
        "median_ms": 12.0,
        "p95_ms": p95,
        "average_ms": 15.3,
        "max_ms": 90.0,
    }


def full_report() -> dict:
    return {
        "format": 1,
        "generated": "2026-11-29T02:45:10+00:00",
        "complete": True,
        "problems": [],
        "run": {
            "id": "20261129T024100-3f9a",
            "start": "2026-11-29T02:41:05+00:00",
            "end": "2026-11-29T02:43:20+00:00",
            "window": {"from": "2026-11-29 02:41", "to": "2026-11-29 02:44", "minutes": 4},
            "host": "https://staging.example.com",
            "users": 10,
            "locust": "2.47.0",
            "project": "acme/shop",
            "environment": "production",
            "service": "web",
            "ref_mode": "run",
            "trace_rate": {"asked": 1.0, "reached": 1.02},
            "requests": 5120,
            "traced": 52,
        },
        "links": {"traces": TRACES, "help": None},
        "client": {
            "endpoints": [
                endpoint("GET", "/products/{id}", 3000, 1, 40.0),
                endpoint("POST", "/cart", 1100, 0, 120.4),
                endpoint("GET", XSS, 1000, 2, 8.25),
                endpoint("GET", PIPE, 20, 0, None),
            ],
            "total": endpoint("", "Aggregated", 5120, 3, 55.0),
        },
        "server": {
            "total": {"requests": 4800, "errors": 3, "error_rate": 0.0625, "p95_ms": 55.0, "median_ms": 20.0},
            "transactions": [
                {
                    "name": "App\\Controller\\ProductController::show",
                    "requests": 2800,
                    "errors": 0,
                    "p95_ms": 60.0,
                    "average_ms": 22.0,
                    "memory_kb": 2048,
                },
                {
                    "name": "POST /cart",
                    "requests": 1000,
                    "errors": 3,
                    "p95_ms": 150.0,
                    "average_ms": 80.0,
                    "memory_kb": 512,
                },
                {
                    "name": MD_LINK,
                    "requests": 1000,
                    "errors": None,
                    "p95_ms": None,
                    "average_ms": None,
                    "memory_kb": None,
                },
            ],
            "reached_php_percent": 93.75,
        },
        "minutes": [
            {
                "minute": "2026-11-29 02:41",
                "locust_requests": 1700,
                "locust_failures": 0,
                "locust_p95_ms": 41.0,
                "tideways_requests": 1650,
                "tideways_errors": 0,
                "tideways_p95_ms": 50.0,
            },
            {
                "minute": "2026-11-29 02:42",
                "locust_requests": 1800,
                "locust_failures": 2,
                "locust_p95_ms": 120.0,
                "tideways_requests": None,
                "tideways_errors": None,
                "tideways_p95_ms": None,
            },
            {
                "minute": "2026-11-29 02:43",
                "locust_requests": 1600,
                "locust_failures": 1,
                "locust_p95_ms": 60.0,
                "tideways_requests": 1500,
                "tideways_errors": 3,
                "tideways_p95_ms": 70.0,
            },
            {
                "minute": "2026-11-29 02:44",
                "locust_requests": 20,
                "locust_failures": 0,
                "locust_p95_ms": None,
                "tideways_requests": 10,
                "tideways_errors": 0,
                "tideways_p95_ms": 65.5,
            },
        ],
        "traces": [
            {
                "id": "-abc123",
                "date": "2026-11-29 02:42",
                "url": TRACE_URL,
                "transaction": "GET /products/{id}",
                "method": "GET",
                "status": 200,
                "request_url": "shop.example.com/products/3",
                "response_time_ms": 812.0,
                "memory_kb": 4096,
                "bottlenecks": ["sql", "http"],
                "layers": [{"name": "sql", "perc": 61.5, "count": 12, "latency_sum_ms": 500.0}],
            },
            {
                "id": "-def456",
                "date": "2026-11-29 02:43",
                "url": BAD_LINK,
                "transaction": XSS,
                "method": None,
                "status": None,
                "request_url": None,
                "response_time_ms": 95.25,
                "memory_kb": None,
                "bottlenecks": [],
                "layers": [
                    {"name": "io", "perc": 5.0, "count": 1, "latency_sum_ms": 5.0},
                    {"name": "sql", "perc": 61.5, "count": 12, "latency_sum_ms": 500.0},
                    {"name": "http", "perc": 20.25, "count": 2, "latency_sum_ms": 100.0},
                    {"name": "cache", "perc": 1.0, "count": 2, "latency_sum_ms": 1.0},
                ],
            },
            {
                "id": "-ghi789",
                "date": "2026-11-29 02:43",
                "url": None,
                "transaction": MD_LINK,
                "method": "POST",
                "status": 500,
                "request_url": XSS,
                "response_time_ms": 400.0,
                "memory_kb": 700,
                "bottlenecks": [],
                "layers": [],
            },
        ],
    }


def minimal_report() -> dict:
    return {
        "format": 1,
        "generated": "2026-11-29T02:45:10+00:00",
        "complete": False,
        "problems": ["Tideways answered 401: check TIDEWAYS_API_TOKEN", XSS],
        "run": {
            "id": "20261129T024100-3f9a",
            "start": "2026-11-29T02:41:05+00:00",
            "end": "2026-11-29T02:43:20+00:00",
            "window": {"from": "2026-11-29 02:41", "to": "2026-11-29 02:43", "minutes": 3},
            "host": "https://staging.example.com",
            "users": 10,
            "locust": "2.47.0",
            "project": None,
            "environment": "production",
            "service": None,
            "ref_mode": "request",
            "trace_rate": {"asked": 1.0, "reached": None},
            "requests": 0,
            "traced": 0,
        },
        "links": {"traces": None, "help": "set --tideways-project ORGANIZATION/PROJECT for links to the traces"},
        "client": {"endpoints": [], "total": endpoint("", "Aggregated", 0, 0, None)},
        "server": None,
        "minutes": [],
        "traces": [],
    }


# -- helpers -------------------------------------------------------------------


def section(markdown: str, title: str) -> str:
    """The text of the ``## title`` section, up to the next ``## ``."""
    match = re.search(rf"^## {re.escape(title)}\n(.*?)(?=^## |\Z)", markdown, re.S | re.M)
    assert match, f"section {title!r}"
    return match[1]


def tables(text: str) -> list[list[list[str]]]:
    """The Markdown tables in ``text``, each a list of rows of cells (header and delimiter rows dropped)."""
    found, current = [], None
    for line in text.splitlines():
        if line.startswith("|"):
            if current is None:
                current = found.append([]) or found[-1]
            current.append(line)
        else:
            current = None
    return [[split_row(row) for row in table[2:]] for table in found]


def split_row(row: str) -> list[str]:
    """Cells of a GFM table row: split on ``|`` that is not escaped."""
    return [cell.strip() for cell in re.split(r"(?<!\\)\|", row.strip())[1:-1]]


def md_links(markdown: str) -> list[str]:
    """Targets of inline Markdown links ``[text](target)`` with an unescaped ``[``."""
    return re.findall(r"(?<!\\)\[(?:[^\]\\]|\\.)*\]\(([^)]*)\)", markdown)


class Page(HTMLParser):
    """Checks that every element opened is closed in order, and collects attributes."""

    VOID = {"meta", "br", "link", "img", "input", "hr", "line", "circle", "path"}

    def __init__(self):
        super().__init__(convert_charrefs=True)
        self.stack: list[str] = []
        self.tags: list[tuple[str, dict]] = []
        self.errors: list[str] = []
        self.text: list[str] = []

    def handle_starttag(self, tag, attrs):
        self.tags.append((tag, dict(attrs)))
        if tag not in self.VOID:
            self.stack.append(tag)

    def handle_startendtag(self, tag, attrs):
        self.tags.append((tag, dict(attrs)))

    def handle_endtag(self, tag):
        if tag in self.VOID:
            return
        if not self.stack or self.stack[-1] != tag:
            self.errors.append(f"</{tag}> closes {self.stack[-1:] or 'nothing'}")
        else:
            self.stack.pop()

    def handle_data(self, data):
        self.text.append(data)

    def by_id(self, element_id: str) -> list[tuple[str, dict]]:
        return [(tag, attrs) for tag, attrs in self.tags if attrs.get("id") == element_id]


def parse(page: str) -> Page:
    parser = Page()
    parser.feed(page)
    parser.close()
    assert not parser.errors, parser.errors
    assert parser.stack == [], f"unclosed: {parser.stack}"
    return parser


# -- Markdown ------------------------------------------------------------------


SECTIONS = ["The run", "Traces", "Client beside server", "Per minute", "Slowest traces"]


def test_markdown_has_the_sections_in_order():
    text = render.markdown(full_report())
    assert text.startswith("# Tideways report of run 20261129T024100-3f9a\n")
    positions = [text.index(f"\n## {title}\n") for title in SECTIONS]
    assert positions == sorted(positions)
    assert "Incomplete" not in text and "Problems" not in text


def test_markdown_run_and_link():
    text = render.markdown(full_report())
    run = section(text, "The run")
    for fact in [
        "20261129T024100-3f9a",
        "2026-11-29 02:41 to 2026-11-29 02:44, 4 minutes",
        "acme/shop",
        "production",
        "**Service:** web",
        "**Users:** 10",
        "asked 1 %, reached 1.02 %",
        "5120",
        "52",
        "2.47.0",
    ]:
        assert fact in run, fact
    assert f"**[Open the traces of this run in Tideways]({TRACES})**" in section(text, "Traces")
    assert "run's id as X-Tideways-Ref" in section(text, "Traces")


def test_markdown_tables_have_their_rows_and_totals():
    text = render.markdown(full_report())
    client, server = tables(section(text, "Client beside server"))
    assert len(client) == 4 + 1 and all(len(row) == 5 for row in client)
    assert client[-1] == ["", "**Aggregated**", "**5120**", "**3**", "**55.0**"]
    assert client[0] == ["GET", "/products/{id}", "3000", "1", "40.0"]
    assert client[1][4] == "120", "no decimals from 100 ms on"
    assert client[2][4] == "8.2", "one decimal below 100 ms"
    assert client[3][4] == "–", "None is shown as a dash"
    assert len(server) == 3 + 1 and all(len(row) == 5 for row in server)
    assert server[0][4] == "2.0 MB" and server[1][4] == "512 KB"
    assert server[-1][:4] == ["**Total**", "**4800**", "**3 (0.06 %)**", "**55.0**"]
    assert "93.75 %" in section(text, "Client beside server")
    assert "Tideways' requests over Locust's requests in the same window" in text

    minutes = tables(section(text, "Per minute"))[0]
    assert [row[0] for row in minutes] == [
        "2026-11-29 02:41",
        "2026-11-29 02:42",
        "2026-11-29 02:43",
        "2026-11-29 02:44",
    ]
    assert minutes[1] == ["2026-11-29 02:42", "1800", "120", "–", "–"]

    traces = tables(section(text, "Slowest traces"))[0]
    assert len(traces) == 3 and all(len(row) == 6 for row in traces)
    assert traces[0][1] == "[GET /products/{id}](" + TRACE_URL + ")"
    assert traces[0][2:] == ["GET 200", "812", "4.0 MB", "sql, http"]
    assert traces[1][1] == "&lt;script&gt;alert(1)&lt;/script&gt;", "a javascript: URL is no link"
    assert traces[1][2:4] == ["–", "95.2"]
    assert traces[1][5] == "sql 61.5 %, http 20.25 %, io 5 %", "the top layers when no bottleneck is named"
    assert traces[2][5] == "–"


def test_markdown_escapes_hostile_strings():
    text = render.markdown(full_report())
    assert "<script" not in text and "<" not in text.replace("&lt;", "")
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in text
    assert "a\\|b" in text and "a|b" not in text
    assert "\\](http\\://evil)" in text and "](http://evil)" not in text
    # The only links are the run's traces and the one trace with an https URL; javascript: is text.
    assert md_links(text) == [TRACES, TRACE_URL]
    assert "javascript" not in text, "a trace URL that is not http(s) is not shown as a link"
    # No bare URL GitHub would autolink: every http: outside a link target is escaped.
    outside = text.replace(f"({TRACES})", "").replace(f"({TRACE_URL})", "")
    assert "http:" not in outside and "https:" not in outside


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        ("a|b", "a\\|b"),
        ("`code`", "\\`code\\`"),
        ("[x](http://evil)", "\\[x\\](http\\://evil)"),
        ("line\nbreak\r\nhere", "line break here"),
        ("<b>&amp;</b>", "&lt;b&gt;&amp;amp;&lt;/b&gt;"),
        ("App\\Controller::show", "App\\\\Controller\\::show"),
        ("www.evil.example", "www\\.evil.example"),
        ("# not a heading", "\\# not a heading"),
        ("- not a list", "\\- not a list"),
        ("1. not a list", "1\\. not a list"),
        ("2.47.0", "2.47.0"),
        ("-abc123", "\\-abc123"),
        ("*not* _emphasis_", "\\*not\\* \\_emphasis\\_"),
    ],
)
def test_md_escapes(value, expected):
    assert render.md(value) == expected


def test_a_hostile_cell_does_not_break_the_table():
    report = full_report()
    report["client"]["endpoints"] = [endpoint("GET", "x | y\n| z | w |\n\n# head `", 1, 0, 1.0)]
    client = tables(section(render.markdown(report), "Client beside server"))[0]
    assert len(client) == 2 and [len(row) for row in client] == [5, 5]


def test_markdown_of_a_minimal_report():
    text = render.markdown(minimal_report())
    positions = [text.index(f"\n## {title}\n") for title in SECTIONS]
    assert positions == sorted(positions)
    notice = text[: positions[0]]
    assert "**Incomplete report.**" in notice
    assert "> - Tideways answered 401: check TIDEWAYS\\_API\\_TOKEN" in notice
    assert "> - &lt;script&gt;" in notice
    assert "Service" not in section(text, "The run")
    assert "**Tideways project:** –" in section(text, "The run")
    traces = section(text, "Traces")
    assert "--tideways-project ORGANIZATION/PROJECT" in traces.replace("\\-", "-")
    assert "links to its own trace" in traces
    assert md_links(text) == []
    client_server = section(text, "Client beside server")
    assert len(tables(client_server)) == 1, "no Tideways table"
    assert tables(client_server)[0] == [["", "**Aggregated**", "**0**", "**0**", "**–**"]]
    assert "The server side was not fetched: Tideways answered 401" in client_server
    assert "No per-minute figures." in section(text, "Per minute")
    assert "No callgraph traces in this window." in section(text, "Slowest traces")


def test_problems_are_shown_when_the_report_is_complete_too():
    report = full_report()
    report["problems"] = ["the traces list was cut at 100"]
    text = render.markdown(report)
    assert "> **Problems:**" in text and "> - the traces list was cut at 100" in text
    assert text.index("Problems") < text.index("## The run")


def test_server_not_fetched_without_problems_says_to_set_the_token():
    report = minimal_report()
    report["problems"] = []
    assert "set TIDEWAYS\\_API\\_TOKEN" in section(render.markdown(report), "Client beside server")
    assert "set TIDEWAYS_API_TOKEN" in render.html(report)


# -- figures -------------------------------------------------------------------


def test_figures():
    assert [render.fmt_ms(v) for v in (None, 0, 8.25, 99.94, 100, 812.4)] == ["–", "0.0", "8.2", "99.9", "100", "812"]
    assert [render.fmt_percent(v) for v in (None, 1.0, 1.02, 93.75, 0.0625, 100)] == [
        "–",
        "1 %",
        "1.02 %",
        "93.75 %",
        "0.06 %",
        "100 %",
    ]
    assert [render.fmt_memory(v) for v in (None, 700, 2048, 4096)] == ["–", "700 KB", "2.0 MB", "4.0 MB"]
    assert [render.fmt_count(v) for v in (None, 0, 4800, 4800.0)] == ["–", "0", "4800", "4800"]


@pytest.mark.parametrize(
    ("url", "expected"),
    [
        (TRACE_URL, TRACE_URL),
        ("HTTP://example.com/x", "HTTP://example.com/x"),
        ('https://e.example/a b)<c>"|`', "https://e.example/a%20b%29%3Cc%3E%22%7C%60"),
        (BAD_LINK, None),
        ("JavaScript:alert(1)//https://x", None),
        ("data:text/html,<script>", None),
        ("//evil.example", None),
        (" https://x.example", None),
        (None, None),
        (42, None),
    ],
)
def test_safe_url(url, expected):
    assert render.safe_url(url) == expected


# -- the chart -----------------------------------------------------------------


def circles(svg: str, series: str) -> list[str]:
    return re.findall(rf'<circle class="point-{series}"[^>]*>', svg)


def test_chart_has_two_series_with_gaps():
    svg = render.svg_chart(full_report()["minutes"])
    parse(svg)
    assert svg.startswith('<svg id="minutes-chart" role="img" aria-label="')
    assert "<title>" in svg
    locust = re.findall(r'<path class="series-locust" d="([^"]*)"', svg)
    tideways = re.findall(r'<path class="series-tideways" d="([^"]*)"', svg)
    assert len(locust) == 1 and len(tideways) == 1
    assert len(circles(svg, "locust")) == 3 and len(circles(svg, "tideways")) == 3
    # Locust: 02:41 02:42 02:43 then a gap at 02:44; Tideways: 02:41, a gap at 02:42, 02:43 02:44.
    assert re.findall(r"[ML]", locust[0]) == ["M", "L", "L"]
    assert re.findall(r"[ML]", tideways[0]) == ["M", "M", "L"]
    assert "<title>02:42 Locust p95 120 ms</title>" in svg
    assert "<title>02:44 Tideways p95 65.5 ms</title>" in svg
    assert "Locust p95</text>" in svg and "Tideways p95</text>" in svg, "a legend"
    assert ">02:41</text>" in svg and ">0</text>" in svg, "labelled ticks"


def test_chart_without_figures():
    assert "No per-minute figures" in render.svg_chart([])
    none = [{"minute": "2026-11-29 02:41", "locust_p95_ms": None, "tideways_p95_ms": None}]
    assert "No per-minute figures" in render.svg_chart(none)
    assert "<svg" not in render.svg_chart(none)


def test_chart_of_one_minute_and_of_hostile_minutes():
    svg = render.svg_chart([{"minute": XSS, "locust_p95_ms": 0, "tideways_p95_ms": None}])
    parse(svg)
    assert len(circles(svg, "locust")) == 1 and "series-tideways" not in svg
    assert "<script" not in svg and "&lt;script&gt;" in svg


def test_chart_of_an_hour_labels_a_few_minutes():
    minutes = [
        {"minute": f"2026-11-29 03:{i:02d}", "locust_p95_ms": 10.0 + i, "tideways_p95_ms": 1234.5 if i % 2 else None}
        for i in range(60)
    ]
    svg = render.svg_chart(minutes)
    parse(svg)
    labels = re.findall(r'text-anchor="middle">(\d\d:\d\d)</text>', svg)
    assert 3 <= len(labels) <= 10 and labels[0] == "03:00" and labels[-1] == "03:59"
    assert len(circles(svg, "locust")) == 60 and len(circles(svg, "tideways")) == 30
    tideways = re.findall(r'<path class="series-tideways" d="([^"]*)"', svg)[0]
    assert "L" not in tideways, "every other minute is a gap: no two Tideways points are joined"
    ticks = [float(t) for t in re.findall(r'text-anchor="end">([\d.]+)</text>', svg)]
    assert ticks[0] == 0 and 1234.5 <= ticks[-1] < 2 * 1234.5 and len(ticks) <= 6


# -- HTML ----------------------------------------------------------------------


def test_html_is_self_contained_and_escaped():
    page = render.html(full_report())
    parsed = parse(page)
    assert "<script" not in page.lower()
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in page
    assert "javascript:" not in page.lower()
    assert not [attrs for _, attrs in parsed.tags if "src" in attrs or "srcset" in attrs]
    assert not [attrs for _, attrs in parsed.tags if "style" in attrs or any(k.startswith("on") for k in attrs)]
    hrefs = [attrs["href"] for _, attrs in parsed.tags if "href" in attrs]
    assert hrefs == [TRACES, TRACE_URL], "links only to the traces"
    assert "@import" not in page and "url(" not in page
    style = page.split("<style>")[1].split("</style>")[0]
    assert "http" not in style and "xmlns" not in page
    # No attribute but the two links' href names anything elsewhere; URLs in the report's strings are text.
    assert not [attrs for _, attrs in parsed.tags for k, v in attrs.items() if k != "href" and "http" in (v or "")]


def test_html_sections_and_hooks():
    page = render.html(full_report())
    parsed = parse(page)
    assert "<h1>Tideways report of run 20261129T024100-3f9a</h1>" in page
    positions = [page.index(f"<h2>{title}</h2>") for title in SECTIONS]
    assert positions == sorted(positions)
    for element_id, tag in [
        ("run", "section"),
        ("traces-link", "a"),
        ("client-table", "table"),
        ("server-table", "table"),
        ("minutes-chart", "svg"),
        ("slowest-traces", "section"),
        ("minutes-table", "table"),
    ]:
        assert [t for t, _ in parsed.by_id(element_id)] == [tag], element_id
    assert parsed.by_id("traces-link")[0][1]["href"] == TRACES
    totals = {attrs["data-total"]: attrs["data-value"] for _, attrs in parsed.tags if "data-total" in attrs}
    assert totals == {"locust-requests": "5120", "tideways-requests": "4800"}
    rows = re.findall(r"<tr>", page.split('id="client-table"')[1].split("</table>")[0])
    assert len(rows) == 1 + 4, "the header row and one a endpoint; the total is in tfoot"
    assert len(re.findall(r"<tr>", page.split('id="server-table"')[1].split("</table>")[0])) == 1 + 3
    assert len(re.findall(r"<tr>", page.split('id="minutes-table"')[1].split("</table>")[0])) == 1 + 4
    assert len(re.findall(r"<tr>", page.split('id="slowest-traces"')[1].split("</table>")[0])) == 1 + 3
    assert "93.75 %" in page and "No per-minute figures" not in page
    assert page.count('class="point-locust"') == 3 and page.count('class="point-tideways"') == 3
    assert "App\\Controller\\ProductController::show" in page


def test_html_of_a_minimal_report():
    page = render.html(minimal_report())
    parsed = parse(page)
    assert "<script" not in page
    assert not [attrs for _, attrs in parsed.tags if "href" in attrs or "src" in attrs]
    assert parsed.by_id("problems") and "Incomplete report." in page
    assert "Tideways answered 401: check TIDEWAYS_API_TOKEN" in page and "&lt;script&gt;" in page
    assert not parsed.by_id("traces-link") and not parsed.by_id("server-table") and not parsed.by_id("minutes-chart")
    assert parsed.by_id("run") and parsed.by_id("client-table") and parsed.by_id("slowest-traces")
    assert "set --tideways-project ORGANIZATION/PROJECT" in page
    assert "links to its own trace" in page
    assert "The server side was not fetched: Tideways answered 401" in page
    assert "No per-minute figures" in page and "No callgraph traces in this window." in page
    totals = {attrs["data-total"]: attrs["data-value"] for _, attrs in parsed.tags if "data-total" in attrs}
    assert totals == {"locust-requests": "0"}


def test_a_non_http_traces_link_is_text():
    report = full_report()
    report["links"]["traces"] = BAD_LINK
    page, text = render.html(report), render.markdown(report)
    assert 'id="traces-link"' not in page and 'href="javascript' not in page
    assert "javascript\\:alert(1)" in text and md_links(text) == [TRACE_URL]


def test_renders_what_is_there_only():
    report = copy.deepcopy(full_report())
    report["server"]["reached_php_percent"] = None
    report["server"]["total"] = {
        "requests": None,
        "errors": None,
        "error_rate": None,
        "p95_ms": None,
        "median_ms": None,
    }
    page, text = render.html(report), render.markdown(report)
    assert "Load that reached PHP: –" in page and "Load that reached PHP: –" in text
    assert 'data-total="tideways-requests" data-value=""' in page


# -- the load profile ------------------------------------------------------------

BROKE_TRACE = "https://app.tideways.io/o/acme/shop/trace/-brk901/quick?s=web&env=production"


def stage(index, level, rps, p50, p95, verdict="held", server=None, **extra) -> dict:
    """One stage as the report holds it: a breakpoint's rate stage of 5 s."""
    asked = float(level.removesuffix("/s")) * 5
    entry = {
        "index": index,
        "label": level,
        "level": level,
        "start": f"2026-12-02T20:01:{5 * index - 5:02d}.123+00:00",
        "end": f"2026-12-02T20:01:{5 * index:02d}.120+00:00",
        "seconds": 5.0,
        "level_start": asked / 5,
        "level_end": asked / 5,
        "users": 10,
        "users_max": 10,
        "asked": asked,
        "asked_rps": asked / 5,
        "requests": round(rps * 5),
        "failures": 0,
        "rps": rps,
        "p50_ms": p50,
        "p95_ms": p95,
        "fail_percent": 0.0,
        "not_sent": max(0, int(asked - round(rps * 5))),
        "verdict": verdict,
        "why": [],
        "complete": True,
        "server": server,
        **extra,
    }
    return entry


def minute_server(minutes, rps, p95, shared_with=(2,)) -> dict:
    return {
        "minutes": minutes,
        "shared": True,
        "shared_with": list(shared_with),
        "requests": round(rps * 60),
        "errors": 0,
        "rps": rps,
        "p95_ms": p95,
    }


def breakpoint_load() -> dict:
    """A breakpoint of 10/s to 40/s in stages of 5 s: the first three in minute 20:01 held, the fourth broke."""
    first = minute_server(["2026-12-02 20:01"], 19.5, 30.0, shared_with=(1, 2, 3, 4))
    stages = [
        stage(1, "10/s", 9.8, 12.0, 25.0, server=first),
        stage(2, "20/s", 19.6, 13.0, 28.0, server=first),
        stage(3, "30/s", 29.2, 15.0, 40.0, server=first),
        stage(
            4,
            "40/s",
            31.4,
            140.0,
            620.0,
            verdict="broke",
            why=["reached 31.4/s of 40/s asked", XSS],
            failures=2,
            fail_percent=1.274,
            server=minute_server(["2026-12-02 20:01", "2026-12-02 20:02"], 24.0, 610.0, shared_with=(1, 2, 3)),
        ),
    ]
    return {
        "profile": "breakpoint",
        "unit": "rate",
        "description": "breakpoint, 4 stages, 20s: 10/s to 40/s, paced over 10 users",
        "settings": {"start": "10/s", "step": "10/s", "max": "40/s", "step_time": "5s"},
        "pool": 10,
        "stages": stages,
        "asked": 500.0,
        "sent": 450,
        "not_sent": 50,
        "not_sent_percent": 10.0,
        "capacity": {
            "rps": 31.4,
            "last_held": 3,
            "first_broke": 4,
            "level_held": "30/s",
            "level_broke": "40/s",
            "why": ["reached 31.4/s of 40/s asked", XSS],
            "server": {
                "last_held": {"minutes": first["minutes"], "shared": True, "rps": 19.5, "p95_ms": 30.0},
                "first_broke": {
                    "minutes": stages[3]["server"]["minutes"],
                    "shared": True,
                    "rps": 24.0,
                    "p95_ms": 610.0,
                },
            },
            "traces_window": {"from": "2026-12-02 20:01", "to": "2026-12-02 20:02"},
            "traces": [
                {**full_report()["traces"][0], "url": BROKE_TRACE, "response_time_ms": 1210.0},
                {**full_report()["traces"][1], "response_time_ms": 990.0},  # a javascript: URL: no link
            ],
        },
        "server_fetched": True,
    }


def with_load(load: dict | None) -> dict:
    return {**full_report(), "load": load}


def test_markdown_shows_the_load_profile_between_the_traces_and_the_figures():
    text = render.markdown(with_load(breakpoint_load()))
    positions = [text.index(f"\n## {title}\n") for title in ["Traces", "Load profile", "Client beside server"]]
    assert positions == sorted(positions)
    part = section(text, "Load profile")
    assert "**breakpoint, 4 stages, 20s\\: 10/s to 40/s, paced over 10 users**" in part
    assert "Settings: start 10/s, step 10/s, max 40/s, step\\_time 5s" in part
    assert (
        "**Capacity about 31 req/s:** stage 3 (30/s) held, stage 4 (40/s) broke\\: reached 31.4/s of 40/s asked; "
        "&lt;script&gt;alert(1)&lt;/script&gt;\n" in part
    )
    assert (
        "On the server (Tideways): stage 3 at 19.5 req/s with p95 30.0 ms, stage 4 at 24.0 req/s with p95 610 ms "
        "(in minutes shared with neighbouring stages)" in part
    )
    assert "50 of 500 asked requests not sent (10 %): the users could not keep up (10 users paced the rate" in part
    stages_table, traces_table = tables(part)
    assert stages_table[0] == [
        "1", "10/s", "10", "9.8", "12.0", "25.0", "0", "1", "20:01, shared with 1, 2, 3, 4", "19.5", "30.0", "held",
    ]  # fmt: skip
    assert stages_table[3][6:] == [
        "2 (1.27 %)", "43", "20:01 to 20:02, shared with 1, 2, 3", "24.0", "610",
        "broke\\: reached 31.4/s of 40/s asked; &lt;script&gt;alert(1)&lt;/script&gt;",
    ]  # fmt: skip
    assert "Tideways keys its figures by minute" in part
    assert "### Slowest traces of stage 4 (40/s)" in part
    assert traces_table[0][1] == "[GET /products/{id}](" + BROKE_TRACE + ")" and traces_table[0][3] == "1210"
    assert traces_table[1][1] == "&lt;script&gt;alert(1)&lt;/script&gt;", "a javascript: URL is no link"
    assert md_links(text) == [TRACES, BROKE_TRACE, TRACE_URL]
    assert "<script" not in text


def test_html_shows_the_stages_the_capacity_its_charts_and_the_broken_stages_traces():
    page = render.html(with_load(breakpoint_load()))
    parsed = parse(page)
    assert "<script" not in page.lower() and "javascript:" not in page.lower()
    for element_id, tag in [
        ("load-profile", "section"),
        ("load-description", "p"),
        ("capacity", "p"),
        ("capacity-server", "p"),
        ("shortfall", "p"),
        ("capacity-rps", "svg"),
        ("capacity-p95", "svg"),
        ("stages-table", "table"),
        ("broke-traces", "table"),
    ]:
        assert [t for t, _ in parsed.by_id(element_id)] == [tag], element_id
    positions = [page.index(f"<h2>{title}</h2>") for title in ["Traces", "Load profile", "Client beside server"]]
    assert positions == sorted(positions)
    assert not parsed.by_id("stages-server-missing")
    capacity = page.split('id="capacity">')[1].split("</p>")[0]
    assert "<strong>Capacity about 31 req/s:</strong> stage 3 (30/s) held, stage 4 (40/s) broke: " in capacity
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in capacity
    rows = [attrs for tag, attrs in parsed.tags if tag == "tr" and "data-stage" in attrs]
    assert [(r["data-stage"], r.get("data-verdict")) for r in rows] == [
        ("1", "held"), ("2", "held"), ("3", "held"), ("4", "broke"),
    ]  # fmt: skip
    rps_chart = page.split('<svg id="capacity-rps"')[1].split("</svg>")[0]
    p95_chart = page.split('<svg id="capacity-p95"')[1].split("</svg>")[0]
    for chart in (rps_chart, p95_chart):
        assert len(circles(chart, "locust")) == 4 and len(circles(chart, "tideways")) == 4
        assert re.findall(r'data-stage="(\d)"', chart)[:4] == ["1", "2", "3", "4"]
        assert [label for label in re.findall(r'text-anchor="middle">([^<]*)</text>', chart)] == [
            "10/s", "20/s", "30/s", "40/s",
        ]  # fmt: skip
    assert "<title>40/s Locust req/s 31.4 req/s</title>" in rps_chart and ">req/s</text>" in rps_chart
    assert "<title>40/s Tideways p95 610 ms</title>" in p95_chart and ">ms</text>" in p95_chart
    broke = page.split('id="broke-traces"')[1].split("</table>")[0]
    assert re.findall(r'href="([^"]*)"', broke) == [BROKE_TRACE.replace("&", "&amp;")]
    hrefs = [attrs["href"] for _, attrs in parsed.tags if "href" in attrs]
    assert hrefs == [TRACES, BROKE_TRACE, TRACE_URL], "links only to the traces"


@pytest.mark.parametrize("load", [None, "missing"])
def test_a_run_without_a_profile_renders_exactly_as_before(load):
    report = full_report()
    if load is None:
        report["load"] = None
    assert render.markdown(report) == render.markdown(full_report())
    page = render.html(report)
    assert page == render.html(full_report())
    assert "Load profile" not in page and "stages-table" not in page and "data-verdict" not in page


@pytest.mark.parametrize(
    ("changes", "expected"),
    [
        ({}, ("Capacity about 31 req/s", "stage 3 (30/s) held, stage 4 (40/s) broke: reached 31.4/s of 40/s asked")),
        (
            {"first_broke": None, "level_broke": None, "why": [], "rps": 7.46},
            (
                "Capacity about 7.5 req/s",
                "stage 3 (30/s) held, no stage broke, so the capacity is above the highest level",
            ),
        ),
        (
            {"last_held": None, "level_held": None, "why": []},
            ("Capacity about 31 req/s", "no stage held, stage 4 (40/s) broke"),
        ),
        ({"rps": None, "last_held": None, "first_broke": None}, ("No capacity", "no stage ran to its end")),
    ],
)
def test_capacity_sentences(changes, expected):
    capacity = {**breakpoint_load()["capacity"], "why": ["reached 31.4/s of 40/s asked"], **changes}
    assert stages_render.capacity_parts(capacity) == expected
    assert stages_render.capacity_parts(None) is None


def test_what_a_rate_profile_did_not_send():
    load = breakpoint_load()
    assert stages_render.shortfall(load) == (
        "50 of 500 asked requests not sent (10 %): the users could not keep up "
        "(10 users paced the rate: raise --users or lower the rate)"
    )
    assert (
        stages_render.shortfall({**load, "not_sent": 0, "not_sent_percent": 0.0}) == "All 500 asked requests were sent."
    )
    assert stages_render.shortfall({**load, "unit": "users", "asked": None, "not_sent": None}) is None


def ramp_load(server_fetched: bool) -> dict:
    """A ramp in users: no rate, no verdict, no capacity."""
    stages = []
    for index, (level, label, server) in enumerate(
        [
            ("0 to 5 users", "30s:5", minute_server(["2026-12-02 20:01", "2026-12-02 20:02"], 2.0, 20.0)),
            (
                "5 to 20 users",
                "2m:20",
                {**minute_server(["2026-12-02 20:02"], 9.0, 35.0), "shared": False, "shared_with": []},
            ),
        ],
        1,
    ):
        entry = stage(index, "1/s", 3.0, 10.0, 20.0, verdict=None, server=server if server_fetched else None)
        stages.append({**entry, "label": label, "level": level, "asked": None, "asked_rps": None, "not_sent": None})
    stages[1]["users_max"] = 22
    stages[1]["complete"] = False
    return {
        **breakpoint_load(),
        "profile": "ramp",
        "unit": "users",
        "description": "ramp, 2 stages, 2m30s: 0 to 20 users",
        "settings": {"stages": "30s:5, 2m:20"},
        "pool": None,
        "stages": stages,
        "asked": None,
        "not_sent": None,
        "not_sent_percent": None,
        "capacity": None,
        "server_fetched": server_fetched,
    }


def test_a_ramp_in_users_shows_its_stages_without_rate_verdict_or_capacity():
    text = render.markdown(with_load(ramp_load(server_fetched=True)))
    part = section(text, "Load profile")
    header = next(line for line in part.splitlines() if line.startswith("| Stage"))
    assert split_row(header) == [
        "Stage", "Level asked", "Users", "Req/s", "p50 (ms)", "p95 (ms)", "Failures",
        "Tideways minutes (UTC)", "Tideways req/s", "Tideways p95 (ms)",
    ]  # fmt: skip
    rows = tables(part)[0]
    assert rows[0][:3] == ["1 (30s\\:5)", "0 to 5 users", "10"] and rows[0][7] == "20:01 to 20:02, shared with 2"
    assert rows[1][:3] == ["2 (2m\\:20), stopped", "5 to 20 users", "10 (max 22)"] and rows[1][7] == "20:02"
    assert "Capacity" not in part and "not sent" not in part and "Slowest traces of stage" not in part
    page = render.html(with_load(ramp_load(server_fetched=True)))
    assert 'id="stages-table"' in page and "capacity-rps" not in page and 'id="shortfall"' not in page


def test_stages_without_the_server_side_say_so_in_one_line():
    report = with_load(ramp_load(server_fetched=False))
    report["problems"] = ["Server side not fetched: no TIDEWAYS_API_TOKEN in the environment or .env"]
    part = section(render.markdown(report), "Load profile")
    assert [line for line in part.splitlines() if "TIDEWAYS" in line] == [
        "The stages show the client side only\\: Server side not fetched\\: no TIDEWAYS\\_API\\_TOKEN in the "
        "environment or .env"
    ]
    assert all(len(row) == 7 for row in tables(part)[0]), "no Tideways columns"
    page = render.html(report)
    assert parse(page).by_id("stages-server-missing") and "Tideways minutes" not in page


def test_a_profile_without_stages_says_so():
    load = {**breakpoint_load(), "stages": [], "capacity": None}
    assert "No stage was recorded." in section(render.markdown(with_load(load)), "Load profile")
    page = render.html(with_load(load))
    assert "No stage was recorded." in page and 'id="stages-table"' not in page and "capacity-rps" not in page


def test_hostile_strings_of_a_profile_stay_text():
    load = breakpoint_load()
    load["description"] = MD_LINK + XSS
    load["settings"] = {XSS: PIPE}
    load["stages"][0]["label"] = PIPE
    load["stages"][0]["level"] = XSS  # the charts' labels on the x axis
    text, page = render.markdown(with_load(load)), render.html(with_load(load))
    parse(page)
    assert "<script" not in text and "<script" not in page and "](http://evil)" not in text
    assert md_links(text) == [TRACES, BROKE_TRACE, TRACE_URL]
    assert all(len(row) == 12 for row in tables(section(text, "Load profile"))[0]), "a pipe does not split a cell"
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in page.split('id="capacity-rps"')[1].split("</svg>")[0]


# -- coverage ----------------------------------------------------------------------

SLOW_REF = "20261203T061000-ab12-9f3e1c2a-17"
OTHER_REF = "20261203T061000-ab12-9f3e1c2a-40"
APP = "https://app.tideways.io/o/acme/shop"
LOST = {"worker": "host_ab12", "last_report": "2026-12-03T06:10:11+00:00", "traced_reported": 120, "may_be_missing": 12}
REQUEST_HELP = "Each traced request carried its own X-Tideways-Ref (--tideways-ref-mode request)"


def coverage_run(ref_mode: str = "request", lost: tuple = (LOST,), project: bool = True) -> dict:
    """A run file's coverage fields: three endpoints, POST /cart never traced, and the workers lost."""
    refs = [SLOW_REF, OTHER_REF] if ref_mode == "request" else [full_report()["run"]["id"]] * 2

    def slowest(ref: str, ms: float, path: str) -> dict:
        return {
            "ref": ref,
            "response_time_ms": ms,
            "path": path,
            "link": f"{APP}/traces?cid={ref}" if project else None,
        }

    return {
        "tideways": {
            "project": "acme/shop" if project else None,
            "ref_mode": ref_mode,
            "coverage": 2,
            "budget_per_minute": 30,
            "budget_capped": 12,
            "lost_workers": list(lost),
        },
        "traced_exact": not lost,
        "endpoints": [
            {**endpoint("GET", "/products/{id}", 3000, 1, 40.0), "traced": 3,
             "slowest_trace": slowest(refs[0], 812.4, "/products/3")},
            {**endpoint("POST", "/cart", 1100, 0, 120.4), "traced": 0, "slowest_trace": None},
            {**endpoint("GET", "/search", 50, 0, 20.0), "traced": 1,
             "slowest_trace": slowest(refs[1], 95.25, "/search?q=a&b=c")},
        ],
    }  # fmt: skip


def with_coverage(run: dict, project: bool = True) -> dict:
    """``full_report()`` of ``run`` as the collector makes it: its links, ref mode and ``coverage``."""
    report = full_report()
    ref_mode = run["tideways"]["ref_mode"]
    report["run"]["ref_mode"] = ref_mode
    if not project:
        report["links"] = {"traces": None, "help": "set --tideways-project ORGANIZATION/PROJECT for links"}
    elif ref_mode == "request":
        report["links"] = {"traces": None, "help": REQUEST_HELP}
    report["client"]["endpoints"] = run["endpoints"]
    report["coverage"] = coverage.of(run, parse_project("acme/shop") if project else None, report["links"]["traces"])
    return report


def coverage_links(page: str) -> list[tuple[str, str]]:
    return [
        (attrs["data-link"], attrs["href"])
        for tag, attrs in parse(page).tags
        if "coverage-link" in attrs.get("class", "")
    ]


def inner(page: str, element_id: str) -> str:
    """The markup inside the first element with ``element_id``, up to its tag's end."""
    tag = re.search(rf'<(\w+) id="{element_id}"[^>]*>', page)
    assert tag, element_id
    return page[tag.end() : page.index(f"</{tag[1]}>", tag.end())]


def test_coverage_in_request_ref_mode_links_each_endpoint_to_its_own_trace_and_warns_of_the_lost_worker():
    report = with_coverage(coverage_run("request"))
    text = render.markdown(report)
    positions = [text.index(f"\n## {title}\n") for title in ["Traces", "Coverage", "Client beside server"]]
    assert positions == sorted(positions)
    warning = text[text.index("> **Lost workers:**") : text.index("## The run")]
    assert warning.splitlines() == [
        "> **Lost workers:** 1 distributed worker went missing mid-run, so the traced figures are lower bounds.",
        ">",
        "> - Worker host\\_ab12 last reported at 2026-12-03 06:10:11 UTC, with 120 traced requests\\: up to about "
        "12 of its traced requests after that are not counted.",
        "",
    ]
    part = section(text, "Coverage")
    header = next(line for line in part.splitlines() if line.startswith("| Method"))
    assert split_row(header) == ["Method", "Name", "Requests", "Traced (at least)", "Slowest traced request"]
    assert tables(part)[0] == [
        ["GET", "/products/{id}", "3000", "3", f"[812 ms]({APP}/traces?cid={SLOW_REF}), /products/3, ref {SLOW_REF}"],
        ["POST", "/cart", "1100", "0", "–"],
        ["GET", "/search", "50", "1", f"[95.2 ms]({APP}/traces?cid={OTHER_REF}), /search?q=a&amp;b=c, ref {OTHER_REF}"],
    ]
    assert "No callgraph\\: POST /cart (as counted\\: the traced figures are lower bounds)\n" in part
    assert (
        "Settings\\: first 2 requests of each endpoint traced; budget 30 a minute, which left 12 chosen requests "
        "untraced.\n" in part
    )
    assert "cannot be filtered by endpoint" not in part, "each link is the request's own"
    assert md_links(text) == [f"{APP}/traces?cid={SLOW_REF}", f"{APP}/traces?cid={OTHER_REF}", TRACE_URL]

    page = render.html(report)
    parsed = parse(page)
    for element_id, tag in [("lost-workers", "section"), ("coverage", "section"), ("coverage-table", "table"),
                            ("coverage-callgraph", "p"), ("coverage-settings", "p")]:  # fmt: skip
        assert [t for t, _ in parsed.by_id(element_id)] == [tag], element_id
    assert page.index('id="lost-workers"') < page.index('<section id="run">') < page.index('<section id="coverage">')
    assert page.index('<section id="traces">') < page.index('<section id="coverage">') < page.index("client-server")
    lost = inner(page, "lost-workers")
    assert "<strong>Lost workers:</strong> 1 distributed worker went missing mid-run, so the traced figures" in lost
    assert re.findall(r"<li>([^<]*)</li>", lost) == [
        "Worker host_ab12 last reported at 2026-12-03 06:10:11 UTC, with 120 traced requests: up to about 12 of "
        "its traced requests after that are not counted."
    ]
    assert coverage_links(page) == [
        ("trace", f"{APP}/traces?cid={SLOW_REF}"),
        ("trace", f"{APP}/traces?cid={OTHER_REF}"),
    ]
    table = inner(page, "coverage-table")
    assert '<th class="num">Traced (at least)</th>' in table
    rows = re.findall(r"<tr(?: [^>]*)?>.*?</tr>", table.split("<tbody>")[1], re.S)
    assert len(rows) == 3 and [row.startswith('<tr data-no-callgraph="true">') for row in rows] == [False, True, False]
    assert (
        f'rel="noopener noreferrer">812 ms</a><br><span class="muted small">/products/3, ref {SLOW_REF}</span>'
        in rows[0]
    )
    assert '<td class="name">/cart</td>' in rows[1] and '<td class="name">–</td>' in rows[1]
    assert "/search?q=a&amp;b=c" in rows[2]
    assert (
        inner(page, "coverage-callgraph")
        == "No callgraph: POST /cart (as counted: the traced figures are lower bounds)"
    )
    assert inner(page, "coverage-settings") == (
        "Settings: first 2 requests of each endpoint traced; budget 30 a minute, which left 12 chosen requests "
        "untraced."
    )
    assert not parsed.by_id("coverage-run-link") and not parsed.by_id("traces-link")


def test_coverage_in_run_ref_mode_links_to_the_runs_traces_and_says_once_why():
    report = with_coverage(coverage_run("run", lost=()))
    text, page = render.markdown(report), render.html(report)
    part = section(text, "Coverage")
    assert "Lost workers" not in text and "lower bounds" not in text and "lost-workers" not in page
    rows = tables(part)[0]
    assert [row[3:] for row in rows] == [
        ["3", f"[812 ms]({TRACES}), /products/3"],
        ["0", "–"],
        ["1", f"[95.2 ms]({TRACES}), /search?q=a&amp;b=c"],
    ]
    assert "ref " not in part, "in run ref mode the ref is the run's id"
    note = "its app link cannot be filtered by endpoint"
    assert part.count(note) == 1 and "No callgraph\\: POST /cart\n" in part
    assert coverage_links(page) == [("run", TRACES), ("run", TRACES)]
    assert page.count(note) == 1 and note in inner(page, "coverage-run-link")
    assert inner(page, "coverage-callgraph") == "No callgraph: POST /cart"
    assert '<th class="num">Traced</th>' in inner(page, "coverage-table")
    hrefs = [attrs["href"] for _, attrs in parse(page).tags if "href" in attrs]
    assert hrefs == [TRACES, TRACES, TRACES, TRACE_URL], "the run's traces, twice in the table, and the slowest trace"


def test_every_endpoint_traced_says_so():
    run = coverage_run("run", lost=())
    run["endpoints"][1].update(
        traced=2, slowest_trace={"ref": "x", "response_time_ms": 50.0, "path": "/cart", "link": None}
    )
    report = with_coverage(run)
    assert "Every endpoint requested has at least one callgraph.\n" in section(render.markdown(report), "Coverage")
    page = render.html(report)
    assert inner(page, "coverage-callgraph") == "Every endpoint requested has at least one callgraph."
    assert "data-no-callgraph" not in page and report["coverage"]["no_callgraph"] == []


@pytest.mark.parametrize("ref_mode", ["request", "run"])
def test_without_a_project_the_slowest_traced_requests_are_text(ref_mode):
    report = with_coverage(coverage_run(ref_mode, lost=(), project=False), project=False)
    text, page = render.markdown(report), render.html(report)
    assert tables(section(text, "Coverage"))[0][0][4].startswith("812 ms, /products/3")
    assert md_links(text) == [TRACE_URL] and coverage_links(page) == []
    assert "coverage-run-link" not in page and "cannot be filtered by endpoint" not in text
    assert '<td class="name">812 ms<br><span class="muted small">/products/3' in page


def test_the_report_project_gives_request_links_the_run_file_lacks():
    run = coverage_run("request", lost=())
    for entry in run["endpoints"]:
        if entry["slowest_trace"]:
            entry["slowest_trace"]["link"] = None
    found = coverage.of(run, parse_project("acme/shop"), None)
    assert [e["link"] for e in found["endpoints"]] == [
        f"{APP}/traces?cid={SLOW_REF}",
        None,
        f"{APP}/traces?cid={OTHER_REF}",
    ]
    assert [e["link"] for e in coverage.of(run, None, None)["endpoints"]] == [None, None, None]


def test_hostile_strings_of_the_coverage_stay_text():
    run = coverage_run("request", lost=({**LOST, "worker": XSS, "last_report": MD_LINK},))
    run["endpoints"][0]["name"] = PIPE
    run["endpoints"][0]["slowest_trace"].update(path=XSS, ref=MD_LINK, link=BAD_LINK)
    run["endpoints"][1]["name"] = XSS
    report = with_coverage(run)
    text, page = render.markdown(report), render.html(report)
    parse(page)
    assert "<script" not in text and "<script" not in page.lower() and "javascript:" not in page.lower()
    assert "](http://evil)" not in text and "javascript" not in text
    assert md_links(text) == [f"{APP}/traces?cid={OTHER_REF}", TRACE_URL]
    rows = tables(section(text, "Coverage"))[0]
    assert all(len(row) == 5 for row in rows), "a pipe does not split a cell"
    assert rows[0][4] == "812 ms, &lt;script&gt;alert(1)&lt;/script&gt;, ref \\](http\\://evil)"
    assert coverage_links(page) == [("trace", f"{APP}/traces?cid={OTHER_REF}")]
    assert "No callgraph: POST &lt;script&gt;alert(1)&lt;/script&gt; (as" in inner(page, "coverage-callgraph")
    assert "Worker &lt;script&gt;alert(1)&lt;/script&gt; last reported at ](http://evil), with" in inner(
        page, "lost-workers"
    )


@pytest.mark.parametrize(
    ("changes", "expected"),
    [
        ({}, "first 2 requests of each endpoint traced; budget 30 a minute, which left 12 chosen requests untraced"),
        ({"coverage": 1, "budget_capped": 1},
         "first request of each endpoint traced; budget 30 a minute, which left 1 chosen request untraced"),
        ({"coverage": 0, "budget_capped": 0},
         "coverage off; budget 30 a minute, which left no chosen request untraced"),
        ({"budget_per_minute": None, "budget_capped": 0}, "first 2 requests of each endpoint traced; budget off"),
        ({"coverage": None, "budget_capped": None}, "coverage not recorded; budget 30 a minute"),
    ],
)  # fmt: skip
def test_coverage_settings_sentence(changes, expected):
    run = coverage_run("run", lost=())
    run["tideways"].update(changes)
    assert coverage_render.settings_text(coverage.of(run, None, None)) == f"Settings: {expected}."


@pytest.mark.parametrize(
    ("lost", "exact", "expected"),
    [
        ((), True, []),
        ((), False, ["Traced figures not exact: the run file says so: the traced figures are lower bounds."]),
        (
            (LOST, {"worker": "host_cd34", "last_report": None, "traced_reported": None, "may_be_missing": None}),
            True,  # a run file that lists a lost worker has no exact traced figures, whatever it says
            [
                "Lost workers: 2 distributed workers went missing mid-run, so the traced figures are lower bounds.",
                "Worker host_ab12 last reported at 2026-12-03 06:10:11 UTC, with 120 traced requests: up to about 12 "
                "of its traced requests after that are not counted.",
                "Worker host_cd34 last reported at a time not known: an unknown number of its traced requests after "
                "that are not counted.",
            ],
        ),
    ],
)
def test_the_lost_workers_warning(lost, exact, expected):
    run = {**coverage_run("run", lost=lost), "traced_exact": exact}
    found = coverage.of(run, None, None)
    assert found["traced_exact"] is (exact and not lost)
    assert coverage_render.warning_lines(found) == expected
    page = render.html(with_coverage(run))
    assert bool(parse(page).by_id("lost-workers")) == bool(expected)
    assert ("Traced (at least)" in page) == bool(expected)


@pytest.mark.parametrize("value", [None, "missing"])
def test_a_run_file_without_coverage_renders_exactly_as_before(value):
    report = full_report()
    if value is None:
        report["coverage"] = None
    assert render.markdown(report) == render.markdown(full_report())
    assert render.html(report) == render.html(full_report())
    page = render.html(report)
    assert "Coverage" not in page and 'id="coverage' not in page and "lost-workers" not in page
    old_run = {
        "tideways": {"project": "acme/shop", "ref_mode": "run"},
        "endpoints": full_report()["client"]["endpoints"],
    }
    assert coverage.of(old_run, parse_project("acme/shop"), TRACES) is None


def test_a_coverage_without_endpoints_says_so():
    run = {**coverage_run("run", lost=()), "endpoints": []}
    report = with_coverage(run)
    assert "No endpoint was requested." in section(render.markdown(report), "Coverage")
    page = render.html(report)
    assert "No endpoint was requested." in inner(page, "coverage") and "coverage-table" not in page
    assert "coverage-callgraph" not in page
