"""Organisation time zones (metrics.md, section 7): local calendar days, exactly.

Events are written by hand around local midnights and DST changes; the expected local
day of each is worked out in the comments. Dagster materialises the raw lake, the zones
and the local tables (the assets section 7 needs), and the tests read the published
`analytics.duckdb`.
"""

import os
import re
import subprocess
import sys
import uuid

import duckdb
import psycopg
import pytest
from conftest import warehouse_resource
from dagster import AssetSelection, materialize

from assets.partitions import partition_range_tags
from assets.resources import SourceDatabase
from pipelines.definitions import defs
from warehouse.settings import ConfigurationError, Settings
from warehouse.source import SourceError
from warehouse.sql_files import SQL_DIR, load_sql
from warehouse.tables import DATA_QUALITY, EVENTS, LOCAL_TABLES, ORGANIZATION_TIMEZONES
from warehouse.timezones import read_org_timezones

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
TIMEZONE_ASSETS = {
    EVENTS.name,
    ORGANIZATION_TIMEZONES.name,
    DATA_QUALITY.name,
    *(spec.name for spec in LOCAL_TABLES),
}


@pytest.fixture
def zones_table(source):
    """The platform's organisation time zones, in the test's schema."""
    table = f"{source.table.split('.')[0]}.organization_timezones"
    with psycopg.connect(source.dsn, autocommit=True) as connection:
        connection.execute(
            f"create table {table} (organization_id uuid primary key, timezone text)"
        )
        connection.cursor().executemany(f"insert into {table} values (%s, %s)", list(ZONES.items()))
    return table


@pytest.fixture
def run_timezones(source, warehouse_dir, zones_table):
    """Materialises the raw lake, the zones, data_quality and the local tables."""

    def run(first_day, last_day, timezones_table=zones_table, raise_on_error=True):
        resources = {
            "source": SourceDatabase(
                dsn=source.dsn, table=source.table, timezones_table=timezones_table
            ),
            "warehouse": warehouse_resource(warehouse_dir),
        }
        return materialize(
            list(defs.assets or []),
            selection=AssetSelection.assets(*TIMEZONE_ASSETS),
            resources=resources,
            tags=partition_range_tags(first_day, last_day),
            raise_on_error=raise_on_error,
        )

    return run


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


def test_dst_start_day_in_los_angeles_is_23_hours(source, run_timezones, query):
    # 2025-03-09 in Los Angeles: midnight is PST (08:00 UTC), the next midnight PDT
    # (07:00 UTC on 03-10): 23 hours.
    source.insert(
        message(LOS_ANGELES, "2025-03-09 07:59:59.999999"),  # 03-08 23:59:59.999999 PST
        message(LOS_ANGELES, "2025-03-09 08:00:00"),  # 03-09 00:00 PST
        message(LOS_ANGELES, "2025-03-09 10:00:00"),  # 03-09 03:00 PDT (02:00 skipped)
        message(LOS_ANGELES, "2025-03-10 06:59:59"),  # 03-09 23:59:59 PDT
        message(LOS_ANGELES, "2025-03-10 07:00:00"),  # 03-10 00:00 PDT
    )
    run_timezones("2025-03-08", "2025-03-11")

    assert local_days(query, LOS_ANGELES) == [
        ("2025-03-08", "America/Los_Angeles", 1),
        ("2025-03-09", "America/Los_Angeles", 3),
        ("2025-03-10", "America/Los_Angeles", 1),
    ]


def test_half_and_quarter_hour_offsets_are_exact(source, run_timezones, query):
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
    run_timezones("2025-06-14", "2025-06-16")

    assert local_days(query, KOLKATA) == [
        ("2025-06-14", "Asia/Kolkata", 1),
        ("2025-06-15", "Asia/Kolkata", 2),
    ]
    assert local_days(query, KATHMANDU) == [
        ("2025-06-14", "Asia/Kathmandu", 1),
        ("2025-06-15", "Asia/Kathmandu", 2),
    ]


