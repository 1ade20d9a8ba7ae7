import datetime as dt
import uuid
from pathlib import Path

import psycopg
import pytest
from dagster import Failure

from assets.resources import PruneDatabase, RetentionResource
from pipelines.retention import build_retention_jobs
from tests.e2e.support import data_files, lakehouse_resource, replace_partition
from warehouse.retention import delete_files, expire_snapshots, orphan_files, prune_source_day
from warehouse.source import extract_events_for_day
from warehouse.storage.reading import published_rows
from warehouse.storage.writing import delete_partitions
from warehouse.tables import DAILY_METRICS, DAILY_TABLES, EVENT_COUNTS, EVENTS, LAKE_TABLES

ORG = uuid.UUID("00000000-0000-4000-8000-000000000001")
TODAY = dt.datetime.now(dt.UTC).date()
RETENTION = RetentionResource()  # the default keeps
DEFAULT_RAW_RETENTION_DAYS = RETENTION.raw_days
DEFAULT_SOURCE_RETENTION_DAYS = RETENTION.source_days
JOBS = {job.name: job for job in build_retention_jobs()}


def days_ago(days: int) -> dt.date:
    return TODAY - dt.timedelta(days=days)


def at(day: dt.date, time: str) -> str:
    return f"{day.isoformat()} {time}"


def lake_rows(lakehouse, *days):
    """Rows of each day's raw partition; None where there is no partition."""
    lakehouse.reload(EVENTS)  # as last committed, by a job too
    return [published_rows(lakehouse, EVENTS, day) for day in days]


def daily_rows_of(lakehouse, day):
    """Rows of each daily table's partition `day`, as last committed."""
    rows = {}
    for spec in DAILY_TABLES:
        lakehouse.reload(spec)
        rows[spec.name] = published_rows(lakehouse, spec, day)
    return rows


def snapshot_ids(lakehouse):
    return [snapshot.snapshot_id for snapshot in lakehouse.table(EVENTS).metadata.snapshots]


def extract(source, lakehouse, *days):
    """Commits each day's source events as its raw partition, as the events asset does."""
    for day in days:
        extracted = extract_events_for_day(source.dsn, source.table, day)
        replace_partition(lakehouse, EVENTS, day, extracted.rows)


def source_rows(source, day):
    with psycopg.connect(source.dsn, options="-c TimeZone=UTC") as connection:
        (count,) = connection.execute(
            f"select count(*) from {source.table} where created_at >= %s and created_at < %s",
            (day, day + dt.timedelta(days=1)),
        ).fetchone()
    return count


OPS = ("delete_expired_lake_partitions", "prune_reconciled_source_days")


def retire(warehouse_dir, dry_run):
    return JOBS["retire_raw_lake"].execute_in_process(
        run_config={"ops": {OPS[0]: {"config": {"dry_run": dry_run}}}},
        resources={"lakehouse": lakehouse_resource(warehouse_dir), "retention": RETENTION},
    )


def prune(source, warehouse_dir, dry_run=False, raise_on_error=True):
    return JOBS["prune_source"].execute_in_process(
        run_config={"ops": {OPS[1]: {"config": {"dry_run": dry_run}}}},
        resources={
            "prune_database": PruneDatabase(dsn=source.dsn, table=source.table),
            "lakehouse": lakehouse_resource(warehouse_dir),
            "retention": RETENTION,
        },
        raise_on_error=raise_on_error,
    )


@pytest.fixture
def lake_days(source, lakehouse):
    """An expired raw partition, one just inside the keep, and a recent one: one event each."""
    days = (
        days_ago(DEFAULT_RAW_RETENTION_DAYS + 1),
        days_ago(DEFAULT_RAW_RETENTION_DAYS),
        days_ago(1),
    )
    source.insert(
        *[
            {"organization_id": ORG, "event_type": "message.sent", "created_at": at(day, "12:00")}
            for day in days
        ]
    )
    extract(source, lakehouse, *days)
    return days


def test_a_dry_run_lists_expired_raw_partitions_and_deletes_nothing(
    lake_days, lakehouse, warehouse_dir
):
    result = retire(warehouse_dir, dry_run=True)
    assert result.output_for_node(OPS[0]) == [lake_days[0].isoformat()]
    assert lake_rows(lakehouse, *lake_days) == [1, 1, 1]


@pytest.mark.assets(*(spec.name for spec in DAILY_TABLES))
def test_retirement_deletes_only_raw_partitions_past_the_keep_and_leaves_daily_tables(
    lake_days, lakehouse, warehouse_dir, run_pipeline, query
):
    """The expired day's daily tables are kept as they were; only its raw events go."""
    assert run_pipeline(lake_days[0].isoformat()).success
    daily_rows = daily_rows_of(lakehouse, lake_days[0])
    assert daily_rows[DAILY_METRICS.name] == daily_rows[EVENT_COUNTS.name] == 1

    result = retire(warehouse_dir, dry_run=False)

    assert result.output_for_node(OPS[0]) == [lake_days[0].isoformat()]
    assert lake_rows(lakehouse, *lake_days) == [None, 1, 1]
    assert daily_rows_of(lakehouse, lake_days[0]) == daily_rows
    assert query("select event_date from events order by event_date") == [
        (lake_days[1],),
        (lake_days[2],),
    ]
    assert query("select date, total_messages from daily_metrics") == [(lake_days[0], 1)]


