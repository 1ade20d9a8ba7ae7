"""Per-partition metadata after a range run: each day's own row count and preview."""

import uuid

ORG = uuid.UUID("00000000-0000-4000-8000-0000000000aa")


def preview_text(preview):
    """A preview (a table of the first rows) as Markdown rows, values in their text form."""
    return "\n".join(
        "| "
        + " | ".join("NULL" if value is None else str(value) for value in record.data.values())
        + " |"
        for record in preview.records
    )


def test_a_range_run_records_each_days_own_row_count_and_preview(source, run_pipeline):
    source.insert(
        *(
            {"organization_id": ORG, "event_type": "message.sent", "created_at": f"{day} 10:0{n}"}
            for day, count in (("2025-03-01", 1), ("2025-03-02", 2), ("2025-03-03", 3))
            for n in range(count)
        )
    )
    result = run_pipeline("2025-03-01", "2025-03-03")
    materialized = {
        (event.asset_key.to_user_string(), event.partition): event.materialization.metadata
        for event in result.get_asset_materialization_events()
    }
    for day, count in (("2025-03-01", 1), ("2025-03-02", 2), ("2025-03-03", 3)):
        events = materialized[("events", day)]
        assert events["dagster/row_count"].value == count
        assert day in preview_text(events["preview"].value)
        assert materialized[("daily_metrics", day)]["dagster/row_count"].value == 1
        assert f"| {ORG} | {day} | {count} |" in preview_text(
            materialized[("daily_metrics", day)]["preview"].value
        )
