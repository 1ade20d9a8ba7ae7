"""Renders a report as one self-contained HTML page: inline CSS, charts as inline SVG.

The charts are drawn by matplotlib's SVG backend (no pyplot: a Figure per chart, safe in
any thread), in Python rather than by a JavaScript library, so a report opens offline,
from a mail attachment or a file share, and prints as it looks on screen. Their text
stays text (`svg.fonttype: none`) in the page's font, and each chart is trimmed to what a
browser needs (no XML prolog, metadata, groups' ids or whitespace; a tenth of a pixel of
precision), about 1.5 KB a line chart.
"""

from __future__ import annotations

import datetime as dt
import io
import math
import re
import threading
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any
from xml.etree import ElementTree

from jinja2 import Environment, FileSystemLoader, StrictUndefined
from markupsafe import Markup

if TYPE_CHECKING:
    from matplotlib.axes import Axes
    from matplotlib.figure import Figure

Row = dict[str, Any]


@dataclass(frozen=True)
class Report:
    """The rows of every section of one organisation's report on one as-of date.

    A report covers the organisation's latest complete window of local days in its zone
    `timezone`, which ends on `last_day`: the as-of date itself, or the day before while
    the as-of date's local day waits for the next UTC day (docs/contract.md, section 10).
    `first_day` is the warehouse's first day (no data before it); `comparable` says whether
    the window before lies inside the warehouse, so that a change is shown.
    """

    as_of_date: dt.date
    last_day: dt.date
    first_day: dt.date
    organization_id: str
    timezone: str
    comparable: bool
    cards: list[Row]
    days: list[Row]
    top_agents: list[Row]
    event_mix: list[Row]
    data_quality: list[Row]
    anomalies: list[Row]
    cost_coverage: Row | None  # tokens, priced_tokens, priced_share over the UTC days

    @property
    def file_name(self) -> str:
        return f"{self.organization_id}.html"

    @property
    def window_first_day(self) -> dt.date:
        return self.days[0]["date"]  # type: ignore[no-any-return]

    @property
    def pending(self) -> bool:
        """Whether local days up to the as-of date are left out, not complete yet."""
        return self.last_day < self.as_of_date

    @property
    def before_first_day(self) -> bool:
        """Whether the window shows days before the warehouse's first day (no data)."""
        return not all(day["within_warehouse"] for day in self.days)


TEMPLATE_DIR = Path(__file__).resolve().parents[1] / "templates"
COLOURS = ("#2563eb", "#f97316", "#16a34a", "#9333ea")
TEXT_COLOUR, UNIT_COLOUR, GRID_COLOUR = "#374151", "#6b7280", "#e5e7eb"
FONT_SIZE = 11
WIDTH, HEIGHT = 560, 190  # CSS pixels, a point of the figure each
LEFT, RIGHT, TOP, BOTTOM = 64, 12, 26, 24  # a line chart's margins around its plot
BAR_ROW, BAR_LABELS, BAR_VALUES = 22, 190, 80  # a bar's row; the labels' and values' room
UNIT_GID = "unit"  # the text naming a chart's unit, class="unit" in the page
_UNIT_TEXT = {
    "fontsize": FONT_SIZE,
    "fontstyle": "italic",
    "color": UNIT_COLOUR,
    "gid": UNIT_GID,
    "parse_math": False,
}
# matplotlib reads the SVG settings from its global rcParams while printing: the lock
# keeps two threads' charts from printing with each other's (or no) settings.
_PRINTING = threading.Lock()
_NO_METADATA = {"Creator": None, "Date": None, "Format": None, "Type": None}
_SVG = "http://www.w3.org/2000/svg"
_XLINK_HREF = "{http://www.w3.org/1999/xlink}href"
_GEOMETRY = ("d", "x", "y", "width", "height", "transform")
_DECIMALS = re.compile(r"-?\d+\.\d+")
_URL = re.compile(r"url\(#([^)]+)\)")
_NO_ROTATION = re.compile(r"rotate\(-?0 [^)]*\)")
_PATH_COMMAND = re.compile(r" ?([A-Za-z]) ?")
# what templates/report.css.j2 gives every chart's text, left out of each
_PAGE_TEXT_STYLE = {f"font-size: {FONT_SIZE}px", f"fill: {TEXT_COLOUR}", "text-anchor: start"}


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