def test_lord_howe_dst_end_day_is_24_and_a_half_hours(source, run_timezones, query):
    # Lord Howe leaves DST on 2025-04-06 at 02:00 (+11:00) back to 01:30 (+10:30):
    # local 04-06 is [04-05 13:00, 04-06 13:30) UTC, 24.5 hours.
    source.insert(
        message(LORD_HOWE, "2025-04-05 12:59:59"),  # 04-05 23:59:59 +11
        message(LORD_HOWE, "2025-04-05 13:00:00"),  # 04-06 00:00 +11
        message(LORD_HOWE, "2025-04-06 13:29:59"),  # 04-06 23:59:59 +10:30
        message(LORD_HOWE, "2025-04-06 13:30:00"),  # 04-07 00:00 +10:30
    )
    run_timezones("2025-04-05", "2025-04-07")

    assert local_days(query, LORD_HOWE) == [
        ("2025-04-05", "Australia/Lord_Howe", 1),
        ("2025-04-06", "Australia/Lord_Howe", 2),
    ]


def test_unknown_zone_is_utc_counted_once_per_day_and_events_kept(source, run_timezones, query):
    source.insert(
        message(UNKNOWN, "2025-05-01 00:00:00"),
        message(UNKNOWN, "2025-05-01 23:59:59"),
        message(UNKNOWN, "2025-05-02 12:00:00"),
        message(NOT_LISTED, "2025-05-01 23:30:00"),  # missing from the table: UTC, no issue
    )
    run_timezones("2025-05-01", "2025-05-03")

    assert local_days(query, UNKNOWN) == [("2025-05-01", "UTC", 2), ("2025-05-02", "UTC", 1)]
    assert local_days(query, NOT_LISTED) == [("2025-05-01", "UTC", 1)]
    assert query(
        "select date::varchar, count from data_quality where issue = 'invalid_timezone'"
        " order by date"
    ) == [("2025-05-01", 1), ("2025-05-02", 1)]


def test_unset_table_puts_every_organisation_in_utc(source, run_timezones, query):
    source.insert(message(LOS_ANGELES, "2025-03-09 07:00:00"))
    run_timezones("2025-03-09", "2025-03-10", timezones_table=None)

    assert local_days(query, LOS_ANGELES) == [("2025-03-09", "UTC", 1)]


def test_newest_local_day_waits_for_the_next_utc_day(source, run_timezones, query):
    source.insert(message(LOS_ANGELES, "2025-03-12 09:00:00"))  # local 03-12 02:00 PDT
    first = run_timezones("2025-03-12", "2025-03-12")

    # local 03-12 needs UTC 03-13, not extracted yet: skipped, not published incomplete
    [metadata] = [
        materialization.metadata
        for materialization in first.asset_materializations_for_node("local_tables")
        if materialization.asset_key.to_user_string() == "daily_metrics_local"
    ]
    assert metadata["skipped_days"].value == ["2025-03-12"]
    assert local_days(query, LOS_ANGELES) == []

    # the next day's run re-processes 03-12 (the late window) now that 03-13 is in
    run_timezones("2025-03-12", "2025-03-13")
    assert local_days(query, LOS_ANGELES) == [("2025-03-12", "America/Los_Angeles", 1)]


def test_missing_zone_table_fails_with_one_sentence(source, run_timezones):
    missing = f"{source.table.split('.')[0]}.no_such_table"
    result = run_timezones("2025-03-09", "2025-03-09", missing, raise_on_error=False)

    failure = next(
        event for event in result.all_events if event.is_step_failure
    ).step_failure_data.error
    assert failure is not None
    assert (
        f"Time zone table {missing} does not exist (set ANALYTICS_ORG_TIMEZONES_TABLE)."
        in failure.message
    )
    assert not result.asset_materializations_for_node(ORGANIZATION_TIMEZONES.name)
    assert result.asset_materializations_for_node(EVENTS.name)


def test_zone_table_with_wrong_columns_fails_with_one_sentence(source):
    table = f"{source.table.split('.')[0]}.zones"
    source.execute(f"create table {table} (organization_id text, tz text)")

    with pytest.raises(SourceError) as raised:
        read_org_timezones(source.dsn, table)
    assert str(raised.value) == (
        f"Time zone table {table} needs columns organization_id uuid and timezone text: "
        "organization_id text (expected uuid), timezone missing."
    )


