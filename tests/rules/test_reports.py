"""HTML reports (docs/contract.md, sections 7 and 10; docs/reports.md): what a report shows
of a few hand-written events, rendered from `warehouse.reports.load_reports` over the
memory warehouse.

The organisation (no zone: UTC) has 4 messages, 1 conversation, 2 users, 150,000 tokens
costing $0.30, an agent error and a workflow failure in the 30 days ending 2025-03-10,
and 2 messages in the 30 days before. A second organisation, in Los Angeles, has one
message on each side of the periods' boundaries, whose local days differ from UTC's. The
warehouse holds 2025-01-10 to 2025-03-11, so that both periods of 2025-03-10 lie inside it
(section 10: a report never shows a change against a shorter period). The end-to-end
layer (tests/e2e/test_reports.py) writes the files through Dagster and opens them in
Chromium.
"""

import datetime as dt
import math
import re
import uuid

import pytest

from tests.rules.memory_warehouse import MemoryWarehouse, Source
from warehouse.costs import load_prices
from warehouse.report_html import render_dates_index, render_index, render_report, score_text, usd
from warehouse.tables import METRIC_ANOMALIES

ORG = uuid.UUID("00000000-0000-4000-8000-0000000000a1")
LOS_ANGELES = uuid.UUID("00000000-0000-4000-8000-0000000000a3")
KOLKATA = uuid.UUID("00000000-0000-4000-8000-0000000000a4")
AGENT = uuid.UUID("00000000-0000-4000-8000-0000000000b1")
USER_1 = uuid.UUID("00000000-0000-4000-8000-0000000000c1")
USER_2 = uuid.UUID("00000000-0000-4000-8000-0000000000c2")
AS_OF = "2025-03-10"
NEXT_DAY = "2025-03-11"
PREVIOUS_DAY = "2025-02-08"  # the previous period's last day: AS_OF - 30
FIRST_DAY = "2025-01-10"  # the previous period's first day: AS_OF - 59
# the platform's zone table; the organisation is not in it: UTC
ZONE_TABLE = {LOS_ANGELES: "America/Los_Angeles", KOLKATA: "Asia/Kolkata"}
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
    "cost-coverage",
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


def day(text):
    return dt.date.fromisoformat(text)


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


