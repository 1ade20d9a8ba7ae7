"""data_quality (docs/contract.md, section 4) end to end: the smoke tests of the asset.

The rules are pinned in the fast layer (tests/rules/test_data_quality.py); here every
issue is raised from a real source (properties that are jsonb arrays, strings, numbers
and JSON null, next to SQL NULL), and the UTC day of an issue is the one the extraction's
half-open window over the source's `created_at` gives (23:59:59.999999 against 00:00).
"""

import datetime as dt
import uuid

import pytest

ORG = uuid.UUID("00000000-0000-4000-8000-00000000000a")
AGENT = uuid.UUID("00000000-0000-4000-8000-0000000000a1")
MARCH_1 = dt.date(2025, 3, 1)
MARCH_2 = dt.date(2025, 3, 2)
# The tests read data_quality alone: the run is that table and what it is computed from.
pytestmark = pytest.mark.assets("data_quality")


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

    assert run_pipeline("2025-03-01").success

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


def test_issues_are_counted_per_utc_day(source, run_pipeline, query):
    source.insert(
        event(None, created_at="2025-03-01 23:59:59.999999"),
        event(None, created_at="2025-03-02 00:00:00"),
        event(None, created_at="2025-03-02 12:00:00"),
    )

    assert run_pipeline("2025-03-01", "2025-03-02").success

    assert issues(query) == [
        (MARCH_1, "missing_event_type", 1),
        (MARCH_2, "missing_event_type", 2),
    ]
