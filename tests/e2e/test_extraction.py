"""Extraction (docs/contract.md, sections 1, 4 and 5): what reaches the lake, and on which UTC day.

Every test materialises the tables it reads (`events` unless it says which) through Dagster
against a real PostgreSQL table and reads the published `analytics.duckdb`.
"""

import datetime as dt
import uuid

import psycopg
import pytest
from dagster import AssetKey, AssetSelection
from psycopg.conninfo import conninfo_to_dict

from warehouse.source import read_only_conninfo

ORG = uuid.UUID("00000000-0000-4000-8000-00000000000a")
FIRST = uuid.UUID("00000000-0000-4000-8000-000000000001")
SECOND = uuid.UUID("00000000-0000-4000-8000-000000000002")
THIRD = uuid.UUID("00000000-0000-4000-8000-000000000003")
DAILY_TABLES = ("daily_metrics", "agent_metrics", "event_counts", "data_quality")
ALLOW_SHRINK = {"ops": {"events": {"config": {"allow_shrink": True}}}}
pytestmark = pytest.mark.assets("events")


def event(created_at, **fields):
    return {
        "organization_id": ORG,
        "event_type": "message.sent",
        "created_at": created_at,
        **fields,
    }


def source_rows(source, statement):
    with psycopg.connect(source.dsn) as connection:
        return connection.execute(statement.format(table=source.table)).fetchall()


def test_lake_holds_exactly_the_source_events_of_each_day(source, run_pipeline, query):
    source.insert(
        event("2025-03-01 00:00"),
        event("2025-03-01 12:00", organization_id=None),
        event("2025-03-01 23:59", event_type=None),
        event("2025-03-03 08:00", properties="[1, 2]"),
    )

    result = run_pipeline("2025-03-01", "2025-03-03")

    assert result.success
    assert ("lake_rows_match_source", True) in {
        (evaluation.check_name, evaluation.passed)
        for evaluation in result.get_asset_check_evaluations()
        if evaluation.asset_key == AssetKey("events")
    }
    in_source = source_rows(
        source, "select created_at::date, count(*) from {table} group by 1 order by 1"
    )
    assert query("select event_date, count(*) from events group by 1 order by 1") == in_source
    assert in_source == [(dt.date(2025, 3, 1), 3), (dt.date(2025, 3, 3), 1)]
    assert sorted(query("select id, event_date from events")) == sorted(
        source_rows(source, "select id, created_at::date from {table}")
    )


def test_shipped_ddl_indexes_created_at_for_the_extraction_window(source):
    schema, table = source.table.split(".")
    (definition,) = source_rows(
        source,
        f"select indexdef from pg_indexes where schemaname = '{schema}'"
        f" and tablename = '{table}' and indexdef like '%(created_at)'",
    )

    assert definition[0].endswith("USING btree (created_at)")


@pytest.mark.assets("daily_metrics")
def test_event_at_23_59_59_999999_belongs_to_that_day_and_one_at_midnight_to_the_next(
    source, run_pipeline, query
):
    source.insert(
        event("2025-03-01 23:59:59.999999", id=FIRST),
        event("2025-03-02 00:00:00", id=SECOND),
    )

    assert run_pipeline("2025-03-01", "2025-03-02").success

    assert query("select id, created_at, event_date from events order by created_at") == [
        (FIRST, dt.datetime(2025, 3, 1, 23, 59, 59, 999999), dt.date(2025, 3, 1)),
        (SECOND, dt.datetime(2025, 3, 2), dt.date(2025, 3, 2)),
    ]
    assert query("select date, event_count from daily_metrics order by date") == [
        (dt.date(2025, 3, 1), 1),
        (dt.date(2025, 3, 2), 1),
    ]


