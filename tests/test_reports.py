"""HTML reports, built through Dagster from a few hand-written events and opened in Chromium.

The organisation (no zone: UTC) has 4 messages, 1 conversation, 2 users, 150,000 tokens
costing $0.30, an agent error and a workflow failure in the 30 days ending 2025-03-10,
and 2 messages in the 30 days before. A second organisation, in Los Angeles, has one
message on each side of the periods' boundaries, whose local days differ from UTC's.
"""

import base64
import dataclasses
import datetime as dt
import io
import math
import re
import uuid
from pathlib import Path

import psycopg
import pyarrow as pa
import pytest
from conftest import warehouse_resource
from dagster import materialize
from PIL import Image
from pyiceberg.io.pyarrow import schema_to_pyarrow

from assets.partitions import partition_range_tags
from assets.reports import PREVIEW_SIZE, preview_figure
from assets.resources import SourceDatabase
from pipelines.definitions import defs
from warehouse.insights import AS_OF_DATES_PER_QUERY
from warehouse.report_html import CARD_METRICS, Report, render_report, score_text, usd
from warehouse.reports import load_reports, reports_dir, write_reports
from warehouse.tables import METRIC_ANOMALIES

ORG = uuid.UUID("00000000-0000-4000-8000-0000000000a1")
LOS_ANGELES = uuid.UUID("00000000-0000-4000-8000-0000000000a3")
AGENT = uuid.UUID("00000000-0000-4000-8000-0000000000b1")
USER_1 = uuid.UUID("00000000-0000-4000-8000-0000000000c1")
USER_2 = uuid.UUID("00000000-0000-4000-8000-0000000000c2")
AS_OF = "2025-03-10"
NEXT_DAY = "2025-03-11"
PREVIOUS_DAY = "2025-02-08"  # the previous period's last day: AS_OF - 30
# a million tokens of gpt-x cost $2.00
PRICES = "model,effective_from,usd_per_million_tokens\ngpt-x,2025-01-01,2.00\n"
SECTIONS = (
    "headline",
    "anomalies",
    "usage",
    "response-times",
    "top-agents",
    "event-mix",
    "errors",
    "data-quality",
)
CHARTS = 9  # five usage charts, response time, failures, event mix, data quality
# the unit on each chart's value axis, in the page's order
CHART_UNITS = [
    "messages",
    "conversations",
    "tokens",
    "USD",
    "users",
    "ms",
    "events",
    "events",
    "events",
]
# docs/reports.md, "Size": the largest report, and the largest without an anomaly
LARGEST_REPORT_KB = 52
LARGEST_QUIET_REPORT_KB = 23
# metric_anomalies' metrics (metrics.md, section 9)
ANOMALY_METRICS = (
    "total_messages",
    "error_count",
    "error_rate",
    "p95_response_time",
    "total_tokens",
    "total_cost_usd",
)


def agent_event(event_type, created_at=f"{AS_OF} 12:00", **properties):
    return {
        "organization_id": ORG,
        "event_type": event_type,
        "resource_type": "agent",
        "resource_id": AGENT,
        "user_id": USER_1,
        "properties": properties,
        "created_at": created_at,
    }


@pytest.fixture
def run_priced(source, warehouse_dir, tmp_path):
    """Materialises every asset over a range of days, pricing with PRICES; the platform's
    zone table puts LOS_ANGELES in America/Los_Angeles."""
    prices = tmp_path / "prices.csv"
    prices.write_text(PRICES)
    zones = f"{source.table.split('.')[0]}.organization_timezones"
    with psycopg.connect(source.dsn, autocommit=True) as connection:
        connection.execute(f"create table {zones} (organization_id uuid, timezone text)")
        connection.execute(f"insert into {zones} values (%s, 'America/Los_Angeles')", [LOS_ANGELES])
    resources = {
        "source": SourceDatabase(dsn=source.dsn, table=source.table, timezones_table=zones),
        "warehouse": warehouse_resource(warehouse_dir, model_prices=str(prices)),
    }

    def run(first_day, last_day):
        tags = partition_range_tags(first_day, last_day)
        return materialize(list(defs.assets or []), resources=resources, tags=tags)

    return run


