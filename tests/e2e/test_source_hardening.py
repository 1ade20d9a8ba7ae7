"""Reading the source when it misbehaves (issue 14, items 1 and 2).

A transient failure during a day's extraction (the connection terminated, the server
restarted, a serialization failure) re-reads the whole day after a backoff and logs a
warning naming the day and the attempt; the day still ends with exactly the source's
rows. A permanent error fails at once with one sentence, and so does a source column of
a type the contract does not allow, before any day is read.

Everything runs against the real PostgreSQL; the restart test restarts the machine's
Debian cluster and waits until it answers again.
"""

import datetime as dt
import logging
import os
import subprocess
import time
import uuid
from collections.abc import Callable
from concurrent.futures import Future, ThreadPoolExecutor
from pathlib import Path

import psycopg
import pytest
from dagster import AssetSelection, DagsterInstance, materialize
from psycopg.conninfo import conninfo_to_dict

from assets.resources import SourceResource
from pipelines.configuration import load_configuration
from tests.e2e.support import defs, lakehouse_resource
from warehouse.settings import ConfigurationError
from warehouse.source import SourceError, extract_events_for_day

ORG = uuid.UUID("00000000-0000-4000-8000-00000000000a")
DAY = dt.date(2025, 3, 1)
# Enough rows that the COPY streams for a while: the interruption lands inside it.
ROWS_OF_THE_DAY = 300_000
# A terminated session gets the server's FATAL message (SQLSTATE 57P01) or, when its
# socket closes before the client reads that message, only libpq's lost connection.
SESSION_ENDED = (
    "terminating connection due to administrator command",
    "PQgetCopyData() failed: server closed the connection unexpectedly",
)


def seed_the_day(source, rows=ROWS_OF_THE_DAY):
    """`rows` events on 2025-03-01, 250 ms apart, plus one on each neighbouring day."""
    source.execute(
        "insert into {table} (id, organization_id, event_type, properties, created_at)"
        " select gen_random_uuid(), '" + str(ORG) + "', 'message.sent', '{{\"tokens\": 5}}',"
        f" timestamp '2025-03-01' + g * interval '250 milliseconds'"
        f" from generate_series(0, {rows - 1}) g"
    )
    source.insert(
        {"organization_id": ORG, "event_type": "message.sent", "created_at": "2025-02-28 23:59"},
        {"organization_id": ORG, "event_type": "message.sent", "created_at": "2025-03-02 00:00"},
    )


def source_count(source, day):
    with psycopg.connect(source.dsn) as connection:
        (count,) = connection.execute(
            f"select count(*) from {source.table} where created_at::date = %s", (day,)
        ).fetchone()
    return count


def materialize_events(source, warehouse_dir, instance, retries=3):
    """The `events` asset for 2025-03-01, run by Dagster in this process."""
    return materialize(
        list(defs.assets or []),
        selection=AssetSelection.assets("events"),
        partition_key=DAY.isoformat(),
        resources={
            **defs.resources,
            "source": SourceResource(dsn=source.dsn, table=source.table, retries=retries),
            "lakehouse": lakehouse_resource(warehouse_dir),
        },
        instance=instance,
        raise_on_error=False,
    )


def warnings_of(instance, run_id):
    return [
        entry.user_message
        for entry in instance.all_logs(run_id)
        if entry.level == logging.WARNING and entry.user_message.startswith("Reading ")
    ]


def failure_description(result):
    (failure,) = result.get_step_failure_events()
    return failure.step_failure_data.user_failure_data.description


def once_the_copy_streams(source, interrupt: Callable[[int], None]) -> Future:
    """In a thread: waits until this test's extraction is streaming its COPY, then calls
    `interrupt(backend_pid)` once. The future's result is that pid (None if never seen)."""
    schema = source.table.split(".")[0]

    def watch():
        with psycopg.connect(source.dsn, autocommit=True) as connection:
            for _ in range(6000):
                found = connection.execute(
                    "select pid from pg_stat_activity"
                    " where application_name = 'analytics-warehouse' and state = 'active'"
                    " and query ilike 'copy%%' and query like %s",
                    (f"%{schema}%",),
                ).fetchone()
                if found:
                    time.sleep(0.05)  # into the stream, not its first bytes
                    break
                time.sleep(0.005)
            else:
                return None
        interrupt(found[0])
        return found[0]

    return ThreadPoolExecutor(max_workers=1).submit(watch)


def terminate_backend(dsn):
    def terminate(pid):
        with psycopg.connect(dsn, autocommit=True) as connection:
            connection.execute("select pg_terminate_backend(%s)", (pid,))

    return terminate


