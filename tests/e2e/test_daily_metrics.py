"""daily_metrics (docs/contract.md, section 2) end to end: the smoke tests of the asset.

The rules, column by column, are pinned in the fast layer (tests/rules/test_daily_metrics.py);
here two of them run through PostgreSQL, Dagster and the published analytics.duckdb: a range
run's rows per organisation and day, and valid tokens read from the source's jsonb.
"""

import datetime as dt
import uuid

import pytest

ORG = uuid.UUID("00000000-0000-4000-8000-00000000000a")
OTHER_ORG = uuid.UUID("00000000-0000-4000-8000-00000000000b")
DAY = "2025-03-01"
# Every test reads daily_metrics alone: the run is that table and what it is computed from.
pytestmark = pytest.mark.assets("daily_metrics")


def event(event_type, **fields):
    return {
        "organization_id": ORG,
        "event_type": event_type,
        "created_at": f"{DAY} 10:00",
        **fields,
    }


def test_one_row_per_organisation_and_day_with_a_counted_event(source, run_pipeline, query):
    source.insert(
        event("message.sent"),
        event("message.sent", created_at="2025-03-02 10:00"),
        event("message.sent", organization_id=OTHER_ORG),
        # An organisation whose only event has no type has no counted event, so no row.
        event(None, organization_id=uuid.UUID(int=99)),
    )

    assert run_pipeline("2025-03-01", "2025-03-02").success

    assert query("select organization_id, date from daily_metrics order by all") == [
        (ORG, dt.date(2025, 3, 1)),
        (ORG, dt.date(2025, 3, 2)),
        (OTHER_ORG, dt.date(2025, 3, 1)),
    ]


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

    assert run_pipeline(DAY).success

    assert query("select organization_id, total_tokens from daily_metrics order by all") == [
        (ORG, 123),
        (OTHER_ORG, 0),
    ]
