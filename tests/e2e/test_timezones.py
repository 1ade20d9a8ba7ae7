"""Organisation time zones end to end (docs/contract.md, sections 7 and 10): the zone table
read from PostgreSQL and its errors, local days computed through Dagster and published
with their records, a month of local days against PostgreSQL's own `at time zone`, and
the demo's zones.

The rules of local days on hand-written events (DST days, half- and quarter-hour offsets,
unknown and unset zones, when a local day is published, the local macros, a zone change)
are tested on the memory warehouse, in tests/rules/test_timezones.py.
"""

import datetime as dt
import os
import re
import subprocess
import sys
import uuid

import duckdb
import psycopg
import pytest
from dagster import AssetSelection, materialize

from assets.partitions import partition_range_tags
from assets.resources import SourceResource
from pipelines.configuration import load_configuration
from tests.e2e.support import defs, lakehouse_resource
from warehouse.settings import ConfigurationError
from warehouse.source import SourceError
from warehouse.sql_files import SQL_DIR, load_sql
from warehouse.storage.partition_records import partition_records
from warehouse.tables import (
    DAILY_METRICS_LOCAL,
    DAILY_TABLES,
    DATA_QUALITY,
    EVENTS,
    LOCAL_TABLES,
    ORGANIZATION_TIMEZONES,
)
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
    # every daily table: the local macros read only complete days, which need them all
    *(spec.name for spec in DAILY_TABLES),
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
            **defs.resources,
            "source": SourceResource(
                dsn=source.dsn, table=source.table, timezones_table=timezones_table
            ),
            "lakehouse": lakehouse_resource(warehouse_dir),
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


def records_of(warehouse_dir, spec):
    """Each published day's record, read from the table's metadata by a new Lakehouse."""
    return partition_records(lakehouse_resource(warehouse_dir).open().table(spec))


def test_a_local_day_is_published_through_dagster_for_the_organisations_whose_days_are_in(
    source, run_timezones, zones_table, warehouse_dir, query
):
    """The local tables' smoke test: the day's record in the Iceberg table's metadata says
    which UTC days it was computed from, and the macros read it back from analytics.duckdb."""
    source.insert(
        message(LOS_ANGELES, "2025-03-12 09:00:00"),  # local 03-12 02:00 PDT
        message(KOLKATA, "2025-03-12 09:00:00"),  # local 03-12 14:30 IST
    )
    run_timezones("2025-03-12", "2025-03-12")

    # Kolkata's 03-12 lies within UTC 03-11 (before the first day) and 03-12: published;
    # Los Angeles' needs UTC 03-13, not extracted yet: left out, never published partial
    assert local_days(query, KOLKATA) == [("2025-03-12", "Asia/Kolkata", 1)]
    assert local_days(query, LOS_ANGELES) == []
    record = records_of(warehouse_dir, DAILY_METRICS_LOCAL)[dt.date(2025, 3, 12)]
    assert (record["timezones_table"], record["utc_days"]) == (
        zones_table,
        "2025-03-11,2025-03-12",
    )
    assert query(
        f"select last_complete_local_day('{KOLKATA}'), last_complete_local_day('{LOS_ANGELES}')"
    ) == [(dt.date(2025, 3, 12), None)]

    # the next day's run re-processes 03-12 (the late window) now that 03-13 is in
    run_timezones("2025-03-12", "2025-03-13")
    assert local_days(query, LOS_ANGELES) == [("2025-03-12", "America/Los_Angeles", 1)]
    record = records_of(warehouse_dir, DAILY_METRICS_LOCAL)[dt.date(2025, 3, 12)]
    assert record["utc_days"] == "2025-03-11,2025-03-12,2025-03-13"
    assert query(f"select last_complete_local_day('{LOS_ANGELES}')") == [(dt.date(2025, 3, 12),)]


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
    # organization_timezones is computed in the `events` step (a multi-asset op named
    # `events`): the zone table is read before any day, so neither table is materialised
    assert not result.asset_materializations_for_node(EVENTS.name)
    assert not [
        materialization
        for materialization in result.get_asset_materialization_events()
        if materialization.asset_key.to_user_string() in {EVENTS.name, ORGANIZATION_TIMEZONES.name}
    ]


def test_zone_table_with_wrong_columns_fails_with_one_sentence(source, run_timezones):
    table = f"{source.table.split('.')[0]}.zones"
    source.execute(f"create table {table} (organization_id text, tz text)")
    sentence = (
        f"Time zone table {table} needs columns organization_id uuid and timezone text: "
        "organization_id text (expected uuid), timezone missing."
    )

    with pytest.raises(SourceError) as raised:
        read_org_timezones(source.dsn, table)
    assert str(raised.value) == sentence

    # through Dagster, the `events` step fails with it and materialises neither table
    result = run_timezones("2025-03-09", "2025-03-09", table, raise_on_error=False)
    [failure] = [event for event in result.all_events if event.is_step_failure]
    assert failure.step_key == "events"
    assert sentence in failure.step_failure_data.error.message
    assert not result.asset_materializations_for_node(EVENTS.name)


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
        cwd=tmp_path,  # the demo writes its settings to the working directory's .env
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


# The placeholders the SQL files may hold: the source's table, its indexes and constraint
# (the serving benchmark's, sql/bench/), quoted by psycopg, and the zone table.
SOURCE_IDENTIFIERS = {
    "source_table",
    "created_at_index",
    "timezones_table",
    "primary_key",
    "organization_index",
}
# `{scope}` in sql/catalog/completeness_state.sql is a keyword placeholder, not a date: the
# completeness state's tables are `temp` (a pipeline connection's) or plain (the published
# analytics.duckdb's), filled in by `warehouse.views.completeness_state`.
KEYWORD_PLACEHOLDERS = {"scope"}


def test_no_sql_file_takes_a_date_as_text():
    """Dates reach SQL as bound parameters or macro arguments; the only placeholders left
    in the SQL files are identifiers of the source, quoted by psycopg, and the completeness
    state's scope keyword. A brace around digits is a regular expression's count."""
    placeholders = {
        name
        for path in SQL_DIR.rglob("*.sql")
        for name in re.findall(r"\{([A-Za-z_]\w*)?\}", path.read_text())
    }
    assert placeholders <= SOURCE_IDENTIFIERS | KEYWORD_PLACEHOLDERS
    assert {"source_table", "timezones_table", "scope"} <= placeholders
    assert "{scope}" in (SQL_DIR / "catalog" / "completeness_state.sql").read_text()
    assert "$day" in load_sql("timezones/set_local_day")


def test_a_malformed_timezones_table_variable_is_refused(monkeypatch):
    monkeypatch.setenv("ANALYTICS_ORG_TIMEZONES_TABLE", "zones")

    with pytest.raises(ConfigurationError) as raised:
        load_configuration(os.environ)
    assert str(raised.value) == (
        "ANALYTICS_ORG_TIMEZONES_TABLE must be schema.table (plain identifiers), got 'zones'"
    )
