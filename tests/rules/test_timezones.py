"""Organisation time zones (docs/contract.md, section 7): local calendar days, exactly, and
when a local day is published (section 10).

Events are written by hand around local midnights and DST changes; the expected local
day of each is worked out in the comments. A local day D is computed as soon as UTC day D
is in and publishes only the organisations whose local day lies within the UTC days held
(D-1, D and D+1 the lake holds, and the days before the warehouse's first day): a UTC or
east-of-UTC organisation's newest local day is published with its UTC day, a west one's
once D is recomputed with D+1. The end-to-end layer (tests/e2e/test_timezones.py) reads
the zone table from PostgreSQL and compares a month of local days with its `at time zone`.
"""

import datetime as dt
import uuid

LOS_ANGELES = uuid.UUID("00000000-0000-4000-8000-0000000000a1")
KOLKATA = uuid.UUID("00000000-0000-4000-8000-0000000000a2")
KATHMANDU = uuid.UUID("00000000-0000-4000-8000-0000000000a3")
LORD_HOWE = uuid.UUID("00000000-0000-4000-8000-0000000000a4")
UNKNOWN = uuid.UUID("00000000-0000-4000-8000-0000000000a5")
NOT_LISTED = uuid.UUID("00000000-0000-4000-8000-0000000000a6")
ZONES = {
    LOS_ANGELES: "America/Los_Angeles",
    KOLKATA: "Asia/Kolkata",
    KATHMANDU: "Asia/Kathmandu",
    LORD_HOWE: "Australia/Lord_Howe",
    UNKNOWN: "Mars/Olympus_Mons",
}


def message(organization_id, created_at, **fields):
    return {
        "organization_id": organization_id,
        "event_type": "message.sent",
        "created_at": created_at,
        **fields,
    }


def local_days(query, organization_id):
    return query(
        "select date::varchar, timezone, event_count from daily_metrics_local"
        " where organization_id = ? order by date",
        [organization_id],
    )


def test_dst_start_day_in_los_angeles_is_23_hours(source, run_pipeline, query):
    source.timezones = ZONES
    # 2025-03-09 in Los Angeles: midnight is PST (08:00 UTC), the next midnight PDT
    # (07:00 UTC on 03-10): 23 hours.
    source.insert(
        message(LOS_ANGELES, "2025-03-09 07:59:59.999999"),  # 03-08 23:59:59.999999 PST
        message(LOS_ANGELES, "2025-03-09 08:00:00"),  # 03-09 00:00 PST
        message(LOS_ANGELES, "2025-03-09 10:00:00"),  # 03-09 03:00 PDT (02:00 skipped)
        message(LOS_ANGELES, "2025-03-10 06:59:59"),  # 03-09 23:59:59 PDT
        message(LOS_ANGELES, "2025-03-10 07:00:00"),  # 03-10 00:00 PDT
    )
    run_pipeline("2025-03-08", "2025-03-11")

    assert local_days(query, LOS_ANGELES) == [
        ("2025-03-08", "America/Los_Angeles", 1),
        ("2025-03-09", "America/Los_Angeles", 3),
        ("2025-03-10", "America/Los_Angeles", 1),
    ]


def test_half_and_quarter_hour_offsets_are_exact(source, run_pipeline, query):
    source.timezones = ZONES
    # Kolkata is UTC+05:30: local 2025-06-15 is [06-14 18:30, 06-15 18:30) UTC.
    # Kathmandu is UTC+05:45: local 2025-06-15 is [06-14 18:15, 06-15 18:15) UTC.
    source.insert(
        message(KOLKATA, "2025-06-14 18:29:59"),  # 06-14 23:59:59 IST
        message(KOLKATA, "2025-06-14 18:30:00"),  # 06-15 00:00
        message(KOLKATA, "2025-06-15 18:29:59"),  # 06-15 23:59:59
        message(KOLKATA, "2025-06-15 18:30:00"),  # 06-16 00:00
        message(KATHMANDU, "2025-06-14 18:14:59"),  # 06-14 23:59:59 NPT
        message(KATHMANDU, "2025-06-14 18:15:00"),  # 06-15 00:00
        message(KATHMANDU, "2025-06-14 18:30:00"),  # 06-15 00:15
        message(KATHMANDU, "2025-06-15 18:15:00"),  # 06-16 00:00
    )
    run_pipeline("2025-06-14", "2025-06-16")

    # east of UTC, local 06-16 lies within UTC 06-15 and 06-16, both held: published
    assert local_days(query, KOLKATA) == [
        ("2025-06-14", "Asia/Kolkata", 1),
        ("2025-06-15", "Asia/Kolkata", 2),
        ("2025-06-16", "Asia/Kolkata", 1),
    ]
    assert local_days(query, KATHMANDU) == [
        ("2025-06-14", "Asia/Kathmandu", 1),
        ("2025-06-15", "Asia/Kathmandu", 2),
        ("2025-06-16", "Asia/Kathmandu", 1),
    ]


