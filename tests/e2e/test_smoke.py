import datetime as dt
import uuid

ORG = uuid.UUID("00000000-0000-4000-8000-000000000001")


def test_one_day_materialises_through_dagster(source, run_pipeline, query):
    source.insert(
        {"organization_id": ORG, "event_type": "message.sent", "created_at": "2025-03-01 10:00"},
    )
    assert run_pipeline("2025-03-01").success
    assert query("select organization_id, total_messages from daily_metrics") == [(ORG, 1)]


def test_a_range_materialises_in_one_run(source, run_pipeline, query):
    source.insert(
        {"organization_id": ORG, "event_type": "message.sent", "created_at": "2025-03-01 10:00"},
        {"organization_id": ORG, "event_type": "message.sent", "created_at": "2025-03-03 10:00"},
    )
    assert run_pipeline("2025-03-01", "2025-03-03").success
    assert query("select date, total_messages from daily_metrics order by date") == [
        (dt.date(2025, 3, 1), 1),
        (dt.date(2025, 3, 3), 1),
    ]
