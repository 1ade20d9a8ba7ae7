"""event_counts (docs/contract.md, section 2): counted events per organisation, UTC day and type."""

import datetime as dt
import uuid

ORG = uuid.UUID("00000000-0000-4000-8000-00000000000a")
OTHER_ORG = uuid.UUID("00000000-0000-4000-8000-00000000000b")
MARCH_1 = dt.date(2025, 3, 1)
MARCH_2 = dt.date(2025, 3, 2)


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

    run_pipeline("2025-03-01", "2025-03-02")

    assert query("select * from event_counts order by all") == [
        (ORG, MARCH_1, "message.received", 1),
        (ORG, MARCH_1, "message.sent", 2),
        (ORG, MARCH_2, "message.sent", 1),
        (OTHER_ORG, MARCH_1, "message.sent", 1),
    ]


def test_unknown_event_types_are_counted(source, run_pipeline, query):
    source.insert(event("billing.invoice_paid"), event("billing.invoice_paid"))

    run_pipeline("2025-03-01")

    assert query("select event_type, event_count from event_counts") == [
        ("billing.invoice_paid", 2)
    ]


def test_events_without_organization_or_type_are_not_in_event_counts(source, run_pipeline, query):
    source.insert(
        event("message.sent"),
        event("message.sent", organization_id=None),
        event(None),
    )

    run_pipeline("2025-03-01")

    assert query("select organization_id, event_type, event_count from event_counts") == [
        (ORG, "message.sent", 1)
    ]