@pytest.fixture
def built_report(source, run_priced, warehouse_dir):
    """The organisation's report path, and the metadata of the run that wrote it (whose
    last as-of date is the day after)."""
    source.insert(
        agent_event("message.sent", f"{PREVIOUS_DAY} 09:00"),
        agent_event("message.sent", f"{PREVIOUS_DAY} 10:00"),
        agent_event("conversation.started"),
        agent_event("message.sent", tokens=120_000, model="gpt-x"),
        agent_event("message.sent", tokens=30_000, model="gpt-x"),
        {**agent_event("message.received", responseTime=200), "user_id": USER_2},
        agent_event("message.received", responseTime=400),
        agent_event("message.rated", rating=4),
        agent_event("agent.error"),
        {**agent_event("workflow.failed"), "resource_type": "workflow"},
        {**agent_event("message.sent"), "organization_id": None},
        # 02-08 23:30 in Los Angeles (PST): the previous period's last local day
        {**agent_event("message.sent", "2025-02-09 07:30"), "organization_id": LOS_ANGELES},
        # 03-10 23:00 in Los Angeles (PDT): the period's last local day
        {**agent_event("message.sent", "2025-03-11 06:00"), "organization_id": LOS_ANGELES},
    )
    # a local day is computed once the UTC day after it is in: each run takes that day too
    assert run_priced(PREVIOUS_DAY, "2025-02-09").success
    result = run_priced(AS_OF, NEXT_DAY)
    assert result.success
    # the run records one materialisation per as-of date, each with the run's metadata
    metadata = {
        event.materialization.partition: event.materialization.metadata
        for event in result.get_asset_materialization_events()
        if event.materialization.asset_key.path == ["reports"]
    }
    assert set(metadata) == {AS_OF, NEXT_DAY}
    return reports_dir(warehouse_dir) / AS_OF / f"{ORG}.html", metadata[NEXT_DAY]


def card(html: str, metric: str) -> dict[str, str]:
    block = re.search(rf'data-metric="{metric}">(.*?)</div>\n</div>', html, re.DOTALL)
    assert block, metric
    fields = dict(re.findall(r'class="(value|previous)">([^<]*)<', block.group(1)))
    change = re.search(r'class="change (\w+)"><span class="arrow">(.)</span> ([^<]*)<', block[1])
    assert change, block[1]
    return {**fields, "tone": change[1], "arrow": change[2], "change": change[3]}


def test_a_report_shows_every_section_and_the_period_comparison_in_its_cards(built_report):
    html = built_report[0].read_text()

    for section in SECTIONS:
        assert f'<section id="{section}">' in html
    assert card(html, "total_messages") == {
        "value": "4",
        "previous": "2",
        "change": "+100.0 %",
        "arrow": "▲",
        "tone": "good",
    }
    assert card(html, "unique_users")["previous"] == "1"
    assert card(html, "error_count") == {
        "value": "2",
        "previous": "0",
        "change": "n/a",
        "arrow": "■",
        "tone": "neutral",
    }
    assert card(html, "avg_response_time")["value"] == "300 ms"
    assert card(html, "total_tokens")["value"] == "150,000"
    assert str(AGENT) in html and "workflow.failed" in html and "missing_organization_id" in html
    assert html.count('<svg class="chart"') == CHARTS
    assert "http://" not in html.replace("http://www.w3.org/2000/svg", "")
    assert "https://" not in html


def test_a_report_counts_the_organisations_own_local_days_and_names_its_zone(built_report):
    report_path = built_report[0]
    html = report_path.with_name(f"{LOS_ANGELES}.html").read_text()

    # by UTC day the two messages would fall on 02-09 (this period) and 03-11 (after it);
    # in Los Angeles they are the last local days of the previous period and of this one
    assert card(html, "total_messages") == {
        "value": "1",
        "previous": "1",
        "change": "+0.0 %",
        "arrow": "■",
        "tone": "neutral",
    }
    assert 'calendar days in <span class="zone">America/Los_Angeles</span>' in html
    index = (report_path.parent / "index.html").read_text()
    assert f'{LOS_ANGELES}</a></td><td class="zone">America/Los_Angeles</td>' in index
    assert f'{ORG}</a></td><td class="zone">UTC</td>' in index  # not in the zone table


