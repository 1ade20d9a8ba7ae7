"""Insight tables and macros (docs/contract.md, section 3), on small hand-built event sets.

Every test inserts a few events, materialises the days it reads (every table, computed in
memory) and queries them through the views and macros of `analytics.duckdb`. The macros
read complete days only (section 10): a test materialises every day its ranges hold,
their previous periods included, unless the range lies before the warehouse's first day.
"""

import datetime as dt
import uuid

import duckdb
import pytest

ORG = uuid.UUID("00000000-0000-4000-8000-0000000000a1")
OTHER_ORG = uuid.UUID("00000000-0000-4000-8000-0000000000a2")
AGENT = uuid.UUID("00000000-0000-4000-8000-0000000000b1")
USER_1 = uuid.UUID("00000000-0000-4000-8000-0000000000c1")
USER_2 = uuid.UUID("00000000-0000-4000-8000-0000000000c2")


def agent_id(number: int) -> uuid.UUID:
    return uuid.UUID(f"00000000-0000-4000-8000-{number:012x}")


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


@pytest.mark.parametrize(
    ("window", "current_days", "previous_days"),
    [
        (1, ["2025-03-10"], ["2025-03-09"]),
        (7, ["2025-03-04", "2025-03-10"], ["2025-02-25", "2025-03-03"]),
        (30, ["2025-02-09", "2025-03-10"], ["2025-01-10", "2025-02-08"]),
    ],
)
def test_previous_period_is_the_same_length_ending_the_day_before_the_current_starts(
    source, run_pipeline, query, window, current_days, previous_days
):
    outside = [
        dt.date.fromisoformat(previous_days[0]) - dt.timedelta(days=1),
        dt.date(2025, 3, 11),
    ]
    source.insert(
        *(event(day) for day in current_days),
        *(event(day) for day in previous_days),
        *(event(day) for day in previous_days),
        *(event(str(day)) for day in outside),
    )
    run_pipeline(str(outside[0]), "2025-03-11")

    current, previous, change = comparison(query, "2025-03-10", window, "total_messages")
    assert (current, previous) == (len(current_days), 2 * len(previous_days))
    assert change == pytest.approx(-50.0)


def test_a_period_crossing_a_month_turn_counts_both_months(source, run_pipeline, query):
    source.insert(event("2025-02-28"), event("2025-03-01"), event("2025-03-02"))
    run_pipeline("2025-02-20", "2025-03-02")

    assert comparison(query, "2025-03-02", 7, "total_messages")[0] == 3


def test_change_pct_is_the_relative_change_in_percent(source, run_pipeline, query):
    source.insert(event("2025-03-01"), event("2025-03-01"), *[event("2025-03-02")] * 3)
    run_pipeline("2025-03-01", "2025-03-02")

    assert comparison(query, "2025-03-02", 1, "total_messages") == (3.0, 2.0, 50.0)


def test_change_pct_is_null_when_the_previous_value_is_zero(source, run_pipeline, query):
    source.insert(event("2025-03-02"))
    run_pipeline("2025-03-01", "2025-03-02")

    assert comparison(query, "2025-03-02", 1, "total_messages") == (1.0, 0.0, None)


def test_change_pct_is_null_when_the_previous_value_is_null(source, run_pipeline, query):
    source.insert(
        event("2025-03-01"),
        event("2025-03-02", "message.received", properties={"responseTime": 100}),
    )
    run_pipeline("2025-03-01", "2025-03-02")

    assert comparison(query, "2025-03-02", 1, "avg_response_time") == (100.0, None, None)


def test_an_organisation_only_in_the_previous_period_gets_zero_counts_and_null_averages(
    source, run_pipeline, query
):
    source.insert(
        event("2025-03-01", "message.received", properties={"responseTime": 100}),
        event("2025-03-02", organization_id=OTHER_ORG),
    )
    run_pipeline("2025-03-01", "2025-03-02")

    assert comparison(query, "2025-03-02", 1, "total_messages") == (0.0, 1.0, -100.0)
    assert comparison(query, "2025-03-02", 1, "avg_response_time") == (None, 100.0, None)
    assert comparison(query, "2025-03-02", 1, "unique_users")[0] == 0.0


