"""The report's charts (docs/reports.md): inline SVG drawn by matplotlib, each naming its
unit, on a zero-based scale, with a NULL value as a gap and "none" for a bar chart of
no items.

A line chart's plot spans x 64 to 548 and y 26 (its top) to 166 (zero) of a 560 x 190
chart, so with 5 days a day is 121 pixels right of the one before, and on a 0-4 scale a
unit is 35 pixels: value v of day i lies at (64 + 121 i, 166 - 35 v). A bar chart's bars
start at x 190, the longest 290 pixels long, one bar per 22 pixels.
"""

import datetime as dt
import re
from concurrent.futures import ThreadPoolExecutor
from xml.etree import ElementTree

import pytest

from warehouse.report_html import (
    axis_number,
    axis_usd,
    bar_chart,
    line_chart,
    scale_ticks,
)

DAYS = [dt.date(2025, 3, 1) + dt.timedelta(days=index) for index in range(5)]
SVG = "{http://www.w3.org/2000/svg}"


def parsed(chart):
    root = ElementTree.fromstring(str(chart))
    for element in root.iter():
        element.tag = element.tag.removeprefix(SVG)
    return root


def texts(root, **attributes):
    return [
        element.text
        for element in root.iter("text")
        if all(element.get(name) == value for name, value in attributes.items())
    ]


def line_paths(root, colour):
    return [
        path.get("d")
        for path in root.iter("path")
        if f"stroke: {colour}" in path.get("style", "") and "clip-path" in path.attrib
    ]


def test_a_line_chart_names_its_unit_up_its_scale_and_its_title_for_screen_readers():
    root = parsed(line_chart("Messages", DAYS, {"Messages": [1, 2, 3, 4, 2]}, "messages"))

    assert texts(root, **{"class": "unit"}) == ["messages"]
    assert root.get("class") == "chart"
    assert root.get("aria-label") == "Messages"
    assert root.find("title").text == "Messages"
    assert (root.get("width"), root.get("height")) == ("560", "190")


def test_a_line_chart_scale_starts_at_zero_and_tops_at_the_next_round_number():
    root = parsed(line_chart("Messages", DAYS, {"Messages": [1, 2, 3, 4, 2]}, "messages"))

    # the scale's labels, right-aligned by the plot's left edge, bottom to top
    assert texts(root, x="60.5") == ["0", "2", "4"]
    gridlines = [path.get("d") for path in root.iter("path") if "#e5e7eb" in path.get("style")]
    assert gridlines == ["M64 166L548 166", "M64 96L548 96", "M64 26L548 26"]
    assert line_paths(root, "#2563eb") == ["M64 131L185 96L306 61L427 26L548 96"]


@pytest.mark.parametrize(
    ("highest", "ticks"),
    [
        (0, [0, 0.5, 1]),  # nothing to show still has a scale
        (2, [0, 1, 2]),
        (3, [0, 2, 4]),
        (4, [0, 2, 4]),
        (4.4, [0, 2.5, 5]),
        (7, [0, 5, 10]),
        (150_000, [0, 100_000, 200_000]),
    ],
)
def test_a_scale_has_three_ticks_from_zero_to_a_round_number_at_or_above_the_highest(
    highest, ticks
):
    assert scale_ticks(highest) == ticks


@pytest.mark.parametrize(
    ("value", "label"),
    [(0, "0"), (0.5, "0.5"), (500, "500"), (20_000, "20k"), (1_500_000, "1.5M"), (2e8, "200M")],
)
def test_a_scale_reads_thousands_as_k_and_millions_as_m(value, label):
    assert axis_number(value) == label


@pytest.mark.parametrize(
    ("value", "label"),
    [(0, "$0.00"), (0.005, "$0.005"), (0.5, "$0.50"), (5, "$5"), (1500, "$1.5k")],
)
def test_a_dollar_scale_reads_dollars_and_cents(value, label):
    assert axis_usd(value) == label