def test_lord_howe_dst_end_day_is_24_and_a_half_hours(source, run_pipeline, query):
    source.timezones = ZONES
    # Lord Howe leaves DST on 2025-04-06 at 02:00 (+11:00) back to 01:30 (+10:30):
    # local 04-06 is [04-05 13:00, 04-06 13:30) UTC, 24.5 hours.
    source.insert(
        message(LORD_HOWE, "2025-04-05 12:59:59"),  # 04-05 23:59:59 +11
        message(LORD_HOWE, "2025-04-05 13:00:00"),  # 04-06 00:00 +11
        message(LORD_HOWE, "2025-04-06 13:29:59"),  # 04-06 23:59:59 +10:30
        message(LORD_HOWE, "2025-04-06 13:30:00"),  # 04-07 00:00 +10:30
    )
    run_pipeline("2025-04-05", "2025-04-07")

    # local 04-07 lies within UTC 04-06 and 04-07, both held: published
    assert local_days(query, LORD_HOWE) == [
        ("2025-04-05", "Australia/Lord_Howe", 1),
        ("2025-04-06", "Australia/Lord_Howe", 2),
        ("2025-04-07", "Australia/Lord_Howe", 1),
    ]


def test_unknown_zone_is_utc_counted_once_per_day_and_events_kept(source, run_pipeline, query):
    source.timezones = ZONES
    source.insert(
        message(UNKNOWN, "2025-05-01 00:00:00"),
        message(UNKNOWN, "2025-05-01 23:59:59"),
        message(UNKNOWN, "2025-05-02 12:00:00"),
        message(NOT_LISTED, "2025-05-01 23:30:00"),  # missing from the table: UTC, no issue
    )
    run_pipeline("2025-05-01", "2025-05-03")

    assert local_days(query, UNKNOWN) == [("2025-05-01", "UTC", 2), ("2025-05-02", "UTC", 1)]
    assert local_days(query, NOT_LISTED) == [("2025-05-01", "UTC", 1)]
    assert query(
        "select date::varchar, count from data_quality where issue = 'invalid_timezone'"
        " order by date"
    ) == [("2025-05-01", 1), ("2025-05-02", 1)]


def test_unset_table_puts_every_organisation_in_utc(source, run_pipeline, query):
    source.timezones = None
    source.insert(message(LOS_ANGELES, "2025-03-09 07:00:00"))
    run_pipeline("2025-03-09", "2025-03-10")

    assert local_days(query, LOS_ANGELES) == [("2025-03-09", "UTC", 1)]


def test_newest_local_day_waits_for_the_next_utc_day(source, warehouse, run_pipeline, query):
    source.timezones = ZONES
    source.insert(message(LOS_ANGELES, "2025-03-12 09:00:00"))  # local 03-12 02:00 PDT
    run_pipeline("2025-03-12")

    # local 03-12 needs UTC 03-13, not extracted yet: its rows are left out, never
    # published partial, and the day's record says which UTC days it was computed from
    assert local_days(query, LOS_ANGELES) == []
    record = warehouse.records["daily_metrics_local"][dt.date(2025, 3, 12)]
    assert record["utc_days"] == "2025-03-11,2025-03-12"  # 03-11: before the first day

    # the next day's run re-processes 03-12 (the late window) now that 03-13 is in
    run_pipeline("2025-03-12", "2025-03-13")
    assert local_days(query, LOS_ANGELES) == [("2025-03-12", "America/Los_Angeles", 1)]


def test_an_east_or_utc_organisations_newest_local_day_is_published_with_its_utc_day(
    source, run_pipeline, query
):
    source.timezones = ZONES
    source.insert(
        message(KOLKATA, "2025-03-12 09:00:00"),  # local 03-12 14:30 IST
        message(NOT_LISTED, "2025-03-12 09:00:00"),  # UTC
        message(LOS_ANGELES, "2025-03-12 09:00:00"),  # local 03-12 02:00 PDT: waits
    )
    run_pipeline("2025-03-12")

    # Kolkata's 03-12 lies within UTC 03-11 (before the first day) and 03-12; UTC's is 03-12
    assert local_days(query, KOLKATA) == [("2025-03-12", "Asia/Kolkata", 1)]
    assert local_days(query, NOT_LISTED) == [("2025-03-12", "UTC", 1)]
    assert local_days(query, LOS_ANGELES) == []
    assert query(f"select last_complete_local_day('{KOLKATA}')") == [(dt.date(2025, 3, 12),)]


