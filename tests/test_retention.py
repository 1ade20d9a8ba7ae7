import datetime as dt
import uuid

import duckdb
import psycopg
import pytest
from dagster import Failure
from pipelines.resources import PruneDatabase, Warehouse
from pipelines.settings import DEFAULT_RAW_RETENTION_DAYS, DEFAULT_SOURCE_RETENTION_DAYS
from warehouse.lake import partition_path

from pipelines.retention import prune_source, retire_raw_lake
from warehouse.retention import prune_source_day
from warehouse.source import extract_events_for_day
from warehouse.tables import DAILY_METRICS, EVENTS

ORG = uuid.UUID("00000000-0000-4000-8000-000000000001")
TODAY = dt.datetime.now(dt.UTC).date()


def days_ago(days: int) -> dt.date:
    return TODAY - dt.timedelta(days=days)


def at(day: dt.date, time: str) -> str:
    return f"{day.isoformat()} {time}"


def lake_file(warehouse_dir, day):
    return partition_path(warehouse_dir, EVENTS.name, day)


def extract(source, warehouse_dir, *days):
    for day in days:
        extract_events_for_day(source.dsn, source.table, day, lake_file(warehouse_dir, day))


def source_rows(source, day):
    with psycopg.connect(source.dsn, options="-c TimeZone=UTC") as connection:
        (count,) = connection.execute(
            f"select count(*) from {source.table} where created_at >= %s and created_at < %s",
            (day, day + dt.timedelta(days=1)),
        ).fetchone()
    return count


OPS = ("delete_expired_lake_partitions", "prune_reconciled_source_days")


def retire(warehouse_dir, dry_run):
    return retire_raw_lake.execute_in_process(
        run_config={"ops": {OPS[0]: {"config": {"dry_run": dry_run}}}},
        resources={"warehouse": Warehouse(directory=str(warehouse_dir))},
    )


def prune(source, warehouse_dir, dry_run=False, raise_on_error=True):
    return prune_source.execute_in_process(
        run_config={"ops": {OPS[1]: {"config": {"dry_run": dry_run}}}},
        resources={
            "prune_database": PruneDatabase(dsn=source.dsn, table=source.table),
            "warehouse": Warehouse(directory=str(warehouse_dir)),
        },
        raise_on_error=raise_on_error,
    )


@pytest.fixture
def lake_days(source, warehouse_dir):
    """An expired raw partition, one just inside the keep, and a recent one."""
    days = (
        days_ago(DEFAULT_RAW_RETENTION_DAYS + 1),
        days_ago(DEFAULT_RAW_RETENTION_DAYS),
        days_ago(1),
    )
    source.insert(*[{"organization_id": ORG, "created_at": at(day, "12:00")} for day in days])
    extract(source, warehouse_dir, *days)
    return days


def test_a_dry_run_lists_expired_raw_partitions_and_deletes_nothing(lake_days, warehouse_dir):
    result = retire(warehouse_dir, dry_run=True)
    assert result.output_for_node(OPS[0]) == [lake_days[0].isoformat()]
    assert all(lake_file(warehouse_dir, day).exists() for day in lake_days)


def test_retirement_deletes_only_raw_partitions_past_the_keep(lake_days, warehouse_dir):
    aggregate = partition_path(warehouse_dir, "daily_metrics", lake_days[0])
    aggregate.parent.mkdir(parents=True)
    columns = ", ".join(f"null::{c.duckdb_type} as {c.name}" for c in DAILY_METRICS.columns)
    duckdb.sql(f"copy (select {columns}) to '{aggregate}' (format parquet)")
    retire(warehouse_dir, dry_run=False)
    assert not lake_file(warehouse_dir, lake_days[0]).exists()
    assert lake_file(warehouse_dir, lake_days[1]).exists()
    assert lake_file(warehouse_dir, lake_days[2]).exists()
    assert aggregate.exists()


@pytest.fixture
def old_days(source, warehouse_dir):
    """Two extracted days past the source keep, then a late event into the second one."""
    first = days_ago(DEFAULT_SOURCE_RETENTION_DAYS + 2)
    second = first + dt.timedelta(days=1)
    recent = days_ago(DEFAULT_SOURCE_RETENTION_DAYS - 1)
    source.insert(
        {"organization_id": ORG, "created_at": at(first, "00:00")},
        {"organization_id": ORG, "created_at": at(first, "12:00")},
        {"organization_id": ORG, "created_at": at(first, "23:59:59.999999")},
        {"organization_id": ORG, "created_at": at(second, "00:00")},
        {"organization_id": ORG, "created_at": at(second, "08:00")},
        {"organization_id": ORG, "created_at": at(recent, "08:00")},
    )
    extract(source, warehouse_dir, first, second, recent)
    source.insert({"organization_id": ORG, "created_at": at(second, "09:00")})
    return first, second, recent


def test_the_prune_deletes_a_reconciled_day_and_refuses_one_that_is_not(
    source, warehouse_dir, old_days
):
    first, second, _ = old_days
    with pytest.raises(Failure) as raised:
        prune(source, warehouse_dir)
    failure = raised.value
    assert failure.metadata["rows_per_day"].value == {first.isoformat(): 3}
    assert failure.metadata["refused_days"].value == {second.isoformat(): {"source": 3, "lake": 2}}
    assert [source_rows(source, day) for day in old_days] == [0, 3, 1]


def test_the_prune_refuses_a_day_without_a_lake_partition(source, warehouse_dir, old_days):
    lake_file(warehouse_dir, old_days[0]).unlink()
    result = prune(source, warehouse_dir, raise_on_error=False)
    assert not result.success
    assert [source_rows(source, day) for day in old_days] == [3, 3, 1]


def test_the_prune_never_deletes_rows_missing_from_the_lake(source, warehouse_dir):
    """Counts can agree while sets differ: only the lake's own ids are deleted."""
    day = days_ago(DEFAULT_SOURCE_RETENTION_DAYS + 5)
    kept = uuid.uuid4()
    source.insert({"organization_id": ORG, "created_at": at(day, "10:00")})
    extract(source, warehouse_dir, day)
    source.execute("delete from {table}")
    source.insert({"id": kept, "organization_id": ORG, "created_at": at(day, "11:00")})
    result = prune(source, warehouse_dir)
    assert result.output_for_node(OPS[1]) == {day.isoformat(): 0}
    assert source_rows(source, day) == 1


def test_a_dry_run_prune_deletes_nothing(source, warehouse_dir):
    day = days_ago(DEFAULT_SOURCE_RETENTION_DAYS + 5)
    source.insert({"organization_id": ORG, "created_at": at(day, "10:00")})
    extract(source, warehouse_dir, day)
    result = prune(source, warehouse_dir, dry_run=True)
    assert result.output_for_node(OPS[1]) == {day.isoformat(): 1}
    assert source_rows(source, day) == 1


def test_a_day_larger_than_a_batch_is_deleted_batch_by_batch(source, warehouse_dir):
    day = days_ago(DEFAULT_SOURCE_RETENTION_DAYS + 5)
    source.insert(*[{"organization_id": ORG, "created_at": at(day, "10:00")} for _ in range(5)])
    extract(source, warehouse_dir, day)
    assert prune_source_day(source.dsn, source.table, warehouse_dir, day, batch_rows=2) == 5
    assert source_rows(source, day) == 0