# One month of generated events in four zones, against PostgreSQL's own AT TIME ZONE.
GENERATE_MONTH = """
insert into {table} (id, organization_id, event_type, resource_type, resource_id,
                     properties, user_id, created_at)
select
    gen_random_uuid(),
    (array[%(la)s, %(kolkata)s, %(lord_howe)s, %(unknown)s]::uuid[])[1 + (n %% 4)],
    (array['message.sent', 'message.received', 'conversation.started',
           'agent.error'])[1 + (n / 4) %% 4],
    'agent',
    ('00000000-0000-4000-8000-00000000000' || ((n / 16) %% 3)::text)::uuid,
    jsonb_build_object('tokens', (n * 7) %% 50, 'responseTime', (n * 13) %% 900),
    ('00000000-0000-4000-8000-0000000001' || lpad(((n * 11) %% 40)::text, 2, '0'))::uuid,
    timestamp '2025-03-31' + (random() * interval '32 days')
from generate_series(1, 6000) as n
"""

POSTGRES_LOCAL_DAYS = """
with zoned as (
    select e.*, coalesce(z.timezone, 'UTC') as zone
    from {table} as e
    left join {zones} as z
        on z.organization_id = e.organization_id and z.timezone <> 'Mars/Olympus_Mons'
),
local as (
    select *, ((created_at at time zone 'UTC') at time zone zone)::date as local_date
    from zoned
)
select organization_id, local_date::text, zone,
    count(*) filter (where event_type in ('message.sent', 'message.received')),
    sum((properties ->> 'tokens')::bigint),
    count(distinct user_id),
    percentile_cont(0.95) within group (order by (properties ->> 'responseTime')::float8)
        filter (where event_type = 'message.received'),
    count(*)
from local
where local_date between '2025-04-01' and '2025-04-30'
group by 1, 2, 3
order by 1, 2
"""


def rounded(row):
    """The row with its percentile rounded: DuckDB and PostgreSQL differ in the last bits."""
    p95 = row[6]
    return (*row[:6], None if p95 is None else round(p95, 6), row[7])


def test_a_month_of_local_days_matches_postgres_at_time_zone(
    source, zones_table, run_timezones, query
):
    with psycopg.connect(source.dsn) as connection:
        connection.execute("select setseed(0.11)")
        connection.execute(
            GENERATE_MONTH.format(table=source.table),
            {
                "la": str(LOS_ANGELES),
                "kolkata": str(KOLKATA),
                "lord_howe": str(LORD_HOWE),
                "unknown": str(UNKNOWN),
            },
        )
        expected = connection.execute(
            POSTGRES_LOCAL_DAYS.format(table=source.table, zones=zones_table)
        ).fetchall()
    run_timezones("2025-03-31", "2025-05-01")

    published = query(
        "select organization_id, date::varchar, timezone, total_messages, total_tokens,"
        " unique_users, p95_response_time, event_count from daily_metrics_local"
        " where date between '2025-04-01' and '2025-04-30' order by 1, 2"
    )
    assert len(expected) == 4 * 30
    assert [rounded(row) for row in published] == [rounded(row) for row in expected]
    event_total = query(
        "select sum(event_count) from event_counts_local"
        " where date between '2025-04-01' and '2025-04-30'"
    )
    assert event_total == [(sum(row[7] for row in expected),)]


USER_A = uuid.UUID("00000000-0000-4000-8000-0000000001aa")
USER_B = uuid.UUID("00000000-0000-4000-8000-0000000001bb")
USER_C = uuid.UUID("00000000-0000-4000-8000-0000000001cc")


def around_los_angeles_dst(source):
    """Four events of Los Angeles around its local midnights of 2025-03-09."""
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


def test_overview_local_compares_local_days(source, run_timezones, query):
    around_los_angeles_dst(source)
    run_timezones("2025-03-08", "2025-03-11")

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