USER_A = uuid.UUID("00000000-0000-4000-8000-0000000001aa")
USER_B = uuid.UUID("00000000-0000-4000-8000-0000000001bb")


def around_los_angeles_dst(source):
    """Four events of Los Angeles around its local midnights of 2025-03-09."""
    source.timezones = ZONES
    received = "message.received"
    source.insert(
        # local 03-08 23:30 PST
        message(
            LOS_ANGELES,
            "2025-03-09 07:30:00",
            event_type=received,
            user_id=USER_A,
            properties={"responseTime": 100},
        ),
        # local 03-09 01:00 PST
        message(
            LOS_ANGELES,
            "2025-03-09 09:00:00",
            event_type=received,
            user_id=USER_B,
            properties={"responseTime": 200},
        ),
        # local 03-09 23:30 PDT
        message(
            LOS_ANGELES,
            "2025-03-10 06:30:00",
            event_type=received,
            user_id=USER_A,
            properties={"responseTime": 300},
        ),
        # local 03-10 01:00 PDT
        message(
            LOS_ANGELES, "2025-03-10 08:00:00", event_type="conversation.started", user_id=USER_A
        ),
    )


def test_overview_local_compares_local_days(source, run_pipeline, query):
    around_los_angeles_dst(source)
    run_pipeline("2025-03-08", "2025-03-11")

    rows = query(
        "select metric, current_value, previous_value, timezone"
        " from overview_local('2025-03-09', '2025-03-10') order by metric"
    )
    # current: local 03-09 and 03-10 (3 events: users B, A, A); previous: local
    # 03-07 and 03-08 (1 event: user A); response times 200 and 300 against 100
    assert rows == [
        ("agent_count", 0.0, 0.0, "America/Los_Angeles"),
        ("avg_response_time", 250.0, 100.0, "America/Los_Angeles"),
        ("error_count", 0.0, 0.0, "America/Los_Angeles"),
        ("p95_response_time", 295.0, 100.0, "America/Los_Angeles"),
        ("total_conversations", 1.0, 0.0, "America/Los_Angeles"),
        ("total_cost_usd", 0.0, 0.0, "America/Los_Angeles"),
        ("total_messages", 2.0, 1.0, "America/Los_Angeles"),
        ("total_tokens", 0.0, 0.0, "America/Los_Angeles"),
        ("unique_users", 2.0, 1.0, "America/Los_Angeles"),  # A and B, not 2 + 1 daily
        ("workflow_executions", 0.0, 0.0, "America/Los_Angeles"),
    ]


def test_usage_trends_local_zero_fills_each_local_day(source, run_pipeline, query):
    around_los_angeles_dst(source)
    run_pipeline("2025-03-08", "2025-03-11")

    assert query(
        "select date::varchar, total_messages, total_conversations, unique_users, timezone"
        " from usage_trends_local('2025-03-07', '2025-03-10')"
    ) == [
        ("2025-03-07", 0, 0, 0, "America/Los_Angeles"),
        ("2025-03-08", 1, 0, 1, "America/Los_Angeles"),
        ("2025-03-09", 2, 0, 2, "America/Los_Angeles"),
        ("2025-03-10", 0, 1, 1, "America/Los_Angeles"),
    ]


def test_a_zone_change_takes_effect_on_reprocessed_days(source, run_pipeline, query):
    source.timezones = dict(ZONES)
    source.insert(
        message(LOS_ANGELES, "2025-03-08 12:00:00"),  # LA 03-08 04:00; Kolkata 03-08 17:30
        message(LOS_ANGELES, "2025-03-09 20:00:00"),  # LA 03-09 13:00; Kolkata 03-10 01:30
    )
    run_pipeline("2025-03-07", "2025-03-10")
    source.timezones[LOS_ANGELES] = "Asia/Kolkata"
    run_pipeline("2025-03-09", "2025-03-11")  # the late window: 03-08 is not re-processed

    # 03-08 keeps the zone it was computed in; 03-09 is restated in Kolkata's time (no
    # event), and the second event now falls on Kolkata's 03-10
    assert local_days(query, LOS_ANGELES) == [
        ("2025-03-08", "America/Los_Angeles", 1),
        ("2025-03-10", "Asia/Kolkata", 1),
    ]
