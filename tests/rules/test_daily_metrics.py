"""daily_metrics (docs/contract.md, section 2): one row per organisation and UTC day, column
by column."""

import datetime as dt
import uuid

import pytest

ORG = uuid.UUID("00000000-0000-4000-8000-00000000000a")
OTHER_ORG = uuid.UUID("00000000-0000-4000-8000-00000000000b")
AGENT = uuid.UUID("00000000-0000-4000-8000-0000000000a1")
OTHER_AGENT = uuid.UUID("00000000-0000-4000-8000-0000000000a2")
USER = uuid.UUID("00000000-0000-4000-8000-0000000000c1")
OTHER_USER = uuid.UUID("00000000-0000-4000-8000-0000000000c2")
DAY = "2025-03-01"


def event(event_type, **fields):
    return {
        "organization_id": ORG,
        "event_type": event_type,
        "created_at": f"{DAY} 10:00",
        **fields,
    }


def received(response_time):
    return event("message.received", properties={"responseTime": response_time})


def metric(query, column):
    """The column's value in the one daily_metrics row of ORG."""
    return query(f"select {column} from daily_metrics where organization_id = ?", [ORG])


def test_one_row_per_organisation_and_day_with_a_counted_event(source, run_pipeline, query):
    source.insert(
        event("message.sent"),
        event("message.sent", created_at="2025-03-02 10:00"),
        event("message.sent", organization_id=OTHER_ORG),
        # An organisation whose only event has no type has no counted event, so no row.
        event(None, organization_id=uuid.UUID(int=99)),
    )

    run_pipeline("2025-03-01", "2025-03-02")

    assert query("select organization_id, date from daily_metrics order by all") == [
        (ORG, dt.date(2025, 3, 1)),
        (ORG, dt.date(2025, 3, 2)),
        (OTHER_ORG, dt.date(2025, 3, 1)),
    ]


def test_total_messages_counts_message_sent_and_message_received(source, run_pipeline, query):
    source.insert(
        event("message.sent"),
        event("message.sent"),
        event("message.received"),
        event("message.rated"),
        event("conversation.started"),
    )

    run_pipeline(DAY)

    assert metric(query, "total_messages") == [(3,)]


def test_total_conversations_counts_conversation_started(source, run_pipeline, query):
    source.insert(
        event("conversation.started"),
        event("conversation.started"),
        event("conversation.ended"),
        event("message.sent"),
    )

    run_pipeline(DAY)

    assert metric(query, "total_conversations") == [(2,)]


def test_total_tokens_sums_valid_tokens_over_all_events_and_is_zero_when_none(
    source, run_pipeline, query
):
    source.insert(
        event("message.sent", properties={"tokens": 100}),
        event("message.received", properties={"tokens": 20}),
        event("workflow.executed", properties={"tokens": 3}),
        event("message.sent", properties={"tokens": "1000"}),
        event("message.sent", properties={"tokens": 2.5}),
        event("message.sent", properties={"tokens": -40}),
        event("message.sent"),
        event("message.sent", organization_id=OTHER_ORG, properties={"tokens": "12"}),
        event("message.sent", organization_id=OTHER_ORG),
    )

    run_pipeline(DAY)

    assert query("select organization_id, total_tokens from daily_metrics order by all") == [
        (ORG, 123),
        (OTHER_ORG, 0),
    ]


def test_unique_users_are_distinct_non_null_user_ids(source, run_pipeline, query):
    source.insert(
        event("message.sent", user_id=USER),
        event("message.received", user_id=USER),
        event("user.logged_in", user_id=OTHER_USER),
        event("message.sent", user_id=None),
        event("message.sent", user_id=None),
    )

    run_pipeline(DAY)

    assert metric(query, "unique_users") == [(2,)]


def test_avg_response_time_is_the_mean_of_valid_response_times_on_message_received(
    source, run_pipeline, query
):
    source.insert(
        received(100),
        received(300),
        received("5000"),
        received(-1),
        event("message.received"),
        event("message.sent", properties={"responseTime": 9000}),
    )

    run_pipeline(DAY)

    assert metric(query, "avg_response_time") == [(200.0,)]


def test_response_time_percentiles_interpolate_linearly_and_are_null_when_none(
    source, run_pipeline, query
):
    source.insert(
        received(400),
        received(100),
        received(300),
        received(200),
        event("message.sent", organization_id=OTHER_ORG, properties={"responseTime": 100}),
        {**received("100"), "organization_id": OTHER_ORG},
        {**event("message.received"), "organization_id": OTHER_ORG},
    )

    run_pipeline(DAY)

    # Ranks (n - 1) * p: 1.5 between 200 and 300; 2.85 between 300 and 400.
    assert query(
        "select organization_id, avg_response_time, p50_response_time, p95_response_time"
        " from daily_metrics order by all"
    ) == [(ORG, 250.0, 250.0, 385.0), (OTHER_ORG, None, None, None)]


def test_agent_count_is_distinct_non_null_resource_ids_of_agent_events(source, run_pipeline, query):
    source.insert(
        event("message.sent", resource_type="agent", resource_id=AGENT),
        event("message.received", resource_type="agent", resource_id=AGENT),
        event("agent.deployed", resource_type="agent", resource_id=OTHER_AGENT),
        event("agent.error", resource_type="agent", resource_id=None),
        event("workflow.executed", resource_type="workflow", resource_id=uuid.UUID(int=7)),
    )

    run_pipeline(DAY)

    assert metric(query, "agent_count") == [(2,)]


def test_workflow_executions_counts_workflow_executed(source, run_pipeline, query):
    source.insert(
        event("workflow.executed"),
        event("workflow.executed"),
        event("workflow.completed"),
        event("workflow.created"),
    )

    run_pipeline(DAY)

    assert metric(query, "workflow_executions") == [(2,)]


def test_error_count_counts_agent_error_and_workflow_failed(source, run_pipeline, query):
    source.insert(
        event("agent.error"),
        event("workflow.failed"),
        event("workflow.failed"),
        event("workflow.completed"),
    )

    run_pipeline(DAY)

    assert metric(query, "error_count") == [(3,)]


def test_event_count_counts_every_counted_event_unknown_types_included(source, run_pipeline, query):
    source.insert(
        event("message.sent"),
        event("document.uploaded"),
        event("billing.invoice_paid"),
        event(None),
        event("message.sent", organization_id=None),
    )

    run_pipeline(DAY)

    assert metric(query, "event_count") == [(3,)]


@pytest.mark.parametrize(
    "uncounted",
    [
        {"organization_id": None},
        {"event_type": None},
    ],
    ids=["without organization", "without event type"],
)
def test_events_without_organization_or_type_are_left_out_of_every_metric(
    source, run_pipeline, query, uncounted
):
    properties = {"tokens": 50, "responseTime": 100}
    source.insert(
        event("message.sent"),
        {
            **event(
                "message.received",
                user_id=USER,
                resource_type="agent",
                resource_id=AGENT,
                properties=properties,
            ),
            **uncounted,
        },
    )

    run_pipeline(DAY)

    assert query(
        "select organization_id, total_messages, total_tokens, unique_users, avg_response_time,"
        " agent_count, event_count from daily_metrics"
    ) == [(ORG, 1, 0, 0, None, 0, 1)]