def test_timestamptz_source_is_cut_at_utc_midnight_whatever_the_session_time_zone(
    source, run_pipeline, query
):
    source.execute("alter table {table} alter column created_at type timestamptz")
    # The DSN asks for New York time: the extraction must still cut days at UTC midnight.
    source.dsn = f"{source.dsn} options='-c TimeZone=America/New_York'"
    source.insert(
        event("2025-03-01 23:59:59.999999+00", id=FIRST),
        event("2025-03-02 00:00:00+00", id=SECOND),
        # 22:00 in New York on March 1st is 03:00 UTC on March 2nd.
        event("2025-03-01 22:00:00-05", id=THIRD),
    )

    assert run_pipeline("2025-03-01", "2025-03-02").success

    assert query("select id, created_at, event_date from events order by created_at") == [
        (FIRST, dt.datetime(2025, 3, 1, 23, 59, 59, 999999), dt.date(2025, 3, 1)),
        (SECOND, dt.datetime(2025, 3, 2), dt.date(2025, 3, 2)),
        (THIRD, dt.datetime(2025, 3, 2, 3), dt.date(2025, 3, 2)),
    ]


def test_timestamp_source_is_utc_whatever_the_session_time_zone(source, run_pipeline, query):
    # A plain timestamp column holds UTC (docs/contract.md, section 1), even when the DSN asks
    # for another zone.
    source.dsn = f"{source.dsn} options='-c TimeZone=America/New_York'"
    source.insert(
        event("2025-03-01 23:59:59.999999", id=FIRST),
        event("2025-03-02 00:00:00", id=SECOND),
        event("2025-03-02 03:00:00", id=THIRD),
    )

    assert run_pipeline("2025-03-01", "2025-03-02").success

    assert query("select id, created_at, event_date from events order by created_at") == [
        (FIRST, dt.datetime(2025, 3, 1, 23, 59, 59, 999999), dt.date(2025, 3, 1)),
        (SECOND, dt.datetime(2025, 3, 2), dt.date(2025, 3, 2)),
        (THIRD, dt.datetime(2025, 3, 2, 3), dt.date(2025, 3, 2)),
    ]


def test_source_dsn_may_be_a_libpq_uri(source, run_pipeline, query):
    params = conninfo_to_dict(source.dsn)
    source.dsn = (
        f"postgresql://{params['user']}@{params['host']}:{params['port']}/{params['dbname']}"
    )
    source.insert(event("2025-03-01 10:00"))

    assert run_pipeline("2025-03-01").success

    assert query("select count(*) from events") == [(1,)]


@pytest.mark.assets(*DAILY_TABLES)
def test_rematerialising_a_partition_replaces_it(source, run_pipeline, query):
    source.insert(event("2025-03-01 10:00", id=FIRST), event("2025-03-01 11:00", id=SECOND))
    assert run_pipeline("2025-03-01").success
    first_run = {table: query(f"select * from {table} order by all") for table in DAILY_TABLES}
    assert run_pipeline("2025-03-01").success
    assert {table: query(f"select * from {table} order by all") for table in DAILY_TABLES} == (
        first_run
    )

    source.execute(f"delete from {{table}} where id = '{SECOND}'")
    # A deletion from the source is only published when the run says it is wanted
    # (docs/contract.md, section 6; tests/e2e/test_checks.py shows the refusal).
    assert run_pipeline("2025-03-01", run_config=ALLOW_SHRINK).success

    assert query("select id from events") == [(FIRST,)]
    assert query("select event_count from daily_metrics") == [(1,)]
    assert query("select event_count from event_counts") == [(1,)]


@pytest.mark.assets("daily_metrics")
def test_late_events_are_picked_up_by_a_rerun_of_their_day(source, run_pipeline, query):
    source.insert(event("2025-03-01 10:00"))
    assert run_pipeline("2025-03-01").success
    source.insert(
        event("2025-03-01 11:00"), event("2025-03-01 12:00", event_type="message.received")
    )

    assert run_pipeline("2025-03-01").success

    assert query("select count(*) from events") == [(3,)]
    assert query("select total_messages from daily_metrics") == [(3,)]