def test_a_local_day_waiting_for_the_next_utc_day_is_announced_and_left_unknown(
    built_report, lakehouse
):
    report_path = built_report[0]
    waiting = report_path.parent.with_name(NEXT_DAY) / f"{ORG}.html"

    # local 03-11 needs UTC 03-12, which no run extracted; local 03-10 had UTC 03-11
    assert 'class="waiting"' in waiting.read_text()
    assert "the UTC day after it, 2025-03-12, is extracted" in waiting.read_text()
    assert 'class="waiting"' not in report_path.read_text()
    assert "is not complete yet" in (waiting.parent / "index.html").read_text()
    next_day = dt.date.fromisoformat(NEXT_DAY)
    (report,) = [
        report
        for report in load_reports(lakehouse, [next_day], waiting=[next_day])[next_day]
        if report.organization_id == str(ORG)
    ]
    # the waiting day is unknown, not zero; the day before keeps its four messages
    assert [day["total_messages"] for day in report.days[-2:]] == [4, None]
    assert report.days[-1]["total_cost_usd"] is None


def test_the_cost_shows_beside_the_tokens_in_the_cards_the_top_agents_and_the_index(
    built_report,
):
    report_path = built_report[0]
    html = report_path.read_text()

    # 150,000 tokens of gpt-x at $2.00 a million; none priced in the period before
    assert card(html, "total_cost_usd") == {
        "value": "$0.30",
        "previous": "$0.00",
        "change": "n/a",
        "arrow": "■",
        "tone": "neutral",
    }
    assert html.index('data-metric="total_tokens"') < html.index('data-metric="total_cost_usd"')
    assert "<td>150,000</td><td>$0.30</td>" in html  # the agent's tokens, then its cost
    index = (report_path.parent / "index.html").read_text()
    assert "<td>150,000</td><td>$0.30</td>" in index


def test_the_index_links_each_organisation_and_the_run_states_sizes_and_a_png(built_report):
    report_path, metadata = built_report
    index = (report_path.parent / "index.html").read_text()
    assert f'href="{ORG}.html"' in index

    last_folder = Path(metadata["path"].value)  # the run's last as-of date
    assert last_folder.name == NEXT_DAY
    assert metadata["total_bytes"].value == sum(p.stat().st_size for p in last_folder.iterdir())
    assert f"{ORG}.html" in metadata["report_sizes"].value


def _anomaly(organization_id, day, metric, value, median, score, direction):
    return {
        "organization_id": organization_id.bytes,
        "date": dt.date.fromisoformat(day),
        "metric": metric,
        "value": value,
        "median": median,
        "mad": 0.0,
        "score": score,
        "direction": direction,
    }


def test_a_report_lists_its_organisations_anomalies_of_the_period(
    built_report, lakehouse, warehouse_dir
):
    other = uuid.UUID("00000000-0000-4000-8000-0000000000a2")
    rows = {
        "2025-03-09": [
            _anomaly(ORG, "2025-03-09", "total_messages", 3.0, 40.0, -5.31, "down"),
            _anomaly(ORG, "2025-03-09", "error_rate", 0.5, 0.0, math.inf, "up"),
            _anomaly(other, "2025-03-09", "error_count", 9.0, 1.0, 8.0, "up"),
        ],
        "2025-02-01": [_anomaly(ORG, "2025-02-01", "total_tokens", 1.0, 9.0, -4.5, "down")],
    }
    schema = schema_to_pyarrow(lakehouse.table(METRIC_ANOMALIES).schema(), include_field_ids=False)
    for day, day_rows in rows.items():
        lakehouse.replace_partition(
            METRIC_ANOMALIES, dt.date.fromisoformat(day), pa.Table.from_pylist(day_rows, schema)
        )

    write_reports(lakehouse, warehouse_dir, [dt.date.fromisoformat(AS_OF)])

    section = re.search(
        r'<section id="anomalies">.*?</section>', built_report[0].read_text(), re.DOTALL
    )
    assert section
    rows = re.findall(r'<tr data-metric="(\w+)">(.*?)</tr>', section[0])
    # the period's anomalies of this organisation only, the strongest score first; the
    # error rate reads as a percentage, an infinite score as ∞
    assert [(metric, re.findall(r"<td[^>]*>(.*?)</td>", row)) for metric, row in rows] == [
        ("error_rate", ["Error rate", "2025-03-09", "50.0 %", "0.0 %", "+∞", "▲ up"]),
        ("total_messages", ["Messages", "2025-03-09", "3", "40", "-5.3", "▼ down"]),
    ]