def test_unique_users_over_a_period_are_distinct_not_summed(source, run_pipeline, query):
    source.insert(
        event("2025-03-01", user_id=USER_1),
        event("2025-03-02", user_id=USER_1),
        event("2025-03-02", user_id=USER_2),
    )
    run_pipeline("2025-03-01", "2025-03-02")

    assert comparison(query, "2025-03-02", 7, "unique_users")[0] == 2
    assert query("select sum(unique_users) from daily_metrics") == [(3,)]


def test_agent_count_over_a_period_is_distinct_agents_not_summed(source, run_pipeline, query):
    source.insert(
        agent_event("2025-03-01", agent_id(1)),
        agent_event("2025-03-02", agent_id(1)),
        agent_event("2025-03-02", agent_id(2)),
    )
    run_pipeline("2025-03-01", "2025-03-02")

    assert comparison(query, "2025-03-02", 7, "agent_count")[0] == 2


def test_percentiles_and_averages_over_a_period_are_over_all_values_not_averaged(
    source, run_pipeline, query
):
    received = "message.received"
    source.insert(
        event("2025-03-01", received, properties={"responseTime": 100}),
        *(event("2025-03-02", received, properties={"responseTime": ms}) for ms in (200, 300, 400)),
    )
    run_pipeline("2025-03-01", "2025-03-02")

    # all four values: mean 250 (the mean of daily means would be 200); p95 at rank 2.85
    assert comparison(query, "2025-03-02", 7, "avg_response_time")[0] == 250.0
    assert comparison(query, "2025-03-02", 7, "p95_response_time")[0] == pytest.approx(385.0)


def test_top_agents_rank_by_messages_then_conversations_then_agent_id_text(
    source, run_pipeline, query
):
    busiest, tie_more_conversations, tie_low_id, tie_high_id = (
        agent_id(0x50),
        agent_id(0x40),
        agent_id(0x0A),
        agent_id(0x0B),
    )
    day = "2025-03-01"
    source.insert(
        *[agent_event(day, busiest)] * 3,
        *[agent_event(day, tie_more_conversations)] * 2,
        agent_event(day, tie_more_conversations, "conversation.started"),
        *[agent_event(day, tie_high_id)] * 2,
        *[agent_event(day, tie_low_id)] * 2,
    )
    run_pipeline(day)

    assert query(
        "select rank, agent_id, message_count, conversation_count from top_agents"
        " where as_of_date = ? order by rank",
        [day],
    ) == [
        (1, busiest, 3, 0),
        (2, tie_more_conversations, 2, 1),
        (3, tie_low_id, 2, 0),
        (4, tie_high_id, 2, 0),
    ]


def test_top_agents_keeps_the_first_ten_of_each_organisation(source, run_pipeline, query):
    source.insert(*(agent_event("2025-03-01", agent_id(n)) for n in range(1, 13)))
    run_pipeline("2025-03-01")

    assert query("select count(*), max(rank) from top_agents") == [(10, 10)]
    assert query("select count(*) from top_agents_between('2025-03-01', '2025-03-01', 3)") == [(3,)]


def test_top_agents_cover_the_trailing_thirty_days(source, run_pipeline, query):
    source.insert(
        agent_event("2025-01-31", AGENT, properties={"tokens": 1000}),
        agent_event("2025-02-01", AGENT, properties={"tokens": 10}),
        agent_event("2025-03-02", AGENT, "message.received", properties={"responseTime": 300}),
        agent_event("2025-03-02", AGENT, "message.rated", properties={"rating": 4}),
        agent_event("2025-03-02", AGENT, "agent.error"),
    )
    run_pipeline("2025-01-31", "2025-03-02")

    assert query(
        "select window_days, message_count, total_tokens, avg_response_time, error_count,"
        " satisfaction_score, rating_count from top_agents where as_of_date = '2025-03-02'"
    ) == [(30, 2, 10, 300.0, 1, 4.0, 1)]