def test_usage_trends_local_zero_fills_each_local_day(source, run_timezones, query):
    around_los_angeles_dst(source)
    run_timezones("2025-03-08", "2025-03-11")

    assert query(
        "select date::varchar, total_messages, total_conversations, unique_users, timezone"
        " from usage_trends_local('2025-03-07', '2025-03-10')"
    ) == [
        ("2025-03-07", 0, 0, 0, "America/Los_Angeles"),
        ("2025-03-08", 1, 0, 1, "America/Los_Angeles"),
        ("2025-03-09", 2, 0, 2, "America/Los_Angeles"),
        ("2025-03-10", 0, 1, 1, "America/Los_Angeles"),
    ]


def test_the_demo_gives_its_organisations_zones(source, tmp_path):
    environment = {key: value for key, value in os.environ.items() if key != "DAGSTER_HOME"}
    environment.pop("ANALYTICS_ORG_TIMEZONES_TABLE", None)
    environment.update(
        ANALYTICS_SOURCE_DSN=source.dsn,
        ANALYTICS_SOURCE_TABLE=source.table,
        ANALYTICS_WAREHOUSE_DIR=str(tmp_path / "warehouse"),
        DAGSTER_HOME=str(tmp_path / "dagster_home"),
    )
    arguments = ["demo", "--seed", "--days", "3", "--events-per-day", "300"]
    demo = subprocess.run(
        [sys.executable, "-m", "pipelines.cli", *arguments],
        env=environment,
        capture_output=True,
        text=True,
        timeout=600,
        check=False,
    )
    assert demo.returncode == 0, demo.stderr

    with duckdb.connect(str(tmp_path / "warehouse" / "analytics.duckdb"), read_only=True) as db:
        zones = db.sql("select distinct timezone from daily_metrics_local order by 1").fetchall()
        invalid = db.sql(
            "select count(*) from data_quality where issue = 'invalid_timezone'"
        ).fetchall()
    # organisation 4's unknown name and organisations 5 and 6 (not listed) are in UTC
    assert zones == [
        ("America/Los_Angeles",),
        ("Asia/Kolkata",),
        ("Australia/Lord_Howe",),
        ("UTC",),
    ]
    assert invalid == [(3,)]  # once on each of the three UTC days


def test_a_zone_change_takes_effect_on_reprocessed_days(source, zones_table, run_timezones, query):
    source.insert(
        message(LOS_ANGELES, "2025-03-08 12:00:00"),  # LA 03-08 04:00; Kolkata 03-08 17:30
        message(LOS_ANGELES, "2025-03-09 20:00:00"),  # LA 03-09 13:00; Kolkata 03-10 01:30
    )
    run_timezones("2025-03-07", "2025-03-10")
    source.execute(
        f"update {zones_table} set timezone = 'Asia/Kolkata'"
        f" where organization_id = '{LOS_ANGELES}'"
    )
    run_timezones("2025-03-09", "2025-03-11")  # the late window: 03-08 is not re-processed

    # 03-08 keeps the zone it was computed in; 03-09 is restated in Kolkata's time (no
    # event), and the second event now falls on Kolkata's 03-10
    assert local_days(query, LOS_ANGELES) == [
        ("2025-03-08", "America/Los_Angeles", 1),
        ("2025-03-10", "Asia/Kolkata", 1),
    ]


def test_no_sql_file_takes_a_date_as_text():
    """Dates reach SQL as bound parameters or macro arguments; the only placeholders left
    in the SQL files are tables and indexes of the source, quoted by psycopg."""
    placeholders = {
        name
        for path in SQL_DIR.rglob("*.sql")
        for name in re.findall(r"\{(\w*)\}", path.read_text())
    }
    assert placeholders == {"source_table", "created_at_index", "timezones_table"}
    assert "$day" in load_sql("timezones/set_local_day")


def test_a_malformed_timezones_table_variable_is_refused(monkeypatch):
    monkeypatch.setenv("ANALYTICS_ORG_TIMEZONES_TABLE", "zones")

    with pytest.raises(ConfigurationError) as raised:
        Settings.from_environment()
    assert str(raised.value) == (
        "ANALYTICS_ORG_TIMEZONES_TABLE must be schema.table (plain identifiers), got 'zones'"
    )