@pytest.mark.parametrize(
    ("value", "text"),
    [
        (0.0, "$0.00"),
        (0.3, "$0.30"),
        (1234.5, "$1,234.50"),
        (0.00025, "$0.00025"),
        (None, "\N{EN DASH}"),
    ],
)
def test_costs_read_in_dollars_and_cents_and_below_a_cent_in_two_digits(value, text):
    assert usd(value) == text


@pytest.mark.parametrize(
    ("score", "text"), [(4.04, "+4.0"), (-5.31, "-5.3"), (math.inf, "+∞"), (-math.inf, "-∞")]
)
def test_an_anomaly_score_reads_to_one_decimal_and_infinity_as_such(score, text):
    assert score_text(score) == text


def test_the_dagster_preview_is_a_small_png_of_messages_per_day_with_its_unit(built_report):
    metadata = built_report[1]
    image = re.search(r"data:image/png;base64,([A-Za-z0-9+/=]+)", metadata["preview"].value)
    assert image
    png = base64.b64decode(image[1])
    assert Image.open(io.BytesIO(png)).size == PREVIEW_SIZE == (560, 180)
    assert len(png) < 5 * 1024
    assert f"organisation `{ORG}`, 2025-02-10 to {NEXT_DAY}" in metadata["preview"].value

    figure = preview_figure([dt.date(2025, 3, 9), dt.date(2025, 3, 10)], [2, 4])
    (axes,) = figure.axes
    assert axes.get_ylabel() == "messages"
    assert axes.get_ylim() == (0, pytest.approx(4.4))


def test_every_chart_names_the_unit_of_its_values(built_report):
    html = built_report[0].read_text()

    charts = re.findall(r'<svg class="chart".*?</svg>', html, flags=re.DOTALL)
    units = [re.findall(r'class="unit"[^>]*>([^<]*)<', chart) for chart in charts]
    assert units == [[unit] for unit in CHART_UNITS]


def test_a_report_is_at_most_52_kb_and_23_without_anomalies_however_busy_the_organisation():
    """The largest report: 30 days, 10 agents, the demo's 20 event types, every quality
    issue, every metric anomalous on every day, the longest zone name, the note of a day
    not complete yet, and every number nine digits long. Its size does not depend on event
    counts."""
    as_of = dt.date(2025, 3, 10)
    big = 123_456_789
    event_types = [
        "message.sent",
        "message.received",
        "message.rated",
        "conversation.started",
        "conversation.ended",
        "agent.created",
        "agent.updated",
        "agent.deployed",
        "agent.error",
        "workflow.created",
        "workflow.executed",
        "workflow.completed",
        "workflow.failed",
        "user.logged_in",
        "user.invited",
        "user.joined",
        "document.uploaded",
        "document.deleted",
        "search.performed",
        "experiment.viewed",
    ]
    issues = [
        "missing_organization_id",
        "missing_event_type",
        "missing_agent_id",
        "malformed_properties",
        "invalid_tokens",
        "invalid_response_time",
        "invalid_rating",
    ]
    counts = ("total_messages", "total_conversations", "total_tokens", "unique_users")
    report = Report(
        as_of_date=as_of,
        organization_id=str(ORG),
        timezone="America/Argentina/ComodRivadavia",  # the longest zone name
        waiting=True,
        cards=[
            {
                "metric": metric,
                "current_value": big + 0.5,
                "previous_value": big + 0.5,
                "change_pct": -12.3,
            }
            for metric in CARD_METRICS
        ],
        days=[
            {
                "date": as_of - dt.timedelta(days=29 - index),
                **{column: big + index for column in counts},
                "total_cost_usd": big + 0.25,
                "p50_response_time": big + 0.5,
                "p95_response_time": big + 0.5,
                "agent_errors": big,
                "workflow_failures": big,
            }
            for index in range(30)
        ],
        top_agents=[
            {
                "rank": rank,
                "agent_id": uuid.UUID(int=rank),
                "message_count": big,
                "conversation_count": big,
                "total_tokens": big,
                "total_cost_usd": big + 0.25,
                "avg_response_time": big + 0.5,
                "error_count": big,
                "satisfaction_score": 4.123,
                "rating_count": big,
            }
            for rank in range(1, 11)
        ],
        event_mix=[{"event_type": name, "event_count": big} for name in event_types],
        data_quality=[{"issue": issue, "event_count": big} for issue in issues],
        # every metric an anomaly on every day of the window
        anomalies=[
            {
                "metric": metric,
                "date": as_of - dt.timedelta(days=index),
                "value": big + 0.5,
                "median": big + 0.5,
                "score": -1234.5,
                "direction": "down",
            }
            for metric in ANOMALY_METRICS
            for index in range(30)
        ],
    )

    size = len(render_report(report).encode())
    quiet_size = len(render_report(dataclasses.replace(report, anomalies=[])).encode())

    assert 15 * 1024 < quiet_size <= LARGEST_QUIET_REPORT_KB * 1024
    assert size <= LARGEST_REPORT_KB * 1024