def axis_number(value: float) -> str:
    """A scale label: short enough for the axis, so millions read 1.5M and thousands 20k."""
    for divisor, suffix in ((1_000_000, "M"), (1_000, "k")):
        if value >= divisor:
            return f"{value / divisor:,.{0 if (value / divisor).is_integer() else 1}f}{suffix}"
    return number(value)


def axis_usd(value: float) -> str:
    """A scale label in dollars: $1.5k from a dollar up, cents and fractions below."""
    return f"${axis_number(value)}" if value >= 1 else usd(value)


def scale_ticks(highest: float) -> list[float]:
    """A zero-based scale of three ticks, the top at or above `highest`: 0, 1, 2 for 2;
    0, 2, 4 for 2.1 to 4; 0, 2.5, 5 for 4.4; 0, 100k, 200k for 150k (matplotlib's
    MaxNLocator in steps of 1, 2, 2.5 or 5 times a power of ten)."""
    from matplotlib.ticker import MaxNLocator

    locator = MaxNLocator(nbins=2, steps=[1, 2, 2.5, 5, 10])
    return [float(tick) for tick in locator.tick_values(0, highest if highest > 0 else 1)]


def _figure(height: int) -> Figure:
    from matplotlib.figure import Figure

    figure = Figure(figsize=(WIDTH / 72, height / 72), dpi=72)
    figure.patch.set_visible(False)
    return figure


def _plot(figure: Figure, left: int, right: int, top: int, bottom: int) -> Axes:
    """Axes within the figure's margins (pixels), without background, frame or tick marks."""
    height = figure.get_figheight() * 72
    axes = figure.add_axes(
        (left / WIDTH, bottom / height, 1 - (left + right) / WIDTH, 1 - (top + bottom) / height)
    )
    axes.patch.set_visible(False)
    axes.spines[:].set_visible(False)
    axes.tick_params(length=0, labelsize=FONT_SIZE, labelcolor=TEXT_COLOUR)
    return axes