@pytest.mark.assets(*DAILY_TABLES)
def test_empty_days_and_days_before_the_first_event_give_empty_tables(source, run_pipeline, query):
    source.insert(event("2025-03-03 10:00"))

    result = run_pipeline("2025-03-01", "2025-03-03")

    assert result.success
    # Every table published the empty days too: Dagster records each as done, with its own
    # row count (each partition's materialization carries its day's count, not the range's)
    events = [
        event
        for event in result.get_asset_materialization_events()
        if event.asset_key.to_user_string() in ("events", *DAILY_TABLES)
    ]
    row_counts = {
        (event.asset_key.to_user_string(), event.partition): (
            event.materialization.metadata["dagster/row_count"].value
        )
        for event in events
    }
    assert [row_counts["events", day] for day in ("2025-03-01", "2025-03-02", "2025-03-03")] == [
        0,
        0,
        1,
    ]
    for table in DAILY_TABLES:
        assert [row_counts[table, day] for day in ("2025-03-01", "2025-03-02")] == [0, 0]
    assert not any("rows_per_day" in event.materialization.metadata for event in events)
    assert query("select event_date, count(*) from events group by 1") == [(dt.date(2025, 3, 3), 1)]
    assert query("select date, event_count from daily_metrics") == [(dt.date(2025, 3, 3), 1)]
    assert query("select count(*) from data_quality") == [(0,)]


@pytest.mark.assets(AssetSelection.all())
def test_a_warehouse_of_only_empty_days_is_queryable(source, run_pipeline, query):
    assert run_pipeline("2025-03-01").success

    for table in ("events", *DAILY_TABLES):
        assert query(f"select count(*) from {table}") == [(0,)]
    assert query("select sum(total_tokens), max(date) from daily_metrics") == [(None, None)]


def test_lake_keeps_events_without_organization_or_event_type(source, run_pipeline, query):
    source.insert(
        event("2025-03-01 10:00", id=FIRST, organization_id=None),
        event("2025-03-01 11:00", id=SECOND, event_type=None),
        event("2025-03-01 12:00", id=THIRD, organization_id=None, event_type=None),
    )

    assert run_pipeline("2025-03-01").success

    assert query("select id, organization_id, event_type from events order by created_at") == [
        (FIRST, None, "message.sent"),
        (SECOND, ORG, None),
        (THIRD, None, None),
    ]


def test_lake_keeps_unknown_event_types(source, run_pipeline, query):
    source.insert(event("2025-03-01 10:00", event_type="billing.invoice_paid"))

    assert run_pipeline("2025-03-01").success

    assert query("select event_type from events") == [("billing.invoice_paid",)]


@pytest.mark.parametrize(
    "properties",
    [
        '{"tokens": "150", "nested": {"list": [1, 2.50, null]}, "name": "caf\\u00e9 \\u2615"}',
        "[1, 2]",
        '"text"',
        "42",
        "null",
    ],
)
def test_lake_properties_keep_the_original_json_text(source, run_pipeline, query, properties):
    source.insert(event("2025-03-01 10:00", properties=properties))

    assert run_pipeline("2025-03-01").success

    assert query("select properties::varchar from events") == source_rows(
        source, "select properties::text from {table}"
    )


# the two steps that connect to the source
@pytest.mark.assets("events", "organization_timezones")
def test_extraction_never_writes_to_the_source(source, run_pipeline):
    source.insert(event("2025-03-01 10:00"), event("2025-03-02 10:00", properties="[1]"))
    snapshot = (
        "select md5(string_agg(t::text, ',' order by id)),"
        " (select count(*) from pg_class where relnamespace = (select relnamespace"
        "   from pg_class where oid = '{table}'::regclass))"
        " from {table} as t"
    )
    before = source_rows(source, snapshot)

    assert run_pipeline("2025-03-01", "2025-03-02").success

    assert source_rows(source, snapshot) == before
    # The session is read-only even when the DSN's own options ask for the opposite.
    writable = f"{source.dsn} options='-c default_transaction_read_only=off'"
    for dsn in (source.dsn, writable):
        with (
            psycopg.connect(read_only_conninfo(dsn)) as connection,
            pytest.raises(psycopg.errors.ReadOnlySqlTransaction),
        ):
            connection.execute(f"delete from {source.table}")