def debian_cluster_version():
    (version,) = [path.name for path in Path("/etc/postgresql").iterdir()]
    return version


def restart_debian_cluster(_pid):
    subprocess.run(
        [
            "pg_ctlcluster",
            "--skip-systemctl-redirect",
            debian_cluster_version(),
            "main",
            "restart",
            "-m",
            "fast",
        ],
        check=True,
        capture_output=True,
    )


def wait_until_postgres_answers():
    for _ in range(120):
        if subprocess.run(["pg_isready", "-h", "127.0.0.1", "-q"], check=False).returncode == 0:
            return
        time.sleep(0.5)
    pytest.fail("PostgreSQL did not come back after the restart")


def test_connection_terminated_mid_copy_is_retried_and_the_day_has_exactly_the_source_rows(
    source, warehouse_dir, query
):
    seed_the_day(source)
    instance = DagsterInstance.ephemeral()

    interrupted = once_the_copy_streams(source, terminate_backend(source.dsn))
    result = materialize_events(source, warehouse_dir, instance)

    assert interrupted.result(timeout=60) is not None
    assert result.success
    assert source_count(source, DAY) == ROWS_OF_THE_DAY
    assert query("select count(*), count(distinct id) from events where event_date = ?", [DAY]) == [
        (ROWS_OF_THE_DAY, ROWS_OF_THE_DAY)
    ]
    (warning,) = warnings_of(instance, result.run_id)
    assert warning in {
        f"Reading {source.table} for 2025-03-01 failed on attempt 1 of 4, retrying: {cause}"
        for cause in SESSION_ENDED
    }


def test_server_restarted_mid_copy_is_retried_and_the_day_has_exactly_the_source_rows(
    source, warehouse_dir, query
):
    dsn = conninfo_to_dict(source.dsn)
    if (dsn.get("host"), dsn.get("port")) != ("127.0.0.1", "5432"):
        pytest.fail(f"the restart test needs the Debian cluster on 127.0.0.1:5432, not {dsn}")
    seed_the_day(source)
    instance = DagsterInstance.ephemeral()

    try:
        restarted = once_the_copy_streams(source, restart_debian_cluster)
        result = materialize_events(source, warehouse_dir, instance)
        assert restarted.result(timeout=120) is not None
    finally:
        wait_until_postgres_answers()

    assert result.success
    assert source_count(source, DAY) == ROWS_OF_THE_DAY
    assert query("select count(*), count(distinct id) from events where event_date = ?", [DAY]) == [
        (ROWS_OF_THE_DAY, ROWS_OF_THE_DAY)
    ]
    warnings = warnings_of(instance, result.run_id)
    # A fast shutdown ends each session as pg_terminate_backend does; while the server
    # restarts, later attempts may be refused too (then warned about as attempt 2, ...).
    assert warnings[0] in {
        f"Reading {source.table} for 2025-03-01 failed on attempt 1 of 4, retrying: {cause}"
        for cause in SESSION_ENDED
    }


def test_serialization_failure_is_retried_and_the_retry_reads_the_whole_day(source):
    """The source is a view that raises SQLSTATE 40001 while this test holds a lock; the
    retry callback releases it, so the second attempt reads the day."""
    schema = source.table.split(".")[0]
    lock = int(uuid.uuid4().int % 2**31)
    source.execute("alter table {table} rename to base_events")
    source.execute(
        f"create function {schema}.serializable() returns boolean language plpgsql as $$"
        f" begin if not pg_try_advisory_lock_shared({lock}) then raise exception using"
        " errcode = 'serialization_failure',"
        " message = 'could not serialize access due to concurrent update'; end if;"
        f" perform pg_advisory_unlock_shared({lock}); return true; end $$"
    )
    source.execute(
        f"create view {{table}} as select * from {schema}.base_events"
        f" where (select {schema}.serializable())"
    )
    seed_the_day(source, rows=1000)
    holder = psycopg.connect(source.dsn, autocommit=True)
    holder.execute("select pg_advisory_lock(%s)", (lock,))
    retried = []

    def release(day, attempt, cause):
        retried.append((day, attempt, cause))
        holder.execute("select pg_advisory_unlock(%s)", (lock,))

    try:
        extracted = extract_events_for_day(source.dsn, source.table, DAY, on_retry=release)
    finally:
        holder.close()

    assert retried == [(DAY, 1, "could not serialize access due to concurrent update")]
    assert (extracted.source_rows, extracted.rows.num_rows) == (1000, 1000)


