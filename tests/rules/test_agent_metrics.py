"""agent_metrics (docs/contract.md, section 2): one row per organisation, agent and UTC day."""

import datetime as dt
import uuid

import pytest

ORG = uuid.UUID("00000000-0000-4000-8000-00000000000a")
OTHER_ORG = uuid.UUID("00000000-0000-4000-8000-00000000000b")
AGENT = uuid.UUID("00000000-0000-4000-8000-0000000000a1")
OTHER_AGENT = uuid.UUID("00000000-0000-4000-8000-0000000000a2")
IDLE_AGENT = uuid.UUID("00000000-0000-4000-8000-0000000000a3")
DAY = "2025-03-01"


def agent_event(event_type, agent=AGENT, **fields):
    return {
        "organization_id": ORG,
        "event_type": event_type,
        "resource_type": "agent",
        "resource_id": agent,
        "created_at": f"{DAY} 10:00",
        **fields,
    }


def received(response_time, agent=AGENT):
    return agent_event("message.received", agent, properties={"responseTime": response_time})


def rated(rating, agent=AGENT):
    return agent_event("message.rated", agent, properties={"rating": rating})


def metric(query, column, agent=AGENT):
    """The column's value in the one agent_metrics row of ORG and `agent`."""
    return query(
        f"select {column} from agent_metrics where organization_id = ? and agent_id = ?",
        [ORG, agent],
    )


def test_one_row_per_organisation_agent_and_day(source, run_pipeline, query):
    source.insert(
        agent_event("message.sent"),
        agent_event("message.sent"),
        agent_event("message.sent", OTHER_AGENT),
        agent_event("message.sent", created_at="2025-03-02 10:00"),
    )

    run_pipeline("2025-03-01", "2025-03-02")

    assert query("select organization_id, agent_id, date from agent_metrics order by all") == [
        (ORG, AGENT, dt.date(2025, 3, 1)),
        (ORG, AGENT, dt.date(2025, 3, 2)),
        (ORG, OTHER_AGENT, dt.date(2025, 3, 1)),
    ]


def test_only_counted_agent_events_with_a_resource_id_are_agent_metrics(
    source, run_pipeline, query
):
    source.insert(
        agent_event("message.sent"),
        agent_event("message.sent", None),
        agent_event("message.sent", organization_id=None),
        agent_event(None),
        agent_event("message.sent", OTHER_AGENT, resource_type="workflow"),
        agent_event("message.sent", OTHER_AGENT, resource_type=None),
    )

    run_pipeline(DAY)

    assert query("select organization_id, agent_id, message_count from agent_metrics") == [
        (ORG, AGENT, 1)
    ]


def test_agent_active_in_two_organisations_has_a_row_in_each(source, run_pipeline, query):
    source.insert(
        agent_event("message.sent"),
        agent_event("message.sent", organization_id=OTHER_ORG),
        agent_event("message.received", organization_id=OTHER_ORG),
    )

    run_pipeline(DAY)

    assert query("select organization_id, agent_id, message_count from agent_metrics") == [
        (ORG, AGENT, 1),
        (OTHER_ORG, AGENT, 2),
    ]


def test_conversation_count_counts_the_agents_conversation_started(source, run_pipeline, query):
    source.insert(
        agent_event("conversation.started"),
        agent_event("conversation.started"),
        agent_event("conversation.ended"),
        agent_event("conversation.started", OTHER_AGENT),
    )

    run_pipeline(DAY)

    assert metric(query, "conversation_count") == [(2,)]


def test_message_count_counts_the_agents_message_sent_and_received(source, run_pipeline, query):
    source.insert(
        agent_event("message.sent"),
        agent_event("message.received"),
        agent_event("message.rated"),
        agent_event("message.sent", OTHER_AGENT),
    )

    run_pipeline(DAY)

    assert metric(query, "message_count") == [(2,)]


def test_response_time_mean_and_percentiles_are_over_the_agents_message_received(
    source, run_pipeline, query
):
    source.insert(
        received(300),
        received(100),
        received(400),
        received(200),
        received("50"),
        received(5000, OTHER_AGENT),
        agent_event("message.sent", properties={"responseTime": 9000}),
        agent_event("message.sent", IDLE_AGENT, properties={"responseTime": 9000}),
        received(-3, IDLE_AGENT),
    )

    run_pipeline(DAY)

    columns = "avg_response_time, p50_response_time, p95_response_time"
    # Linear interpolation at ranks (n - 1) * p: 1.5 and 2.85.
    assert metric(query, columns) == [(250.0, 250.0, 385.0)]
    assert metric(query, columns, IDLE_AGENT) == [(None, None, None)]


def test_total_tokens_sums_the_agents_valid_tokens_and_is_zero_when_none(
    source, run_pipeline, query
):
    source.insert(
        agent_event("message.sent", properties={"tokens": 40}),
        agent_event("agent.updated", properties={"tokens": 2}),
        agent_event("message.sent", properties={"tokens": 1.5}),
        agent_event("message.sent", OTHER_AGENT, properties={"tokens": 1000}),
        agent_event("message.sent", OTHER_AGENT),
        agent_event("message.sent", IDLE_AGENT, properties={"tokens": "40"}),
    )

    run_pipeline(DAY)

    assert metric(query, "total_tokens") == [(42,)]
    assert metric(query, "total_tokens", OTHER_AGENT) == [(1000,)]
    assert metric(query, "total_tokens", IDLE_AGENT) == [(0,)]


def test_error_count_counts_the_agents_agent_error_only(source, run_pipeline, query):
    source.insert(
        agent_event("agent.error"),
        agent_event("agent.error"),
        agent_event("workflow.failed"),
        agent_event("agent.error", OTHER_AGENT),
    )

    run_pipeline(DAY)

    assert metric(query, "error_count") == [(2,)]


def test_satisfaction_score_is_the_mean_of_valid_ratings_and_rating_count_their_number(
    source, run_pipeline, query
):
    source.insert(
        rated(5),
        rated(4),
        rated(2.5),
        rated(7),
        rated("5"),
        rated(None),
        agent_event("message.received", properties={"rating": 1}),
        rated(1, OTHER_AGENT),
        agent_event("message.sent", IDLE_AGENT),
        rated(0, IDLE_AGENT),
    )

    run_pipeline(DAY)

    columns = "satisfaction_score, rating_count"
    assert metric(query, columns) == [(pytest.approx(11.5 / 3), 3)]
    assert metric(query, columns, IDLE_AGENT) == [(None, 0)]
