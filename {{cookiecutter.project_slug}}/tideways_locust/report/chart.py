"""Line charts as inline SVG, for pages that load nothing: a point a row, a line a series, gaps where unknown.

Built of our own markup and escaped text only, so a page may insert it as it is.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from html import escape

from .text import fmt_ms, is_number, minute_label

SERIES = [("locust", "locust_p95_ms", "Locust p95"), ("tideways", "tideways_p95_ms", "Tideways p95")]


def _step(span: float) -> float:
    """A round tick step (1, 2, 2.5 or 5 times a power of ten) for about four ticks over ``span``."""
    rough = span / 4
    power = 10 ** math.floor(math.log10(rough))
    return next(m * power for m in (1, 2, 2.5, 5, 10) if m * power >= rough)


def svg_chart(
    minutes: list[dict],
    series: list[tuple[str, str, str]] = SERIES,
    label: str = "Per-minute p95 response time in milliseconds, Locust and Tideways",
    chart_id: str = "minutes-chart",
    *,
    unit: str = "ms",
    x_key: str = "minute",
    x_text: Callable[[dict], str] | None = None,
    value_text: Callable[[float], str] | None = None,
    empty: str = "No per-minute figures",
) -> str:
    """Each of ``series`` (CSS name, key of the rows, title) a row as inline SVG, by default Locust's and
    Tideways' p95 a minute; None values are gaps in the lines.

    The rows are minutes unless told: ``x_key`` names the row's key each point carries as
    ``data-{x_key}``, ``x_text`` gives the label of a row on the x axis (by default the time of
    its minute), ``value_text`` a value in the points' tips, ``unit`` the y axis' title."""
    rows = minutes
    values = [m.get(key) for m in rows for _, key, _ in series]
    if not any(is_number(v) for v in values):
        return f'<p class="no-figures">{escape(empty)}</p>'
    if x_text is None:

        def x_text(row: dict) -> str:
            return minute_label(row.get(x_key))

    if value_text is None:

        def value_text(value: float) -> str:
            return f"{fmt_ms(value)} ms"

    width, height, left, right, top, bottom = 720, 280, 56, 28, 36, 40
    highest = max(v for v in values if is_number(v))
    step = _step(highest or 1)
    y_max = step * math.ceil(highest / step) or step
    plot_w, plot_h = width - left - right, height - top - bottom
    radius = 3.5 if len(rows) <= 30 else 2.5

    def x(i: int) -> float:
        return left + (plot_w / 2 if len(rows) == 1 else plot_w * i / (len(rows) - 1))

    def y(value: float) -> float:
        return top + plot_h * (1 - value / y_max)

    label = escape(label)
    out = [
        f'<svg id="{escape(chart_id)}" role="img" aria-label="{label}" viewBox="0 0 {width} {height}" class="chart">',
        f"<title>{label}</title>",
        f'<text x="{left - 8}" y="{top - 14}" class="axis-title" text-anchor="end">{escape(unit)}</text>',
    ]
    for i in range(int(round(y_max / step)) + 1):  # y ticks and grid lines
        tick = step * i
        out.append(f'<line class="grid" x1="{left}" x2="{width - right}" y1="{y(tick):.1f}" y2="{y(tick):.1f}"/>')
        out.append(f'<text x="{left - 8}" y="{y(tick) + 4:.1f}" text-anchor="end">{tick:g}</text>')
    labels = min(len(rows), 8)  # at most eight labels on the x axis, the first and the last among them
    labelled = {round(k * (len(rows) - 1) / max(labels - 1, 1)) for k in range(labels)}
    for i, row in enumerate(rows):
        if i in labelled:
            out.append(
                f'<line class="tick" x1="{x(i):.1f}" x2="{x(i):.1f}" y1="{top + plot_h}" y2="{top + plot_h + 5}"/>'
            )
            shown = escape(x_text(row))
            out.append(f'<text x="{x(i):.1f}" y="{top + plot_h + 20}" text-anchor="middle">{shown}</text>')
    out.append(f'<line class="axis" x1="{left}" x2="{width - right}" y1="{top + plot_h}" y2="{top + plot_h}"/>')
    attribute = escape(x_key)
    for n, (name, key, title) in enumerate(series):
        path, points, pen_down = [], [], False
        for i, row in enumerate(rows):
            value = row.get(key)
            if not is_number(value):
                pen_down = False  # a gap: the next point starts a new piece of the line
                continue
            path.append(f"{'L' if pen_down else 'M'}{x(i):.1f} {y(value):.1f}")
            pen_down = True
            tip = escape(f"{x_text(row)} {title} {value_text(value)}")
            points.append(
                f'<circle class="point-{name}" cx="{x(i):.1f}" cy="{y(value):.1f}" r="{radius}" '
                f'data-{attribute}="{escape(str(row.get(x_key)))}" data-value="{value}"><title>{tip}</title></circle>'
            )
        if path:
            out.append(f'<path class="series-{name}" d="{" ".join(path)}"/>')
        out.extend(points)
        legend_x = left + 8 + n * 150  # the legend, above the plot
        out.append(f'<line class="legend-{name}" x1="{legend_x}" x2="{legend_x + 24}" y1="12" y2="12"/>')
        out.append(f'<text x="{legend_x + 30}" y="16">{escape(title)}</text>')
    out.append("</svg>")
    return "\n".join(out)