def test_an_agent_active_in_two_organisations_is_reported_per_organisation(
    source, run_pipeline, query
):
    source.insert(
        agent_event("2025-03-01", AGENT),
        agent_event("2025-03-01", AGENT, organization_id=OTHER_ORG),
        agent_event("2025-03-02", AGENT, organization_id=OTHER_ORG),
    )
    run_pipeline("2025-03-01", "2025-03-02")

    assert query(
        "select organization_id, message_count"
        f" from agent_analytics('{AGENT}', '2025-03-01', '2025-03-02') order by 1"
    ) == [(ORG, 1), (OTHER_ORG, 2)]
    assert query(
        "select organization_id, rank from top_agents where as_of_date = '2025-03-02' order by 1"
    ) == [(ORG, 1), (OTHER_ORG, 1)]


def test_agent_analytics_percentiles_are_over_the_whole_period(source, run_pipeline, query):
    received = "message.received"
    source.insert(
        agent_event("2025-03-01", AGENT, received, properties={"responseTime": 100}),
        agent_event("2025-03-02", AGENT, received, properties={"responseTime": 200}),
        agent_event("2025-03-02", AGENT, received, properties={"responseTime": 300}),
        agent_event("2025-03-02", AGENT, received, properties={"responseTime": 400}),
    )
    run_pipeline("2025-03-01", "2025-03-02")

    assert query(
        "select avg_response_time, p50_response_time, p95_response_time"
        f" from agent_analytics('{AGENT}', '2025-03-01', '2025-03-02')"
    ) == [(250.0, 250.0, pytest.approx(385.0))]


def test_usage_trends_have_one_zero_filled_row_per_day_of_the_range(source, run_pipeline, query):
    source.insert(event("2025-03-01", user_id=USER_1), event("2025-03-03"))
    run_pipeline("2025-03-01", "2025-03-03")

    # 2025-02-28 lies before the warehouse's first day: complete, and empty
    assert query(
        "select date, total_messages, unique_users from usage_trends('2025-02-28', '2025-03-03')"
    ) == [
        (dt.date(2025, 2, 28), 0, 0),
        (dt.date(2025, 3, 1), 1, 1),
        (dt.date(2025, 3, 2), 0, 0),
        (dt.date(2025, 3, 3), 1, 0),
    ]


def test_event_counts_between_add_up_each_type_over_the_range(source, run_pipeline, query):
    source.insert(
        event("2025-03-01"), event("2025-03-02"), event("2025-03-02", "experiment.viewed")
    )
    run_pipeline("2025-03-01", "2025-03-02")

    assert query(
        "select event_type, event_count from event_counts_between('2025-03-01', '2025-03-02')"
    ) == [
        ("experiment.viewed", 1),
        ("message.sent", 2),
    ]


def test_overview_of_seven_days_is_period_comparison_for_window_seven_plus_its_cost(
    source, run_pipeline, query
):
    source.insert(
        *(event(f"2025-03-{day:02d}", user_id=USER_1) for day in range(1, 15)),
        event("2025-03-09", "message.received", properties={"responseTime": 120}),
    )
    run_pipeline("2025-03-01", "2025-03-14")

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


def test_macros_give_an_empty_result_for_a_range_without_data(source, run_pipeline, query):
    source.insert(event("2025-03-01"))
    run_pipeline("2025-03-01")

    # 2024 lies before the warehouse's first day: complete, and empty
    assert query("select * from overview('2024-01-01', '2024-01-07')") == []
    assert query("select * from usage_trends('2024-01-01', '2024-01-07')") == []
    assert query(f"select * from agent_analytics('{AGENT}', '2024-01-01', '2024-01-07')") == []


@pytest.mark.parametrize(
    "statement",
    [
        "select * from overview('2025-13-01', '2025-03-07')",
        "select * from overview('2025-03-07', '2025-03-01')",
        "select * from agent_analytics('not-a-uuid', '2025-03-01', '2025-03-07')",
    ],
)
def test_a_bad_macro_argument_fails_with_duckdbs_error(source, run_pipeline, query, statement):
    source.insert(event("2025-03-01"))
    # every day the statements name is complete: the error is the argument's, not a refusal
    run_pipeline("2025-03-01", "2025-03-07")

    with pytest.raises(duckdb.Error):
        query(statement)
