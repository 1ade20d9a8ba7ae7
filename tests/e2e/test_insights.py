"""The insight assets end to end (docs/contract.md, sections 3 and 10): `period_comparison`
and `top_agents` materialised through Dagster over the daily tables, a week of as-of dates
per query, and re-run after late events.

The rules of the insight tables and macros are tested on the functional core in
`tests/rules/test_insights.py`; the smoke tests here are two of them, over more than a
week of as-of dates, run through Dagster and read from the published catalog.
"""

import datetime as dt
import uuid

import pytest

from warehouse.insights import as_of_chunks
from warehouse.tables import DAILY_TABLES

ORG = uuid.UUID("00000000-0000-4000-8000-0000000000a1")
AGENT = uuid.UUID("00000000-0000-4000-8000-0000000000b1")
USER_1 = uuid.UUID("00000000-0000-4000-8000-0000000000c1")
# period_comparison and the daily tables under it, which the macros read too; the test of
# top_agents says so. Every daily table is run: insights and macros read only complete
# days, which need them all.
EVERY_DAILY_TABLE = tuple(spec.name for spec in DAILY_TABLES)
pytestmark = pytest.mark.assets("period_comparison", *EVERY_DAILY_TABLE)


def event(created_at, event_type="message.sent", organization_id=ORG, **fields):
    return {
        "organization_id": organization_id,
        "event_type": event_type,
        "created_at": f"{created_at} 12:00",
        **fields,
    }


def agent_event(created_at, agent, event_type="message.sent", **fields):
    return event(created_at, event_type, resource_type="agent", resource_id=agent, **fields)


def comparison(query, as_of, window, metric, organization_id=ORG):
    rows = query(
        "select current_value, previous_value, change_pct from period_comparison"
        " where organization_id = ? and as_of_date = ? and window_days = ? and metric = ?",
        [organization_id, as_of, window, metric],
    )
    assert len(rows) == 1, rows
    return rows[0]


@pytest.mark.assets("top_agents", *EVERY_DAILY_TABLE)
def test_top_agents_cover_the_trailing_thirty_days(source, run_pipeline, query):
    source.insert(
        agent_event("2025-01-31", AGENT, properties={"tokens": 1000}),
        agent_event("2025-02-01", AGENT, properties={"tokens": 10}),
        agent_event("2025-03-02", AGENT, "message.received", properties={"responseTime": 300}),
        agent_event("2025-03-02", AGENT, "message.rated", properties={"rating": 4}),
        agent_event("2025-03-02", AGENT, "agent.error"),
    )
    assert run_pipeline("2025-01-31", "2025-03-02").success

    assert query(
        "select window_days, message_count, total_tokens, avg_response_time, error_count,"
        " satisfaction_score, rating_count from top_agents where as_of_date = '2025-03-02'"
    ) == [(30, 2, 10, 300.0, 1, 4.0, 1)]


def test_overview_of_seven_days_is_period_comparison_for_window_seven_plus_its_cost(
    source, run_pipeline, query
):
    source.insert(
        *(event(f"2025-03-{day:02d}", user_id=USER_1) for day in range(1, 15)),
        event("2025-03-09", "message.received", properties={"responseTime": 120}),
    )
    assert run_pipeline("2025-03-01", "2025-03-14").success

    # [03-08, 03-14]: 7 sent and 1 received, one user, one latency; [03-01, 03-07]: 7 sent
    expected = [
        (ORG, dt.date(2025, 3, 14), 7, metric, current, previous, change)
        for metric, current, previous, change in [
            ("agent_count", 0.0, 0.0, None),
            ("avg_response_time", 120.0, None, None),
            ("error_count", 0.0, 0.0, None),
            ("p95_response_time", 120.0, None, None),
            ("total_conversations", 0.0, 0.0, None),
            ("total_messages", 8.0, 7.0, pytest.approx(100 / 7)),
            ("total_tokens", 0.0, 0.0, None),
            ("unique_users", 1.0, 1.0, 0.0),
            ("workflow_executions", 0.0, 0.0, None),
        ]
    ]
    published = query(
        "select * from period_comparison where as_of_date = '2025-03-14' and window_days = 7"
        " order by metric"
    )
    assert published == expected
    # overview adds the cost beside the tokens, one more metric row (no model: no cost)
    cost = (ORG, dt.date(2025, 3, 14), 7, "total_cost_usd", 0.0, 0.0, None)
    assert query("select * from overview('2025-03-08', '2025-03-14') order by metric") == sorted(
        [*expected, cost], key=lambda row: row[3]
    )


def test_late_events_change_a_later_as_of_date_after_a_rerun(source, run_pipeline, query):
    source.insert(event("2025-03-01"), event("2025-03-03"))
    assert run_pipeline("2025-03-01", "2025-03-03").success
    assert comparison(query, "2025-03-03", 7, "total_messages")[0] == 2

    source.insert(event("2025-03-02"))
    assert run_pipeline("2025-03-02", "2025-03-03").success

    assert comparison(query, "2025-03-03", 7, "total_messages")[0] == 3


@pytest.mark.parametrize(
    ("days", "size", "expected_lengths"),
    [(1, 7, [1]), (7, 7, [7]), (8, 7, [7, 1]), (365, 7, [7] * 52 + [1])],
)
def test_a_range_of_as_of_dates_is_computed_in_bounded_chunks_of_consecutive_dates(
    days, size, expected_lengths
):
    first = dt.date(2025, 1, 1)
    dates = [first + dt.timedelta(days=offset) for offset in reversed(range(days))]
    chunks = list(as_of_chunks(dates, size))
    assert [len(chunk) for chunk in chunks] == expected_lengths
    assert [day for chunk in chunks for day in chunk] == sorted(dates)
