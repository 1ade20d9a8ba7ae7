"""HTML reports, built through Dagster from a few hand-written events and opened in Chromium.

The organisation has 4 messages, 1 conversation, 2 users, an agent error and a workflow
failure in the 30 days ending 2025-03-10, and 2 messages in the 30 days before.
"""

import base64
import datetime as dt
import io
import re
import uuid

import pytest
from conftest import fresh_source, pipeline_runner
from PIL import Image

from assets.reports import PREVIEW_SIZE, preview_figure
from warehouse.report_html import CARD_METRICS, Report, render_report
from warehouse.reports import reports_dir, write_reports

ORG = uuid.UUID("00000000-0000-4000-8000-0000000000a1")
AGENT = uuid.UUID("00000000-0000-4000-8000-0000000000b1")
USER_1 = uuid.UUID("00000000-0000-4000-8000-0000000000c1")
USER_2 = uuid.UUID("00000000-0000-4000-8000-0000000000c2")
AS_OF = "2025-03-10"
PREVIOUS_DAY = "2025-02-08"  # the previous period's last day: AS_OF - 30
SECTIONS = (
    "headline",
    "usage",
    "response-times",
    "top-agents",
    "event-mix",
    "errors",
    "data-quality",
)
CHARTS = 8  # four usage charts, response time, failures, event mix, data quality
# the unit on each chart's value axis, in the page's order
CHART_UNITS = ["messages", "conversations", "tokens", "users", "ms", "events", "events", "events"]
LARGEST_REPORT_KB = 21  # docs/reports.md, "Size"


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


def build_report(source, run_pipeline, warehouse_dir):
    """The organisation's report path and the reports materialisation's metadata."""
    source.insert(
        agent_event("message.sent", f"{PREVIOUS_DAY} 09:00"),
        agent_event("message.sent", f"{PREVIOUS_DAY} 10:00"),
        agent_event("conversation.started"),
        agent_event("message.sent", tokens=120),
        agent_event("message.sent", tokens=30),
        {**agent_event("message.received", responseTime=200), "user_id": USER_2},
        agent_event("message.received", responseTime=400),
        agent_event("message.rated", rating=4),
        agent_event("agent.error"),
        {**agent_event("workflow.failed"), "resource_type": "workflow"},
        {**agent_event("message.sent"), "organization_id": None},
    )
    assert run_pipeline(PREVIOUS_DAY).success
    result = run_pipeline(AS_OF)
    assert result.success
    (materialization,) = [
        event.materialization
        for event in result.get_asset_materialization_events()
        if event.materialization.asset_key.path == ["reports"]
    ]
    return reports_dir(warehouse_dir) / AS_OF / f"{ORG}.html", materialization.metadata


@pytest.fixture(scope="module")
def built_report(postgres_dsn, tmp_path_factory):
    """The report, built once for the tests that only read it."""
    warehouse_dir = tmp_path_factory.mktemp("reports") / "warehouse"
    with fresh_source(postgres_dsn) as source:
        return build_report(source, pipeline_runner(source, warehouse_dir), warehouse_dir)


@pytest.fixture
def own_report(source, run_pipeline, warehouse_dir):
    """A report in the test's own warehouse, for a test that rewrites it."""
    return build_report(source, run_pipeline, warehouse_dir)


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
    assert card(html, "total_tokens")["value"] == "150"
    assert str(AGENT) in html and "workflow.failed" in html and "missing_organization_id" in html
    assert html.count('<svg class="chart"') == CHARTS
    assert "http://" not in html.replace("http://www.w3.org/2000/svg", "")
    assert "https://" not in html


def test_the_index_links_each_organisation_and_the_run_states_sizes_and_a_png(built_report):
    report_path, metadata = built_report
    index = (report_path.parent / "index.html").read_text()
    assert f'href="{ORG}.html"' in index

    assert metadata["total_bytes"].value == sum(
        p.stat().st_size for p in report_path.parent.iterdir()
    )
    assert f"{ORG}.html" in metadata["report_sizes"].value


def test_the_dagster_preview_is_a_small_png_of_messages_per_day_with_its_unit(built_report):
    metadata = built_report[1]
    image = re.search(r"data:image/png;base64,([A-Za-z0-9+/=]+)", metadata["preview"].value)
    assert image
    png = base64.b64decode(image[1])
    assert Image.open(io.BytesIO(png)).size == PREVIEW_SIZE == (560, 180)
    assert len(png) < 5 * 1024
    assert f"organisation `{ORG}`, 2025-02-09 to {AS_OF}" in metadata["preview"].value

    figure = preview_figure([dt.date(2025, 3, 9), dt.date(2025, 3, 10)], [2, 4])
    (axes,) = figure.axes
    assert axes.get_ylabel() == "messages"
    assert axes.get_ylim() == (0, pytest.approx(4.4))


def test_every_chart_names_the_unit_of_its_values(built_report):
    html = built_report[0].read_text()

    charts = re.findall(r'<svg class="chart".*?</svg>', html, flags=re.DOTALL)
    units = [re.findall(r'class="unit"[^>]*>([^<]*)<', chart) for chart in charts]
    assert units == [[unit] for unit in CHART_UNITS]


def test_a_report_is_at_most_21_kb_however_busy_the_organisation():
    """The largest report: 30 days, 10 agents, the demo's 20 event types, every quality
    issue, and every number nine digits long. Its size does not depend on event counts."""
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
        cards=[
            {
                "metric": metric,
                "current_value": big + 0.5,
                "previous_value": big + 0.5,
                "change_pct": -12.3,
            }
            for metric, *_ in CARD_METRICS
        ],
        days=[
            {
                "date": as_of - dt.timedelta(days=29 - index),
                **{column: big + index for column in counts},
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
                "avg_response_time": big + 0.5,
                "error_count": big,
                "satisfaction_score": 4.123,
                "rating_count": big,
            }
            for rank in range(1, 11)
        ],
        event_mix=[{"event_type": name, "event_count": big} for name in event_types],
        data_quality=[{"issue": issue, "event_count": big} for issue in issues],
    )

    size = len(render_report(report).encode())

    assert 15 * 1024 < size <= LARGEST_REPORT_KB * 1024


def test_rewriting_a_date_replaces_its_folder_and_leaves_no_temporary_one(
    own_report, lakehouse, warehouse_dir
):
    report_path = own_report[0]
    stale = report_path.parent / "stale.html"
    stale.write_text("old")

    write_reports(lakehouse, warehouse_dir, [dt.date.fromisoformat(AS_OF)])

    assert report_path.exists() and not stale.exists()
    assert [p.name for p in reports_dir(warehouse_dir).iterdir() if p.name.startswith(".")] == []


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
