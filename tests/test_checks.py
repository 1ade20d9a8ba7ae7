import datetime as dt
import uuid

import duckdb
import psycopg
from dagster import AssetCheckSeverity, AssetKey, materialize
from pipelines.resources import SourceDatabase, Warehouse
from psycopg import sql
from warehouse.lake import partition_path

from assets.checks import COUNTS_CHECK, INVALID_SHARE_CHECK, KEY_CHECK, check_daily_table
from pipelines.definitions import defs
from warehouse.tables import DAILY_METRICS, DAILY_TABLES, DATA_QUALITY, EVENTS

ORG = uuid.UUID("00000000-0000-4000-8000-000000000001")
DAY = dt.date(2025, 3, 1)


def evaluations(result):
    return {
        (evaluation.asset_key.to_user_string(), evaluation.check_name): evaluation
        for evaluation in result.get_asset_check_evaluations()
    }


def write_partition(warehouse_dir, table, query):
    path = partition_path(warehouse_dir, table, DAY)
    path.parent.mkdir(parents=True, exist_ok=True)
    with duckdb.connect() as connection:
        connection.execute(f"copy ({query}) to '{path}' (format parquet)")


def test_a_clean_day_passes_every_check_and_reports_its_figures(source, run_pipeline):
    source.insert(
        {"organization_id": ORG, "event_type": "message.sent", "created_at": "2025-03-01 10:00"},
        {"organization_id": ORG, "event_type": "message.sent", "created_at": "2025-03-01 11:00"},
    )
    checks = evaluations(run_pipeline("2025-03-01"))
    for spec in DAILY_TABLES:
        assert checks[(spec.name, KEY_CHECK)].passed
        assert checks[(spec.name, KEY_CHECK)].metadata["duplicate_keys"].value == 0
    assert checks[(DAILY_METRICS.name, COUNTS_CHECK)].passed
    negative = checks[(DAILY_METRICS.name, COUNTS_CHECK)].metadata["negative_rows_per_column"]
    assert negative.value["total_messages"] == 0
    assert checks[(DATA_QUALITY.name, INVALID_SHARE_CHECK)].passed


def test_duplicate_keys_fail_the_key_check(tmp_path):
    write_partition(
        tmp_path,
        DAILY_METRICS.name,
        f"select '{ORG}'::uuid as organization_id, date '{DAY}' as date, 1::bigint as event_count"
        " from range(2)",
    )
    key_check, counts_check = check_daily_table(DAILY_METRICS, tmp_path, [DAY], 0.05)
    assert not key_check.passed
    assert key_check.metadata["duplicate_keys"].value == 1
    assert key_check.metadata["duplicate_rows"].value == 2
    assert counts_check.passed


def test_a_negative_count_fails_the_counts_check(tmp_path):
    write_partition(
        tmp_path,
        DAILY_METRICS.name,
        f"select '{ORG}'::uuid as organization_id, date '{DAY}' as date,"
        " -1::bigint as total_tokens, 3::bigint as event_count",
    )
    key_check, counts_check = check_daily_table(DAILY_METRICS, tmp_path, [DAY], 0.05)
    assert key_check.passed
    assert not counts_check.passed
    assert counts_check.metadata["negative_rows_per_column"].value == {
        "total_tokens": 1,
        "event_count": 0,
    }


def invalid_day(source):
    """Ten events of which two lack an organisation: a 20 % share of one issue."""
    source.insert(
        *[
            {
                "organization_id": None if number < 2 else ORG,
                "event_type": "message.sent",
                "created_at": f"2025-03-01 10:{number:02d}",
            }
            for number in range(10)
        ]
    )


def test_a_high_invalid_share_warns_but_publishes_the_day(source, run_pipeline, query):
    invalid_day(source)
    result = run_pipeline("2025-03-01")
    check = evaluations(result)[(DATA_QUALITY.name, INVALID_SHARE_CHECK)]
    assert result.success
    assert not check.passed
    assert check.severity == AssetCheckSeverity.WARN
    assert check.metadata["largest_share"].value == 0.2
    assert check.metadata["issues_over_threshold"].value == [
        {
            "date": "2025-03-01",
            "issue": "missing_organization_id",
            "count": 2,
            "events": 10,
            "share": 0.2,
        }
    ]
    assert query("select event_count from daily_metrics") == [(8,)]


def test_the_invalid_share_threshold_is_configurable(source, run_pipeline, monkeypatch):
    monkeypatch.setenv("ANALYTICS_MAX_INVALID_SHARE", "0.25")
    invalid_day(source)
    check = evaluations(run_pipeline("2025-03-01"))[(DATA_QUALITY.name, INVALID_SHARE_CHECK)]
    assert check.passed
    assert check.metadata["max_invalid_share"].value == 0.25


def test_a_short_extraction_blocks_every_daily_table(source, warehouse_dir):
    """The blocking `lake_rows_match_source` check stops the daily tables.

    A lake shorter than its source is made deterministic with a view as the source
    table: its rows exist only for the first statement of a transaction (a volatile
    function counts statements in a transaction-local setting, which a read-only
    session may still set). Of the extraction's copy and count, read in one snapshot,
    the first sees the day's event and the second sees none, so lake and source
    disagree by one on every run: a source that changes under a snapshot, which is
    what the check is there for.
    """
    source.insert(
        {"organization_id": ORG, "event_type": "message.sent", "created_at": "2025-03-01 10:00"},
    )
    schema, table = source.table.split(".")
    with psycopg.connect(source.dsn, autocommit=True) as connection:
        connection.execute(
            sql.SQL(
                "create function {}() returns int language plpgsql volatile as $$"
                " declare n int := coalesce(nullif(current_setting('test.statements', true),"
                " ''), '0')::int + 1;"
                " begin perform set_config('test.statements', n::text, true); return n; end $$"
            ).format(sql.Identifier(schema, "statement_number"))
        )
        connection.execute(
            sql.SQL("create view {} as select * from {} where (select {}()) = 1").format(
                sql.Identifier(schema, "shrinking_events"),
                sql.Identifier(schema, table),
                sql.Identifier(schema, "statement_number"),
            )
        )

    result = materialize(
        list(defs.assets or []),
        resources={
            "source": SourceDatabase(dsn=source.dsn, table=f"{schema}.shrinking_events"),
            "warehouse": Warehouse(directory=str(warehouse_dir)),
        },
        partition_key="2025-03-01",
        raise_on_error=False,
    )

    reconciliation = evaluations(result)[(EVENTS.name, "lake_rows_match_source")]
    assert not reconciliation.passed
    (counts,) = reconciliation.metadata["mismatched_days"].value.values()
    assert sorted(counts.values()) == [0, 1]
    materialized = {
        event.asset_key for event in result.get_asset_materialization_events() if event.asset_key
    }
    assert materialized == {AssetKey(EVENTS.name)}
    for spec in DAILY_TABLES:
        assert not partition_path(warehouse_dir, spec.name, DAY).exists()
