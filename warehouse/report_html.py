"""Renders a report as one self-contained HTML page: inline CSS, charts as inline SVG.

Charts are drawn here in Python rather than by a JavaScript library so a report opens
offline, from a mail attachment or a file share, and prints as it looks on screen.
"""

from __future__ import annotations

import datetime as dt
import math
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from jinja2 import Environment, FileSystemLoader, StrictUndefined
from markupsafe import Markup, escape

Row = dict[str, Any]


@dataclass(frozen=True)
class Report:
    """The rows of every section of one organisation's report on one as-of date.

    `timezone` is the zone of the organisation's local days; `waiting` says that the
    as-of date's own local day is not computed yet (it needs the next UTC day).
    """

    as_of_date: dt.date
    organization_id: str
    timezone: str
    waiting: bool
    cards: list[Row]
    days: list[Row]
    top_agents: list[Row]
    event_mix: list[Row]
    data_quality: list[Row]
    anomalies: list[Row]

    @property
    def file_name(self) -> str:
        return f"{self.organization_id}.html"


TEMPLATE_DIR = Path(__file__).resolve().parents[1] / "templates"
COLOURS = ("#2563eb", "#f97316", "#16a34a", "#9333ea")
WIDTH, HEIGHT = 560, 190
LEFT, RIGHT, TOP, BOTTOM = 64, 12, 26, 24
UNIT_X = 12  # the unit is written up the left edge, beside the scale


def number(value: float | None, unit: str = "") -> str:
    """A value as the cards and tables show it: thousands separated, NULL as a dash."""
    if value is None:
        return "\N{EN DASH}"
    return f"{value:,.0f}{unit}" if float(value).is_integer() else f"{value:,.1f}{unit}"


def usd(value: float | None) -> str:
    """US dollars: cents, or two significant digits below a cent (tokens cost fractions)."""
    if value is None:
        return "\N{EN DASH}"
    if value == 0 or abs(value) >= 0.01:
        return f"${value:,.2f}"
    return f"${value:.2g}"


def milliseconds(value: float | None) -> str:
    return number(value, " ms")


def percent(value: float | None) -> str:
    return "\N{EN DASH}" if value is None else f"{100 * value:.1f} %"


# Each metric a report shows: label, how its values read, whether a rise is good news
# (None: neither, as for the cost).
METRICS: dict[str, tuple[str, Callable[[float | None], str], bool | None]] = {
    "total_messages": ("Messages", number, True),
    "total_conversations": ("Conversations", number, True),
    "unique_users": ("Unique users", number, True),
    "total_tokens": ("Tokens", number, True),
    "total_cost_usd": ("Cost", usd, None),
    "avg_response_time": ("Avg response time", milliseconds, False),
    "p95_response_time": ("p95 response time", milliseconds, False),
    "agent_count": ("Active agents", number, True),
    "workflow_executions": ("Workflow executions", number, True),
    "error_count": ("Errors", number, False),
    "error_rate": ("Error rate", percent, False),
}
# the headline cards, in order: the period comparison's metrics and the cost beside tokens
CARD_METRICS = tuple(metric for metric in METRICS if metric != "error_rate")

_environment = Environment(
    loader=FileSystemLoader(TEMPLATE_DIR), autoescape=True, undefined=StrictUndefined
)


def _nice_ceiling(value: float) -> float:
    """The smallest 1, 2 or 5 times a power of ten at or above `value`: a readable axis top."""
    if value <= 0:
        return 1.0
    power = 10 ** math.floor(math.log10(value))
    return next(step * power for step in (1, 2, 5, 10) if step * power >= value)


def axis_number(value: float) -> str:
    """A scale label: short enough for the axis, so millions read 1.5M and thousands 20k."""
    for divisor, suffix in ((1_000_000, "M"), (1_000, "k")):
        if value >= divisor:
            return f"{value / divisor:,.{0 if (value / divisor).is_integer() else 1}f}{suffix}"
    return number(value)


def axis_usd(value: float) -> str:
    """A scale label in dollars: $1.5k from a dollar up, cents and fractions below."""
    return f"${axis_number(value)}" if value >= 1 else usd(value)


def _unit_label(unit: str, middle: float) -> str:
    return (
        f'<text x="{UNIT_X}" y="{middle:.1f}" class="unit" text-anchor="middle"'
        f' transform="rotate(-90 {UNIT_X} {middle:.1f})">{escape(unit)}</text>'
    )