def test_expire_snapshots_keeps_the_retention_window_and_removes_unreferenced_files(
    source, lakehouse
):
    """A day replaced twice: its first file is only referenced by the first snapshot."""
    day, keep_days = days_ago(3), 30
    source.insert({"organization_id": ORG, "created_at": at(day, "10:00")})
    extract(source, lakehouse, day)
    (replaced,) = data_files(lakehouse, EVENTS)
    source.insert({"organization_id": ORG, "created_at": at(day, "11:00")})
    extract(source, lakehouse, day)
    (current,) = data_files(lakehouse, EVENTS)
    snapshots = snapshot_ids(lakehouse)
    last_commit = dt.datetime.fromtimestamp(
        lakehouse.table(EVENTS).current_snapshot().timestamp_ms / 1000, dt.UTC
    )
    nothing_expired = {spec.name: 0 for spec in LAKE_TABLES}

    within = last_commit + dt.timedelta(days=keep_days - 1)
    assert expire_snapshots(lakehouse, now=within, keep_days=keep_days) == nothing_expired
    assert snapshot_ids(lakehouse) == snapshots
    assert replaced not in orphan_files(lakehouse, now=within)

    after = last_commit + dt.timedelta(days=keep_days + 1)
    expired = expire_snapshots(lakehouse, now=after, keep_days=keep_days)
    assert expired == {**nothing_expired, EVENTS.name: len(snapshots) - 1}
    assert snapshot_ids(lakehouse) == snapshots[-1:]  # the current one is always kept
    orphans = orphan_files(lakehouse, now=after)
    assert replaced in orphans and current not in orphans

    delete_files(lakehouse, orphans)

    assert not Path(replaced.removeprefix("file://")).exists()
    assert Path(current.removeprefix("file://")).exists()
    assert lake_rows(lakehouse, day) == [2]
    assert data_files(lakehouse, EVENTS) == [current]


@pytest.fixture
def old_days(source, lakehouse):
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
    extract(source, lakehouse, first, second, recent)
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


def test_the_prune_refuses_a_day_without_a_lake_partition(
    source, lakehouse, warehouse_dir, old_days
):
    delete_partitions(lakehouse, EVENTS, [old_days[0]])
    result = prune(source, warehouse_dir, raise_on_error=False)
    assert not result.success
    assert [source_rows(source, day) for day in old_days] == [3, 3, 1]


def test_the_prune_never_deletes_rows_missing_from_the_lake(source, lakehouse, warehouse_dir):
    """Counts can agree while sets differ: only the lake's own ids are deleted."""
    day = days_ago(DEFAULT_SOURCE_RETENTION_DAYS + 5)
    kept = uuid.uuid4()
    source.insert({"organization_id": ORG, "created_at": at(day, "10:00")})
    extract(source, lakehouse, day)
    source.execute("delete from {table}")
    source.insert({"id": kept, "organization_id": ORG, "created_at": at(day, "11:00")})
    result = prune(source, warehouse_dir)
    assert result.output_for_node(OPS[1]) == {day.isoformat(): 0}
    assert source_rows(source, day) == 1


def test_a_dry_run_prune_deletes_nothing(source, lakehouse, warehouse_dir):
    day = days_ago(DEFAULT_SOURCE_RETENTION_DAYS + 5)
    source.insert({"organization_id": ORG, "created_at": at(day, "10:00")})
    extract(source, lakehouse, day)
    result = prune(source, warehouse_dir, dry_run=True)
    assert result.output_for_node(OPS[1]) == {day.isoformat(): 1}
    assert source_rows(source, day) == 1


def test_a_day_larger_than_a_batch_is_deleted_batch_by_batch(source, lakehouse):
    day = days_ago(DEFAULT_SOURCE_RETENTION_DAYS + 5)
    source.insert(*[{"organization_id": ORG, "created_at": at(day, "10:00")} for _ in range(5)])
    extract(source, lakehouse, day)
    assert prune_source_day(source.dsn, source.table, lakehouse, day, batch_rows=2) == 5
    assert source_rows(source, day) == 0


def test_prune_source_without_its_dsn_fails_with_its_sentence_only(warehouse_dir):
    result = JOBS["prune_source"].execute_in_process(
        run_config={"ops": {OPS[1]: {"config": {"dry_run": False}}}},
        resources={
            "prune_database": PruneDatabase(dsn=""),
            "lakehouse": lakehouse_resource(warehouse_dir),
            "retention": RETENTION,
        },
        raise_on_error=False,
    )
    (failure,) = [event for event in result.all_events if event.is_step_failure]
    assert failure.event_specific_data.user_failure_data.description == (
        "ANALYTICS_PRUNE_DSN is not set: prune_source is off until it names a role that may "
        "delete from the source table"
    )


def test_a_late_row_after_a_prune_is_reported_kept_and_fails_no_run(
    source, lakehouse, warehouse_dir
):
    """The day was extracted with 3 rows and pruned; then 1 late row reached the source."""
    day = days_ago(DEFAULT_SOURCE_RETENTION_DAYS + 5)
    source.insert(*({"organization_id": ORG, "created_at": at(day, f"10:0{n}")} for n in range(3)))
    extract(source, lakehouse, day)
    prune(source, warehouse_dir)
    source.insert({"organization_id": ORG, "created_at": at(day, "23:00")})

    result = prune(source, warehouse_dir)

    assert result.success
    assert result.output_for_node(OPS[1]) == {}  # nothing pruned
    (output,) = [
        event.event_specific_data.metadata
        for event in result.all_events
        if event.event_type_value == "STEP_OUTPUT"
    ]
    assert output["late_rows_after_prune"].value == {day.isoformat(): {"source": 1, "lake": 3}}
    assert output["refused_days"].value == {}
    assert source_rows(source, day) == 1
    assert published_rows(lakehouse, EVENTS, day) == 3