def line_chart(
    title: str,
    days: Sequence[dt.date],
    series: Mapping[str, Sequence[float | None]],
    unit: str,
    scale: Callable[[float], str] = axis_number,
) -> Markup:
    """One line per series over the days, on a zero-based scale in `unit`; a NULL value
    leaves a gap, and a lone day between gaps is a dot."""
    import numpy as np
    from matplotlib.patches import Patch
    from matplotlib.ticker import FuncFormatter

    figure = _figure(HEIGHT)
    axes = _plot(figure, LEFT, RIGHT, TOP, BOTTOM)
    ticks = scale_ticks(max((v for values in series.values() for v in values if v), default=0))
    axes.set_ylim(0, ticks[-1])
    axes.set_yticks(ticks)
    axes.yaxis.set_major_formatter(FuncFormatter(lambda value, _: scale(value)))
    axes.grid(axis="y", color=GRID_COLOUR, linewidth=1, solid_capstyle="butt", clip_on=False)
    axes.set_ylabel(unit, **_UNIT_TEXT)
    axes.set_xlim(0, max(len(days) - 1, 1))
    marks = sorted({0, len(days) // 2, len(days) - 1}) if days else []
    axes.set_xticks(marks, [f"{days[index]:%b %d}" for index in marks])
    # the first date starts at the plot's left edge and the last ends at its right one
    alignments = ["left", *["center"] * (len(marks) - 2), "right"][: len(marks)]
    for label, alignment in zip(axes.get_xticklabels(), alignments, strict=True):
        label.set_horizontalalignment(alignment)
    for colour, values in zip(COLOURS, series.values(), strict=False):
        line = np.array([np.nan if value is None else value for value in values], dtype=float)
        known = ~np.isnan(line)
        beside = np.pad(known, 1)
        lone = known & ~beside[:-2] & ~beside[2:]  # a NaN breaks matplotlib's line
        dots = {"marker": "o", "markersize": 5, "markeredgewidth": 0, "markevery": list(lone)}
        (drawn,) = axes.plot(
            line,
            color=colour,
            linewidth=2,
            solid_capstyle="butt",
            solid_joinstyle="round",
            **(dots if lone.any() else {}),
        )
        # clipped to the chart, not the plot: a line or dot on the top gridline shows whole
        drawn.set_clip_box(figure.bbox)
    legend = axes.legend(
        handles=[
            Patch(facecolor=colour, linewidth=0, label=name)
            for colour, name in zip(COLOURS, series, strict=False)
        ],
        loc="lower left",
        bbox_to_anchor=(0, 1),
        ncols=max(len(series), 1),
        frameon=False,
        fontsize=FONT_SIZE,
        labelcolor=TEXT_COLOUR,
        borderaxespad=0.3,
        borderpad=0,
        handlelength=10 / FONT_SIZE,
        handleheight=10 / FONT_SIZE,
        handletextpad=0.4,
        columnspacing=1.2,
    )
    for text in legend.get_texts():
        text.set_parse_math(False)
    return _svg(figure, title)


def bar_chart(title: str, items: Sequence[tuple[str, float]], unit: str) -> Markup:
    """Horizontal bars, one per label, each with its value, on a zero-based scale in
    `unit`; "none" when there is no item."""
    height = (max(len(items), 1) + 1) * BAR_ROW + 8
    figure = _figure(height)
    # the value axis is the bars' length: its unit heads the column of bars
    axes = _plot(figure, BAR_LABELS, BAR_VALUES, BAR_ROW + 4, 4)
    labels, values = [label for label, _ in items], [value for _, value in items]
    axes.set_xlim(0, max(values, default=0) or 1)
    axes.set_ylim(max(len(items), 1) - 0.5, -0.5)  # the first item on top
    axes.set_xticks([])
    axes.set_yticks(range(len(items)), labels, parse_math=False)
    axes.tick_params(axis="y", pad=8)
    axes.xaxis.set_label_position("top")
    axes.set_xlabel(unit, loc="left", labelpad=2, **_UNIT_TEXT)
    if items:
        bars = axes.barh(range(len(items)), values, height=1 - 6 / BAR_ROW, color=COLOURS[0])
        axes.bar_label(
            bars,
            [number(value) for value in values],
            padding=6,
            fontsize=FONT_SIZE,
            color=TEXT_COLOUR,
        )
    else:
        axes.text(0, 0, "none", fontsize=FONT_SIZE, color=TEXT_COLOUR, va="center")
    return _svg(figure, title)


def _svg(figure: Figure, title: str) -> Markup:
    """The figure as an inline <svg class="chart"> titled `title`, trimmed for the page."""
    from matplotlib import rc_context
    from matplotlib.backends.backend_svg import FigureCanvasSVG

    output = io.BytesIO()
    # ids salted by the title: unique within the page, the same for the same chart
    settings = {"svg.fonttype": "none", "svg.hashsalt": title, "svg.id": None}
    with _PRINTING, rc_context(settings):
        FigureCanvasSVG(figure).print_svg(output, metadata=_NO_METADATA)
    root = ElementTree.fromstring(output.getvalue())
    referenced = {
        *(found[1] for e in root.iter() if (found := _URL.fullmatch(e.get("clip-path", "")))),
        *(e.attrib[_XLINK_HREF].removeprefix("#") for e in root.iter() if _XLINK_HREF in e.attrib),
    }
    _trim(root, referenced)
    width, height = (round(size * 72) for size in figure.get_size_inches())
    root.tag, root.text = "svg", None
    root.attrib = {
        "class": "chart",
        "role": "img",
        "aria-label": title,
        "width": str(width),
        "height": str(height),
        "viewBox": f"0 0 {width} {height}",
        "xmlns": _SVG,
    }
    heading = ElementTree.Element("title")
    heading.text = title
    root.insert(0, heading)
    # ElementTree escapes every ">" of text and attributes: " />" only ends an element
    return Markup(ElementTree.tostring(root, encoding="unicode").replace(" />", "/>"))


def _trim(element: ElementTree.Element, referenced: set[str]) -> None:
    """Leaves out, in place, what a browser does not need of matplotlib's SVG: groups
    without attributes (their children stay), ids nothing refers to, whitespace, precision
    below a tenth of a pixel, a rotation by 0 degrees, and the style the page's CSS gives
    every chart (matplotlib's default style, the text's font, size and colour)."""
    children: list[ElementTree.Element] = []
    for child in element:
        _trim(child, referenced)
        tag = child.tag = child.tag.removeprefix(f"{{{_SVG}}}")  # the root names it once
        child.tail = None
        if tag != "text":
            child.text = None
        if child.get("id") == UNIT_GID:
            for text in child.iter("text"):
                text.set("class", "unit")
        if child.get("id") not in referenced:
            child.attrib.pop("id", None)
        if _XLINK_HREF in child.attrib:  # SVG 2's href: no xlink namespace in the page
            child.set("href", child.attrib.pop(_XLINK_HREF))
        for name in _GEOMETRY:
            if name in child.attrib:
                child.set(name, _DECIMALS.sub(_tenths, " ".join(child.attrib[name].split())))
        if "d" in child.attrib:
            child.set("d", _PATH_COMMAND.sub(r"\1", child.attrib["d"]))
        if _NO_ROTATION.fullmatch(child.get("transform", "")):
            del child.attrib["transform"]
        if tag == "text" and "style" in child.attrib:
            rules = child.attrib.pop("style").split("; ")
            kept = [
                rule for rule in rules if rule not in _PAGE_TEXT_STYLE and "font-family" not in rule
            ]
            if kept:
                child.set("style", "; ".join(kept))
        if tag == "style" or (tag in ("g", "defs") and not child.attrib and not len(child)):
            continue
        if tag == "g" and not child.attrib:
            children.extend(child)
        else:
            children.append(child)
    element[:] = children


def _tenths(number_text: re.Match[str]) -> str:
    rounded = f"{float(number_text[0]):.1f}".removesuffix(".0")
    return "0" if rounded == "-0" else rounded


ARROWS = {"up": "▲", "down": "▼", "flat": "■"}


def _tone(metric: str, direction: str) -> str:
    """good or bad news by the metric's nature; neutral when flat or neither."""
    rise_is_good = METRICS[metric][2]
    if direction == "flat" or rise_is_good is None:
        return "neutral"
    return "good" if (direction == "up") == rise_is_good else "bad"


def cards(rows: Sequence[Mapping[str, Any]], comparable: bool = True) -> list[dict[str, str]]:
    """The headline cards: value, previous value and change, coloured by whether it is good;
    no change where the previous period is not comparable (it begins before the
    warehouse's first day: a shorter period)."""
    by_metric = {row["metric"]: row for row in rows}
    result = []
    for metric in CARD_METRICS:
        label, formatted, _ = METRICS[metric]
        row = by_metric.get(metric, {})
        change = row.get("change_pct") if comparable else None
        # neither NULL (no previous value) nor zero
        direction = ("up" if change > 0 else "down") if change else "flat"
        result.append(
            {
                "metric": metric,
                "label": label,
                "value": formatted(row.get("current_value")),
                "previous": formatted(row.get("previous_value")) if comparable else "no data",
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
        cards=cards(report.cards, report.comparable),
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


def render_index(
    as_of_date: dt.date,
    reports: Sequence[Report],
    earlier: dt.date | None = None,
    later: dt.date | None = None,
) -> str:
    """The date's index: a line per organisation with its headline figures and a link, and
    links to the report dates before and after it and to the index of every date."""
    rows = [
        {
            "report": report,
            "cards": {card["metric"]: card for card in cards(report.cards, report.comparable)},
        }
        for report in reports
    ]
    return _environment.get_template("report_index.html.j2").render(
        as_of_date=as_of_date,
        rows=rows,
        pending=[report for report in reports if report.pending],
        earlier=earlier,
        later=later,
    )


def render_dates_index(dates: Sequence[dt.date]) -> str:
    """Every report date, newest first."""
    return _environment.get_template("report_dates.html.j2").render(dates=dates)
