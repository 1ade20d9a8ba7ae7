"""event_counts (docs/contract.md, section 2) end to end: the smoke test of the asset.

The rules are pinned in the fast layer (tests/rules/test_event_counts.py); here a range
run's counts per organisation, UTC day and type come through PostgreSQL, Dagster and the
published analytics.duckdb.
"""

import datetime as dt
import uuid

import pytest

ORG = uuid.UUID("00000000-0000-4000-8000-00000000000a")
OTHER_ORG = uuid.UUID("00000000-0000-4000-8000-00000000000b")
MARCH_1 = dt.date(2025, 3, 1)
MARCH_2 = dt.date(2025, 3, 2)
# The test reads event_counts alone: the run is that table and what it is computed from.
pytestmark = pytest.mark.assets("event_counts")


def event(event_type, created_at="2025-03-01 10:00", **fields):
    return {"organization_id": ORG, "event_type": event_type, "created_at": created_at, **fields}


def test_one_row_per_organisation_day_and_event_type(source, run_pipeline, query):
    source.insert(
        event("message.sent"),
        event("message.sent"),
        event("message.received"),
        event("message.sent", organization_id=OTHER_ORG),
        event("message.sent", "2025-03-02 09:00"),
    )

    assert run_pipeline("2025-03-01", "2025-03-02").success

    assert query("select * from event_counts order by all") == [
        (ORG, MARCH_1, "message.received", 1),
        (ORG, MARCH_1, "message.sent", 2),
        (ORG, MARCH_2, "message.sent", 1),
        (OTHER_ORG, MARCH_1, "message.sent", 1),
    ]