def test_transient_failure_is_retried_a_bounded_number_of_times_then_fails_with_one_sentence(
    source,
):
    nothing_listens = "host=127.0.0.1 port=1 user=postgres dbname=test connect_timeout=3"
    retried = []

    with pytest.raises(SourceError) as raised:
        extract_events_for_day(
            nothing_listens,
            source.table,
            DAY,
            retries=2,
            on_retry=lambda day, attempt, cause: retried.append((day, attempt)),
        )

    assert retried == [(DAY, 1), (DAY, 2)]
    assert str(raised.value) == (
        f"Reading {source.table} for 2025-03-01 failed after 3 attempts: Failed to connect:"
        ' connection to server at "127.0.0.1", port 1 failed: Connection refused'
    )


@pytest.mark.parametrize(
    ("breakage", "cause"),
    [
        ("missing table", 'relation "{schema}.no_such_events" does not exist'),
        ("undefined column", 'column "user_id" does not exist'),
        ("unknown role", 'role "no_such_role" does not exist'),
    ],
)
def test_permanent_error_is_not_retried_and_fails_at_once_with_one_sentence(
    source, breakage, cause
):
    schema = source.table.split(".")[0]
    dsn, table = source.dsn, source.table
    if breakage == "missing table":
        table = f"{schema}.no_such_events"
    elif breakage == "undefined column":
        source.execute("alter table {table} drop column user_id")
    else:
        dsn = source.dsn.replace("user=postgres", "user=no_such_role")
    retried = []

    with pytest.raises(SourceError) as raised:
        extract_events_for_day(
            dsn, table, DAY, on_retry=lambda day, attempt, cause: retried.append(attempt)
        )

    assert retried == []
    assert str(raised.value) == f"Reading {table} for 2025-03-01 failed: " + cause.format(
        schema=schema
    )


@pytest.mark.parametrize(
    ("column", "source_type", "expected"),
    [
        ("created_at", "date", "timestamp or timestamptz"),
        ("properties", "text", "jsonb or json"),
        ("organization_id", "text", "uuid"),
    ],
)
def test_source_column_of_an_unexpected_type_fails_the_run_at_once_naming_it(
    source, run_pipeline, column, source_type, expected
):
    source.insert({"organization_id": ORG, "created_at": "2025-03-01 10:00"})
    source.execute(f"alter table {{table}} alter column {column} type {source_type}")

    result = run_pipeline("2025-03-01", raise_on_error=False)

    assert not result.success
    assert failure_description(result) == (
        f"Source table {source.table} column {column} is {source_type}, expected {expected}."
    )
    # nothing read from the source is published (the price list does not read it)
    materialized = result.get_asset_materialization_events()
    assert {event.asset_key.to_user_string() for event in materialized} <= {"model_prices"}


def test_two_columns_of_unexpected_types_are_named_in_one_sentence(source, run_pipeline):
    source.execute("alter table {table} alter column created_at type date")
    source.execute("alter table {table} alter column properties type text")

    result = run_pipeline("2025-03-01", raise_on_error=False)

    assert failure_description(result) == (
        f"Source table {source.table} columns have unexpected types:"
        " properties is text, expected jsonb or json;"
        " created_at is date, expected timestamp or timestamptz."
    )


@pytest.mark.assets("events")
def test_the_contracts_other_column_types_are_read(source, run_pipeline, query):
    source.execute("alter table {table} alter column event_type type text")
    source.execute("alter table {table} alter column properties type json")
    source.execute("alter table {table} alter column created_at type timestamptz")
    source.insert(
        {
            "organization_id": ORG,
            "event_type": "message.sent",
            "properties": '{"tokens": 7}',
            "created_at": "2025-03-01 10:00+00",
        }
    )

    result = run_pipeline("2025-03-01")

    assert result.success
    assert query("select event_type, properties, tokens, created_at from events") == [
        ("message.sent", '{"tokens": 7}', 7, dt.datetime(2025, 3, 1, 10, 0))
    ]


def test_source_retries_default_to_three_and_are_read_from_their_variable(monkeypatch):
    monkeypatch.delenv("ANALYTICS_SOURCE_RETRIES", raising=False)
    assert load_configuration(os.environ).source.retries == 3

    monkeypatch.setenv("ANALYTICS_SOURCE_RETRIES", "5")
    assert load_configuration(os.environ).source.retries == 5

    monkeypatch.setenv("ANALYTICS_SOURCE_RETRIES", "three")
    with pytest.raises(ConfigurationError) as raised:
        load_configuration(os.environ)
    assert (
        str(raised.value)
        == "ANALYTICS_SOURCE_RETRIES must be a whole number of retries, got 'three'"
    )
