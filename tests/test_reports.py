"""HTML reports, built through Dagster from a few hand-written events and opened in Chromium.

The organisation has 4 messages, 1 conversation, 2 users, an agent error and a workflow
failure in the 30 days ending 2025-03-10, and 2 messages in the 30 days before.
"""

import base64
import datetime as dt
import re
import uuid

import pytest

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
def built_report(source, run_pipeline, warehouse_dir):
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
    image = re.search(r"data:image/png;base64,([A-Za-z0-9+/=]+)", metadata["preview"].value)
    assert image and base64.b64decode(image[1]).startswith(b"\x89PNG\r\n\x1a\n")


def test_rewriting_a_date_replaces_its_folder_and_leaves_no_temporary_one(
    built_report, lakehouse, warehouse_dir
):
    report_path = built_report[0]
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