def test_rewriting_a_date_replaces_its_folder_and_leaves_no_temporary_one(
    built_report, lakehouse, warehouse_dir
):
    report_path = built_report[0]
    stale = report_path.parent / "stale.html"
    stale.write_text("old")

    write_reports(lakehouse, warehouse_dir, [dt.date.fromisoformat(AS_OF)])

    assert report_path.exists() and not stale.exists()
    assert [p.name for p in reports_dir(warehouse_dir).iterdir() if p.name.startswith(".")] == []


def test_a_range_of_dates_is_written_a_week_at_a_time_as_each_date_alone(
    built_report, lakehouse, warehouse_dir
):
    """A backfill reads its reports a week of as-of dates at a time, so that its memory
    does not grow with the range (issue 13): the weeks' pages are each date's own."""
    next_day = dt.date.fromisoformat(NEXT_DAY)
    # more than a week, ending on the date that waits for its next UTC day
    dates = [next_day - dt.timedelta(days=n) for n in range(AS_OF_DATES_PER_QUERY + 1, -1, -1)]

    def pages() -> dict[str, str]:
        return {
            f"{folder.name}/{page.name}": page.read_text()
            for folder in reports_dir(warehouse_dir).iterdir()
            if folder.name in {date.isoformat() for date in dates}
            for page in folder.iterdir()
        }

    written = write_reports(lakehouse, warehouse_dir, dates, waiting=[next_day])
    in_weeks = pages()
    for date in dates:
        write_reports(lakehouse, warehouse_dir, [date], waiting=[next_day])

    assert in_weeks == pages()
    assert len({name.split("/")[0] for name in in_weeks}) == len(dates) == 9
    assert f"{AS_OF}/{ORG}.html" in in_weeks and f"{NEXT_DAY}/{LOS_ANGELES}.html" in in_weeks
    # only the newest folder is kept, for the run's metadata
    assert written.folder_count == 9
    assert written.newest.as_of_date == next_day
    assert {(report.organization_id, report.waiting) for report in written.newest.reports} == {
        (str(ORG), True),
        (str(LOS_ANGELES), True),
    }


def test_a_report_renders_in_offline_chromium_without_console_errors(
    built_report, chromium, artifacts_dir
):
    report_path = built_report[0]
    errors: list[str] = []
    context = chromium.new_context(offline=True, viewport={"width": 1200, "height": 900})
    page = context.new_page()
    page.on("console", lambda message: message.type == "error" and errors.append(message.text))
    page.on("pageerror", lambda error: errors.append(str(error)))
    page.on("requestfailed", lambda request: errors.append(f"request failed: {request.url}"))
    page.goto(report_path.as_uri())

    charts = page.locator("svg.chart")
    assert charts.count() == CHARTS
    for index in range(CHARTS):
        box = charts.nth(index).bounding_box()
        assert box and box["width"] > 0 and box["height"] > 0, index
        assert charts.nth(index).locator("polyline, circle, rect").count() > 0, index
    page.screenshot(path=str(artifacts_dir / "report.png"), full_page=True)

    assert errors == []