def _svg(title: str, height: int, body: list[str]) -> Markup:
    return Markup(
        f'<svg class="chart" role="img" aria-label="{escape(title)}" width="{WIDTH}"'
        f' height="{height}" viewBox="0 0 {WIDTH} {height}" xmlns="http://www.w3.org/2000/svg">'
        f"<title>{escape(title)}</title>{''.join(body)}</svg>"
    )


def line_chart(
    title: str,
    days: Sequence[dt.date],
    series: Mapping[str, Sequence[float | None]],
    unit: str,
    scale: Callable[[float], str] = axis_number,
) -> Markup:
    """One line per series over the days, its scale in `unit`; a NULL value leaves a gap."""
    top = _nice_ceiling(max((v for values in series.values() for v in values if v), default=0))
    plot_width, plot_height = WIDTH - LEFT - RIGHT, HEIGHT - TOP - BOTTOM
    step = plot_width / max(len(days) - 1, 1)

    def point(index: int, value: float) -> tuple[float, float]:
        return LEFT + index * step, TOP + plot_height * (1 - value / top)

    body = []
    for fraction in (0, 0.5, 1):
        y = TOP + plot_height * (1 - fraction)
        body.append(f'<line x1="{LEFT}" x2="{WIDTH - RIGHT}" y1="{y:.1f}" y2="{y:.1f}"/>')
        body.append(
            f'<text x="{LEFT - 6}" y="{y + 4:.1f}" class="y">{scale(top * fraction)}</text>'
        )
    body.append(_unit_label(unit, TOP + plot_height / 2))
    anchors = {0: "start", len(days) // 2: "middle", len(days) - 1: "end"} if days else {}
    for index, anchor in anchors.items():
        body.append(
            f'<text x="{LEFT + index * step:.1f}" y="{HEIGHT - 6}" text-anchor="{anchor}">'
            f"{days[index]:%b %d}</text>"
        )
    for colour, values in zip(COLOURS, series.values(), strict=False):
        segments: list[list[tuple[float, float]]] = [[]]
        for index, value in enumerate(values):
            if value is None:
                segments.append([])
            else:
                segments[-1].append(point(index, value))
        for segment in segments:
            # a lone day between gaps has no line to draw, so it gets a dot
            if len(segment) == 1:
                ((x, y),) = segment
                body.append(f'<circle cx="{x:.1f}" cy="{y:.1f}" r="2.5" fill="{colour}"/>')
            elif segment:
                points = " ".join(f"{x:.1f},{y:.1f}" for x, y in segment)
                body.append(f'<polyline points="{points}" stroke="{colour}"/>')
    legend_x = LEFT
    for colour, name in zip(COLOURS, series, strict=False):
        body.append(f'<rect x="{legend_x}" y="6" width="10" height="10" fill="{colour}"/>')
        body.append(f'<text x="{legend_x + 14}" y="15">{escape(name)}</text>')
        legend_x += 24 + 7 * len(name)
    return _svg(title, HEIGHT, body)


def bar_chart(title: str, items: Sequence[tuple[str, float]], unit: str) -> Markup:
    """Horizontal bars, one per label, each with its value in `unit`; a note when none."""
    row, label_width = 22, 190
    height = (max(len(items), 1) + 1) * row + 8
    top = max((value for _, value in items), default=0) or 1
    # the value axis is the bars' length: its unit heads the column of bars
    body = [f'<text x="{label_width}" y="{row - 6}" class="unit">{escape(unit)}</text>']
    if not items:
        body.append(f'<text x="8" y="{2 * row - 6}">none</text>')
    for index, (label, value) in enumerate(items, start=1):
        y = 4 + index * row
        width = (WIDTH - label_width - 80) * value / top
        body.append(f'<text x="{label_width - 8}" y="{y + 15}" class="y">{escape(label)}</text>')
        body.append(
            f'<rect x="{label_width}" y="{y + 3}" width="{width:.1f}" height="{row - 6}"'
            f' fill="{COLOURS[0]}"/>'
        )
        body.append(f'<text x="{label_width + width + 6:.1f}" y="{y + 15}">{number(value)}</text>')
    return _svg(title, height, body)


ARROWS = {"up": "▲", "down": "▼", "flat": "■"}


def _tone(metric: str, direction: str) -> str:
    """good or bad news by the metric's nature; neutral when flat or neither."""
    rise_is_good = METRICS[metric][2]
    if direction == "flat" or rise_is_good is None:
        return "neutral"
    return "good" if (direction == "up") == rise_is_good else "bad"


def cards(rows: Sequence[Mapping[str, Any]]) -> list[dict[str, str]]:
    """The headline cards: value, previous value and change, coloured by whether it is good."""
    by_metric = {row["metric"]: row for row in rows}
    result = []
    for metric in CARD_METRICS:
        label, formatted, _ = METRICS[metric]
        row = by_metric.get(metric, {})
        change = row.get("change_pct")
        # neither NULL (no previous value) nor zero
        direction = ("up" if change > 0 else "down") if change else "flat"
        result.append(
            {
                "metric": metric,
                "label": label,
                "value": formatted(row.get("current_value")),
                "previous": formatted(row.get("previous_value")),
                "change": "n/a" if change is None else f"{change:+.1f} %",
                "arrow": ARROWS[direction],
                "tone": _tone(metric, direction),
            }
        )
    return result


def score_text(score: float) -> str:
    """A modified z-score to one decimal; infinity (a constant baseline broken) as ∞."""
    return f"{'+' if score > 0 else '-'}∞" if math.isinf(score) else f"{score:+.1f}"


def anomalies(rows: Sequence[Mapping[str, Any]]) -> list[dict[str, str]]:
    """The anomalies of the period as the report's table shows them."""
    result = []
    for row in rows:
        label, formatted, _ = METRICS[row["metric"]]
        result.append(
            {
                "metric": row["metric"],
                "label": label,
                "date": str(row["date"]),
                "value": formatted(row["value"]),
                "median": formatted(row["median"]),
                "score": score_text(row["score"]),
                "direction": f"{ARROWS[row['direction']]} {row['direction']}",
                "tone": _tone(row["metric"], row["direction"]),
            }
        )
    return result


def _column(rows: Sequence[Mapping[str, Any]], name: str) -> list[float | None]:
    return [row[name] for row in rows]


def render_report(report: Report) -> str:
    """The organisation's page: every section of the report over its trailing window."""
    days = [row["date"] for row in report.days]
    usage = [
        line_chart(label, days, {label: _column(report.days, column)}, unit, scale)
        for column, label, unit, scale in (
            ("total_messages", "Messages", "messages", axis_number),
            ("total_conversations", "Conversations", "conversations", axis_number),
            ("total_tokens", "Tokens", "tokens", axis_number),
            ("total_cost_usd", "Cost", "USD", axis_usd),
            ("unique_users", "Unique users", "users", axis_number),
        )
    ]
    return _environment.get_template("report.html.j2").render(
        report=report,
        first_day=days[0],
        next_day=report.as_of_date + dt.timedelta(days=1),
        cards=cards(report.cards),
        anomalies=anomalies(report.anomalies),
        usage_charts=usage,
        response_time_chart=line_chart(
            "Response time (ms)",
            days,
            {
                "p50": _column(report.days, "p50_response_time"),
                "p95": _column(report.days, "p95_response_time"),
            },
            "ms",
        ),
        failure_chart=line_chart(
            "Errors and workflow failures",
            days,
            {
                "agent.error": _column(report.days, "agent_errors"),
                "workflow.failed": _column(report.days, "workflow_failures"),
            },
            "events",
        ),
        event_mix_chart=bar_chart(
            "Event mix",
            [(row["event_type"], row["event_count"]) for row in report.event_mix],
            "events",
        ),
        data_quality_chart=bar_chart(
            "Data quality issues",
            [(row["issue"], row["event_count"]) for row in report.data_quality],
            "events",
        ),
        number=number,
        usd=usd,
    )


def render_index(as_of_date: dt.date, reports: Sequence[Report]) -> str:
    """The date's index: a line per organisation with its headline figures and a link."""
    rows = [
        {"report": report, "cards": {card["metric"]: card for card in cards(report.cards)}}
        for report in reports
    ]
    return _environment.get_template("report_index.html.j2").render(
        as_of_date=as_of_date, rows=rows, waiting=any(report.waiting for report in reports)
    )