def test_a_cost_chart_labels_its_scale_in_dollars():
    root = parsed(line_chart("Cost", DAYS, {"Cost": [1, 2, 3, 4, 2]}, "USD", axis_usd))

    assert texts(root, x="60.5") == ["$0.00", "$2", "$4"]
    assert texts(root, **{"class": "unit"}) == ["USD"]


def test_a_null_value_is_a_gap_in_the_line_and_a_lone_day_between_gaps_a_dot():
    # days 0 and 1 are joined; day 3, between two NULLs, stands alone
    root = parsed(line_chart("Messages", DAYS, {"Messages": [2, 4, None, 3, None]}, "messages"))

    # the line moves (M) to day 3 without drawing (L) across day 2
    assert line_paths(root, "#2563eb") == ["M64 96L185 26M427 61"]
    assert [(use.get("x"), use.get("y")) for use in root.iter("use")] == [("427", "61")]


def test_a_line_chart_draws_each_series_in_its_colour_with_a_legend():
    series = {"p50": [1, 1, 1, 1, 1], "p95": [4, 4, 4, 4, 4]}
    root = parsed(line_chart("Response time (ms)", DAYS, series, "ms"))

    assert line_paths(root, "#2563eb") == ["M64 131L185 131L306 131L427 131L548 131"]
    assert line_paths(root, "#f97316") == ["M64 26L185 26L306 26L427 26L548 26"]
    assert [name for name in texts(root) if name in series] == ["p50", "p95"]
    assert list(root.iter("use")) == []  # no lone day, no dot
    # the dates: the first, the middle and the last
    assert texts(root, y="177.9") == ["Mar 01", "Mar 03", "Mar 05"]


def test_a_bar_chart_names_its_unit_and_labels_each_bar_with_its_value():
    root = parsed(bar_chart("Event mix", [("message.sent", 4), ("agent.error", 2)], "events"))

    assert texts(root, **{"class": "unit"}) == ["events"]
    assert root.get("aria-label") == "Event mix"
    # the longest bar is 290 pixels, the other half of it, each 16 high in its 22 row
    bars = [path.get("d") for path in root.iter("path") if path.get("style") == "fill: #2563eb"]
    assert bars == ["M190 29L480 29L480 45L190 45z", "M190 51L335 51L335 67L190 67z"]
    assert texts(root, x="182") == ["message.sent", "agent.error"]
    # each value 6 pixels right of its bar's end
    assert texts(root, x="486") == ["4"]
    assert texts(root, x="341") == ["2"]
    assert root.get("height") == str(3 * 22 + 8)


def test_a_bar_chart_of_no_items_says_none():
    root = parsed(bar_chart("Data quality issues", [], "events"))

    assert "none" in texts(root)
    assert texts(root, **{"class": "unit"}) == ["events"]
    assert list(root.iter("path")) == []
    assert root.get("height") == str(2 * 22 + 8)


def test_text_stays_text_in_the_page_font_and_ids_are_unique_across_charts():
    charts = [
        str(line_chart(title, DAYS, {title: [2, 4, None, 3, None]}, "events"))
        for title in ("Messages", "Conversations")
    ]

    assert all("font-family" not in chart and "<text" in chart for chart in charts)
    ids = [found for chart in charts for found in re.findall(r' id="([^"]+)"', chart)]
    assert len(ids) == len(set(ids)) == 4  # each chart's clip and dot, its own
    # nothing of matplotlib's file that a page does not need
    assert not any(
        mark in "".join(charts) for mark in ("<?xml", "<!DOCTYPE", "<metadata", "<style")
    )


def test_the_same_rows_give_the_same_chart_in_any_thread():
    def chart(index):
        values = [index, 4, None, 3, None]
        return str(line_chart(f"Chart {index % 2}", DAYS, {"Messages": values}, "messages"))

    alone = [chart(index) for index in range(8)]
    with ThreadPoolExecutor(max_workers=4) as pool:
        together = list(pool.map(chart, range(8)))

    assert together == alone
    assert all("<text" in page and 'class="unit"' in page for page in together)
