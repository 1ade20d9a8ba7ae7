"""data_quality (docs/contract.md, section 4): one row per (date, issue) over every extracted
event."""

import datetime as dt
import uuid

ORG = uuid.UUID("00000000-0000-4000-8000-00000000000a")
AGENT = uuid.UUID("00000000-0000-4000-8000-0000000000a1")
MARCH_1 = dt.date(2025, 3, 1)
MARCH_2 = dt.date(2025, 3, 2)


def event(event_type="message.sent", created_at="2025-03-01 10:00", **fields):
    return {"organization_id": ORG, "event_type": event_type, "created_at": created_at, **fields}


def issues(query):
    return query("select date, issue, count from data_quality order by date, issue")


def test_each_issue_counts_the_events_raising_it(source, run_pipeline, query):
    # Each issue is raised a different number of times, by events raising nothing else.
    source.insert(
        event(organization_id=None),
        *[event(None) for _ in range(2)],
        *[event(resource_type="agent", resource_id=None) for _ in range(3)],
        *[event(properties=text) for text in ("[1]", '"a"', "3", "null")],
        *[event("agent.created", properties={"tokens": -1}) for _ in range(5)],
        *[event("message.received", properties={"responseTime": "9"}) for _ in range(6)],
        *[event("message.rated", properties={"rating": 9}) for _ in range(7)],
        # valid tokens without a model, so without a price (section 8)
        *[event(properties={"tokens": 0}) for _ in range(7)],
        event(resource_type="agent", resource_id=AGENT, properties={"tokens": 1}),
    )

    run_pipeline("2025-03-01")

    assert issues(query) == [
        (MARCH_1, "invalid_rating", 7),
        (MARCH_1, "invalid_response_time", 6),
        (MARCH_1, "invalid_tokens", 5),
        (MARCH_1, "malformed_properties", 4),
        (MARCH_1, "missing_agent_id", 3),
        (MARCH_1, "missing_event_type", 2),
        (MARCH_1, "missing_organization_id", 1),
        (MARCH_1, "unpriced_tokens", 8),
    ]


def test_one_event_can_raise_several_issues(source, run_pipeline, query):
    source.insert(
        event(
            "message.received",
            organization_id=None,
            resource_type="agent",
            resource_id=None,
            properties={"tokens": "10", "responseTime": -1},
        )
    )

    run_pipeline("2025-03-01")

    assert issues(query) == [
        (MARCH_1, "invalid_response_time", 1),
        (MARCH_1, "invalid_tokens", 1),
        (MARCH_1, "missing_agent_id", 1),
        (MARCH_1, "missing_organization_id", 1),
    ]


def test_issues_are_counted_per_utc_day(source, run_pipeline, query):
    source.insert(
        event(None, created_at="2025-03-01 23:59:59.999999"),
        event(None, created_at="2025-03-02 00:00:00"),
        event(None, created_at="2025-03-02 12:00:00"),
    )

    run_pipeline("2025-03-01", "2025-03-02")

    assert issues(query) == [
        (MARCH_1, "missing_event_type", 1),
        (MARCH_2, "missing_event_type", 2),
    ]


def test_events_without_organization_or_type_count_only_in_data_quality(
    source, run_pipeline, query
):
    agent_fields = {"resource_type": "agent", "resource_id": AGENT, "user_id": uuid.uuid4()}
    source.insert(
        event("message.sent", organization_id=None, **agent_fields),
        event(None, properties={"tokens": 1.5}, **agent_fields),
    )

    run_pipeline("2025-03-01")

    assert issues(query) == [
        (MARCH_1, "invalid_tokens", 1),
        (MARCH_1, "missing_event_type", 1),
        (MARCH_1, "missing_organization_id", 1),
    ]
    for table in ("daily_metrics", "agent_metrics", "event_counts"):
        assert query(f"select count(*) from {table}") == [(0,)]
    assert query("select count(*) from events") == [(2,)]


def test_a_day_without_issues_has_no_data_quality_rows(source, run_pipeline, query):
    source.insert(
        # demo-model has a price from 2024-01-01 in the shipped deploy/model_prices.csv
        event(properties={"tokens": 5, "model": "demo-model"}),
        event("message.received", properties={"responseTime": 10.5, "note": None}),
        event("message.rated", resource_type="agent", resource_id=AGENT, properties={"rating": 3}),
        event(properties=None),
    )

    run_pipeline("2025-03-01")

    assert issues(query) == []