EVENTS = (
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


@pytest.fixture
def priced(source, warehouse, tmp_path):
    """The test's warehouse pricing with PRICES, with the platform's ZONE_TABLE."""
    prices = tmp_path / "prices.csv"
    prices.write_text(PRICES)
    warehouse.prices = load_prices(prices)
    source.timezones = dict(ZONE_TABLE)
    return warehouse


@pytest.fixture(scope="module")
def built_once(tmp_path_factory):
    """The warehouse with EVENTS, 2025-01-10 to 2025-03-11 (UTC day 03-11 is in, 03-12
    not), materialised once for the module."""
    prices = tmp_path_factory.mktemp("prices") / "prices.csv"
    prices.write_text(PRICES)
    source = Source(timezones=dict(ZONE_TABLE))
    source.insert(*EVENTS)
    warehouse = MemoryWarehouse(source, prices=load_prices(prices))
    warehouse.materialize(FIRST_DAY, NEXT_DAY)
    return warehouse


@pytest.fixture
def built(built_once):
    """The test's own copy of `built_once`, to change as it likes."""
    return built_once.copy()


def reports_of(warehouse, as_of):
    return warehouse.reports([day(as_of)])[day(as_of)]


def report_of(warehouse, as_of, organization):
    (found,) = [
        report
        for report in reports_of(warehouse, as_of)
        if report.organization_id == str(organization)
    ]
    return found


def html_of(warehouse, as_of, organization):
    return render_report(report_of(warehouse, as_of, organization))


def card(html: str, metric: str) -> dict[str, str]:
    block = re.search(rf'data-metric="{metric}">(.*?)</div>\n</div>', html, re.DOTALL)
    assert block, metric
    fields = dict(re.findall(r'class="(value|previous)">([^<]*)<', block.group(1)))
    change = re.search(r'class="change (\w+)"><span class="arrow">(.)</span> ([^<]*)<', block[1])
    assert change, block[1]
    return {**fields, "tone": change[1], "arrow": change[2], "change": change[3]}


def test_a_report_shows_every_section_and_the_period_comparison_in_its_cards(built):
    html = html_of(built, AS_OF, ORG)

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


def test_a_report_counts_the_organisations_own_local_days_and_names_its_zone(built):
    html = html_of(built, AS_OF, LOS_ANGELES)

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
    index = render_index(day(AS_OF), reports_of(built, AS_OF))
    assert f'{LOS_ANGELES}</a></td><td class="zone">America/Los_Angeles</td>' in index
    assert f'{ORG}</a></td><td class="zone">UTC</td>' in index  # not in the zone table


def test_a_local_day_waiting_for_the_next_utc_day_is_announced_and_the_window_ends_before_it(
    built,
):
    # on 03-11, Los Angeles' local 03-11 needs UTC 03-12, which is not in; its local 03-10
    # had UTC 03-11. The UTC organisation's 03-11 is complete with its UTC day.
    waiting = report_of(built, NEXT_DAY, LOS_ANGELES)
    waiting_html = render_report(waiting)

    assert 'class="waiting"' in waiting_html
    assert (
        "The local days after 2025-03-10 up to 2025-03-11 are not complete yet in "
        "America/Los_Angeles"
    ) in waiting_html
    assert 'class="waiting"' not in html_of(built, AS_OF, LOS_ANGELES)
    assert 'class="waiting"' not in html_of(built, NEXT_DAY, ORG)
    index = render_index(day(NEXT_DAY), reports_of(built, NEXT_DAY))
    assert "For 1 organisation west of UTC the window ends the day before" in index
    # the waiting day is left out, never read as zero; the day before keeps its message
    assert [(row["date"], row["total_messages"]) for row in waiting.days[-2:]] == [
        (day("2025-03-09"), 0),
        (day("2025-03-10"), 1),
    ]
    assert report_of(built, NEXT_DAY, ORG).days[-1]["date"] == day(NEXT_DAY)


def test_a_reports_data_quality_covers_the_utc_days_up_to_its_date_even_when_its_window_ends_before(
    built,
):
    # platform-wide UTC counts: Los Angeles' window ends on 03-10, its data quality does not
    built.source.insert(
        {**agent_event("message.sent", f"{NEXT_DAY} 12:00"), "organization_id": None}
    )
    built.materialize(NEXT_DAY)
    waiting = report_of(built, NEXT_DAY, LOS_ANGELES)

    assert waiting.last_day == day(AS_OF)
    assert {row["issue"]: row["event_count"] for row in waiting.data_quality} == {
        "missing_organization_id": 2
    }
    assert waiting.data_quality == report_of(built, NEXT_DAY, ORG).data_quality
    assert (
        f"over the 30 UTC days ending on {NEXT_DAY}, all organisations together"
        in render_report(waiting)
    )


def test_the_cost_shows_beside_the_tokens_in_the_cards_the_top_agents_and_the_index(built):
    html = html_of(built, AS_OF, ORG)

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
    index = render_index(day(AS_OF), reports_of(built, AS_OF))
    assert "<td>150,000</td><td>$0.30</td>" in index


def _anomaly(organization_id, day_text, metric, value, median, score, direction):
    return {
        "organization_id": str(organization_id),
        "date": day(day_text),
        "metric": metric,
        "value": value,
        "median": median,
        "mad": 0.0,
        "score": score,
        "direction": direction,
    }


def test_a_report_lists_its_organisations_anomalies_of_the_period(built):
    other = uuid.UUID("00000000-0000-4000-8000-0000000000a2")
    rows = {
        "2025-03-09": [
            _anomaly(ORG, "2025-03-09", "total_messages", 3.0, 40.0, -5.31, "down"),
            _anomaly(ORG, "2025-03-09", "error_rate", 0.5, 0.0, math.inf, "up"),
            _anomaly(other, "2025-03-09", "error_count", 9.0, 1.0, 8.0, "up"),
        ],
        "2025-02-01": [_anomaly(ORG, "2025-02-01", "total_tokens", 1.0, 9.0, -4.5, "down")],
    }
    for day_text, day_rows in rows.items():
        built.replace_partition(METRIC_ANOMALIES, day(day_text), day_rows)

    section = re.search(
        r'<section id="anomalies">.*?</section>', html_of(built, AS_OF, ORG), re.DOTALL
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


def test_every_chart_names_the_unit_of_its_values(built):
    html = html_of(built, AS_OF, ORG)

    charts = re.findall(r'<svg class="chart".*?</svg>', html, flags=re.DOTALL)
    units = [re.findall(r'class="unit"[^>]*>([^<]*)<', chart) for chart in charts]
    assert units == [[unit] for unit in CHART_UNITS]


# One test per rule of docs/contract.md, section 10, "Reports".


def test_a_report_covers_the_latest_complete_local_period_up_to_its_date(built):
    """Each organisation's latest complete window up to the report's date: west of UTC,
    the day before until the next UTC day is in."""
    los_angeles, utc = report_of(built, NEXT_DAY, LOS_ANGELES), report_of(built, NEXT_DAY, ORG)
    assert (los_angeles.last_day, los_angeles.pending) == (day(AS_OF), True)
    assert (utc.last_day, utc.pending) == (day(NEXT_DAY), False)

    built.materialize(NEXT_DAY, "2025-03-12")  # the late window, now that UTC 03-12 is in

    los_angeles = report_of(built, NEXT_DAY, LOS_ANGELES)
    assert (los_angeles.last_day, los_angeles.pending) == (day(NEXT_DAY), False)
    assert los_angeles.days[-1]["date"] == day(NEXT_DAY)


def test_a_report_says_which_local_days_it_covers(built):
    los_angeles, utc = report_of(built, NEXT_DAY, LOS_ANGELES), report_of(built, NEXT_DAY, ORG)

    assert (los_angeles.window_first_day, los_angeles.last_day) == (day("2025-02-09"), day(AS_OF))
    assert (utc.window_first_day, utc.last_day) == (day("2025-02-10"), day(NEXT_DAY))
    assert [row["date"] for row in utc.days] == [
        day("2025-02-10") + dt.timedelta(days=offset) for offset in range(30)
    ]
    assert (
        "The 30 days from 2025-02-09 to 2025-03-10, the organisation's own calendar days in"
        in render_report(los_angeles)
    )
    index = render_index(day(NEXT_DAY), [los_angeles, utc])
    assert f'{LOS_ANGELES}</a></td><td class="zone">America/Los_Angeles</td>' in index
    assert '<td class="covers">2025-02-09 to 2025-03-10</td>' in index
    assert '<td class="covers">2025-02-10 to 2025-03-11</td>' in index


def test_a_report_blanks_the_days_before_the_warehouses_first_day(source, priced):
    source.insert(*EVENTS)
    priced.materialize("2025-02-20", AS_OF)  # the first day is 02-20

    report = report_of(priced, AS_OF, ORG)
    messages = [(row["date"], row["total_messages"]) for row in report.days]
    # 02-09 to 02-19 lie outside the warehouse: no data, never zero; from 02-20 on, zeros
    # are days without a message
    assert messages[:12] == [
        *((day("2025-02-09") + dt.timedelta(days=offset), None) for offset in range(11)),
        (day("2025-02-20"), 0),
    ]
    assert messages[-1] == (day(AS_OF), 4)
    assert report.before_first_day
    assert "No data before 2025-02-20, the warehouse's first day" in render_report(report)


def test_a_report_shows_no_change_against_a_shorter_period(source, priced):
    source.insert(*EVENTS)
    # one day short: the period before 03-10 (01-10 to 02-08) begins before the first day
    priced.materialize("2025-01-11", AS_OF)

    report = report_of(priced, AS_OF, ORG)
    assert not report.comparable
    html = render_report(report)
    assert card(html, "total_messages") == {
        "value": "4",
        "previous": "no data",
        "change": "n/a",
        "arrow": "■",
        "tone": "neutral",
    }
    assert (
        "No data before 2025-01-11, the warehouse's first day: the 30 days before this "
        "period begin earlier, so no change is shown."
    ) in html
    index = render_index(day(AS_OF), [report])
    assert "▲" not in index and "+100.0 %" not in index


def test_a_period_is_shorter_when_its_first_local_day_overlaps_a_day_before_the_first_day(
    source, priced
):
    """Counting the UTC days a local day overlaps: with the first day 01-10, Kolkata's
    local 01-10 (UTC+5:30) begins on UTC 01-09, outside the warehouse."""
    source.insert(
        *EVENTS,
        {**agent_event("message.sent", f"{PREVIOUS_DAY} 09:00"), "organization_id": KOLKATA},
        {**agent_event("message.sent"), "organization_id": KOLKATA},
    )
    priced.materialize(FIRST_DAY, NEXT_DAY)

    assert report_of(priced, AS_OF, ORG).comparable
    assert report_of(priced, AS_OF, LOS_ANGELES).comparable  # its 01-10 begins 08:00 UTC
    kolkata = report_of(priced, AS_OF, KOLKATA)
    assert not kolkata.comparable
    assert card(render_report(kolkata), "total_messages")["change"] == "n/a"


def test_a_report_states_the_share_of_its_tokens_that_had_a_price(source, priced):
    source.insert(
        agent_event("message.sent", tokens=150_000, model="gpt-x"),
        agent_event("message.sent", tokens=50_000, model="no-such-model"),
        {**agent_event("message.sent"), "organization_id": LOS_ANGELES},
    )
    priced.materialize("2025-03-09", NEXT_DAY)

    coverage = re.search(r'<p class="coverage">(.*?)</p>', html_of(priced, AS_OF, ORG), re.DOTALL)
    assert coverage
    assert coverage[1] == (
        "75.0 % of the organisation's tokens over the 30 UTC days ending on 2025-03-10 had a "
        "price (150,000 of 200,000); the costs above leave the others out."
    )
    assert '<p class="coverage">No tokens in the period.</p>' in html_of(priced, AS_OF, LOS_ANGELES)


def test_the_index_of_dates_and_each_dates_index_link_the_report_dates():
    """docs/reports.md: the index of every date, newest first, each linking its folder; a
    date's index links the dates before and after it and the index of every date (the
    files are tested end to end, tests/e2e/test_reports.py)."""
    dates = [day("2025-03-10"), day("2025-03-09"), day("2025-03-08")]
    assert re.findall(r'href="([^"]+)"', render_dates_index(dates)) == [
        "2025-03-10/index.html",
        "2025-03-09/index.html",
        "2025-03-08/index.html",
    ]
    assert "No report yet." in render_dates_index([])

    index = render_index(day("2025-03-09"), [], day("2025-03-08"), day("2025-03-10"))
    assert re.findall(r'href="([^"]+)"', index) == [
        "../index.html",
        "../2025-03-08/index.html",
        "../2025-03-10/index.html",
    ]
    assert re.findall(r'href="([^"]+)"', render_index(day("2025-03-10"), [])) == ["../index.html"]
