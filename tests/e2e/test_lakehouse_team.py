"""The lakehouse for a team (docs/contract.md, section 6): S3, a PostgreSQL catalog, parallel runs.

Every day here has only `message.sent` events of one organisation, each with 10 tokens,
so a day's daily_metrics row is read off its event count N: total_messages = N,
total_tokens = 10 * N, event_count = N. The S3 test's first day is the richer one
written out above its events.
"""

import datetime as dt
import logging
import multiprocessing
import os
import signal
import sqlite3
import subprocess
import sys
import uuid
from collections.abc import Iterator
from pathlib import Path

import duckdb
import psycopg
import pytest
import sqlalchemy
from dagster import DagsterInstance, materialize
from psycopg import sql
from psycopg.conninfo import conninfo_to_dict
from pyiceberg.catalog.sql import SqlCatalog

from assets.partitions import partition_range_tags
from assets.resources import SourceResource
from pipelines.configuration import load_configuration
from tests.e2e.s3_server import ACCESS_KEY_ID, REGION, SECRET_ACCESS_KEY, s3_bucket, s3_server
from tests.e2e.support import defs
from warehouse.storage.catalog import Lakehouse
from warehouse.views import connect

# the fixtures this module uses from s3_server
__all__ = ["s3_bucket", "s3_server"]

ORG = uuid.UUID("00000000-0000-4000-8000-00000000000b")
AGENT = uuid.UUID("00000000-0000-4000-8000-0000000000b1")
USER = uuid.UUID("00000000-0000-4000-8000-0000000000d1")
DAGSTER = Path(sys.executable).parent / "dagster"
MATERIALIZE = [str(DAGSTER), "asset", "materialize", "-m", "pipelines.definitions"]
# Every table of the contract, written out by hand.
TABLES = {
    "events",
    "daily_metrics",
    "agent_metrics",
    "event_counts",
    "data_quality",
    "daily_active_users",
    "daily_measurements",
    "period_comparison",
    "top_agents",
    "model_prices",
    "model_usage",
    "metric_anomalies",
    "organization_timezones",
    "daily_metrics_local",
    "agent_metrics_local",
    "event_counts_local",
    "daily_active_users_local",
    "daily_measurements_local",
}


def event(created_at, event_type="message.sent", **fields):
    return {
        "organization_id": ORG,
        "event_type": event_type,
        "created_at": created_at,
        "user_id": USER,
        **fields,
    }


def march(day):
    return dt.date(2025, 3, day)


def organisation(value):
    """An organization_id as read by pyiceberg (a UUID or its 16 bytes) as a UUID."""
    return uuid.UUID(bytes=value) if isinstance(value, bytes) else uuid.UUID(str(value))


def insert_message_days(source, events_per_day):
    """On each March day d in `events_per_day`, that many message.sent events of 10 tokens."""
    for day, count in events_per_day.items():
        source.execute(
            "insert into {table} (id, organization_id, event_type, properties, user_id,"
            " created_at) select gen_random_uuid(), "
            f"'{ORG}', 'message.sent', '{{{{\"tokens\": 10}}}}', '{USER}',"
            f" timestamp '{march(day)}' + n * interval '1 second'"
            f" from generate_series(1, {count}) as n"
        )


def message_day_rows(events_per_day):
    """(date, total_messages, total_tokens, event_count) of each day, by hand."""
    return [(march(day), count, 10 * count, count) for day, count in events_per_day.items()]


def read_daily_metrics(analytics_duckdb):
    with duckdb.connect(str(analytics_duckdb), read_only=True) as connection:
        return connection.execute(
            "select date, total_messages, total_tokens, event_count"
            " from daily_metrics where organization_id = $1 order by date",
            [ORG],
        ).fetchall()


def cli_environment(source, tmp_path, warehouse_dir):
    """The variables a user sets for `dagster asset materialize`, and nothing of this test's."""
    environment = {
        key: value
        for key, value in os.environ.items()
        if not key.startswith(("ANALYTICS_", "DAGSTER_", "AWS_"))
    }
    dagster_home = tmp_path / "dagster_home"
    dagster_home.mkdir(exist_ok=True)
    # Dagster's own SQLite storage is created by its first user: processes creating it at
    # once race on its schema ("alembic_version has more than one head"). A team's
    # DAGSTER_HOME exists before its runs; so does this one.
    with DagsterInstance.from_config(str(dagster_home)):
        pass
    environment.update(
        ANALYTICS_SOURCE_DSN=source.dsn,
        ANALYTICS_SOURCE_TABLE=source.table,
        ANALYTICS_WAREHOUSE_DIR=str(warehouse_dir),
        ANALYTICS_START_DATE="2025-01-01",
        DAGSTER_HOME=str(dagster_home),
    )
    return environment


def start_cli_range(environment, first, last):
    return subprocess.Popen(
        [*MATERIALIZE, "--select", "*", "--partition-range", f"{first}...{last}"],
        # not the project root, whose .env (a developer's settings) Dagster and the code read
        cwd=Path(environment["ANALYTICS_WAREHOUSE_DIR"]).parent,
        env=environment,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        start_new_session=True,
    )


def finish(process):
    """Waits for a CLI run; its exit code and the end of its output, for the assertion."""
    stdout, stderr = process.communicate(timeout=900)
    return process.returncode, (stdout + stderr)[-3000:]


def local_catalog(warehouse_dir):
    """The warehouse's embedded catalog opened with pyiceberg alone."""
    return SqlCatalog(
        "analytics", uri=f"sqlite:///{warehouse_dir}/catalog.db", warehouse=warehouse_dir.as_uri()
    )


# --- an S3 warehouse with its catalog in PostgreSQL --------------------------------------

# 2025-03-01, by hand: 3 messages (1 sent, 2 received), 40 tokens, response times 100 and
# 300 ms (mean 200, p95 = 100 + 0.95 * 200 = 290), 1 agent, 1 error, 4 events.
# 2025-03-02: 2 messages, no tokens, no response time, no error, 2 events.
S3_EVENTS = (
    event("2025-03-01 09:00"),
    event("2025-03-01 09:01", "message.received", properties={"responseTime": 100, "tokens": 10}),
    event("2025-03-01 09:02", "message.received", properties={"responseTime": 300, "tokens": 30}),
    event("2025-03-01 09:03", "agent.error", resource_type="agent", resource_id=AGENT),
    event("2025-03-02 12:00"),
    event("2025-03-02 12:30"),
)
S3_DAILY_METRICS = [
    # date, total_messages, total_tokens, avg_response_time, p95_response_time,
    # agent_count, error_count, event_count
    (march(1), 3, 40, 200.0, 290.0, 1, 1, 4),
    (march(2), 2, 0, None, None, 0, 0, 2),
]


@pytest.fixture
def postgres_catalog(postgres_dsn) -> Iterator[str]:
    """The SQLAlchemy URL of a new, empty database for the Iceberg catalog; dropped after."""
    name = f"cat_{uuid.uuid4().hex[:12]}"
    with psycopg.connect(postgres_dsn, autocommit=True) as connection:
        connection.execute(sql.SQL("create database {}").format(sql.Identifier(name)))
    server = conninfo_to_dict(postgres_dsn)
    url = sqlalchemy.URL.create(
        "postgresql+psycopg",
        username=server.get("user"),
        password=server.get("password"),
        host=server.get("host"),
        port=int(server["port"]) if server.get("port") else None,
        database=name,
    )
    yield url.render_as_string(hide_password=False)
    with psycopg.connect(postgres_dsn, autocommit=True) as connection:
        connection.execute(sql.SQL("drop database {} with (force)").format(sql.Identifier(name)))


def test_an_s3_warehouse_with_a_postgresql_catalog_holds_every_table(
    source, s3_bucket, postgres_catalog, tmp_path, monkeypatch
):
    source.insert(*S3_EVENTS)
    location = s3_bucket.uri("wh")
    local_dir = tmp_path / "local"
    # configured as a team deploys it: the standard AWS variables (set by s3_bucket) and these
    monkeypatch.setenv("ANALYTICS_WAREHOUSE_DIR", location)
    monkeypatch.setenv("ANALYTICS_CATALOG_URI", postgres_catalog)
    monkeypatch.setenv("ANALYTICS_LOCAL_DIR", str(local_dir))
    configuration = load_configuration(os.environ)
    instance = DagsterInstance.ephemeral()

    result = materialize(
        list(defs.assets or []),
        resources={
            **defs.resources,
            "source": SourceResource(dsn=source.dsn, table=source.table),
            "lakehouse": configuration.lakehouse,
        },
        tags=partition_range_tags("2025-03-01", "2025-03-02"),
        instance=instance,
    )

    assert result.success
    # Every table is in the PostgreSQL catalog, and every file of it in the bucket.
    catalog = SqlCatalog(
        "analytics",
        uri=postgres_catalog,
        **{
            "s3.endpoint": s3_bucket.endpoint,
            "s3.region": REGION,
            "s3.access-key-id": ACCESS_KEY_ID,
            "s3.secret-access-key": SECRET_ACCESS_KEY,
        },
    )
    assert {name for _, name in catalog.list_tables("analytics")} == TABLES
    objects = set(s3_bucket.keys("wh/"))
    for name in TABLES:
        table = catalog.load_table(("analytics", name))
        assert table.location() == f"{location}/analytics/{name}"
        for task in table.scan().plan_files():
            assert task.file.file_path.removeprefix(f"s3://{s3_bucket.name}/") in objects
    assert list(local_dir.rglob("*.parquet")) == []

    metrics = catalog.load_table(("analytics", "daily_metrics")).scan().to_arrow().to_pylist()
    assert [organisation(row["organization_id"]) for row in metrics] == [ORG, ORG]
    assert (
        sorted(
            (
                row["date"],
                row["total_messages"],
                row["total_tokens"],
                row["avg_response_time"],
                row["p95_response_time"],
                row["agent_count"],
                row["error_count"],
                row["event_count"],
            )
            for row in metrics
        )
        == S3_DAILY_METRICS
    )

    # analytics.duckdb needs DuckDB's httpfs on S3: the run says so in one sentence...
    warnings = [
        entry.user_message
        for entry in instance.all_logs(result.run_id)
        if entry.level == logging.WARNING and "analytics.duckdb" in entry.user_message
    ]
    assert warnings
    for warning in warnings:
        assert warning.startswith(
            f"analytics.duckdb is not built for the S3 warehouse {location}: DuckDB's httpfs"
        )
        assert "\n" not in warning
    assert not (local_dir / "analytics.duckdb").exists()
    # ...and the pipeline's own DuckDB reads the same tables from S3 through Arrow.
    lakehouse = configuration.lakehouse.open()
    with connect(lakehouse) as connection:
        assert (
            connection.execute(
                "select date, total_messages, total_tokens, avg_response_time, p95_response_time,"
                " agent_count, error_count, event_count from daily_metrics order by date"
            ).fetchall()
            == S3_DAILY_METRICS
        )


# --- parallel and interrupted runs on one local warehouse ---------------------------------

RACERS = 8


def open_catalog_at_the_barrier(location, catalog_uri, barrier, outcomes):
    """One run's first step: open the warehouse's catalog, the moment every racer can."""
    barrier.wait()
    try:
        outcomes.put(Lakehouse(location, catalog_uri).catalog.list_namespaces())
    except Exception as error:  # the outcome to assert on, whatever it is
        outcomes.put(f"{type(error).__name__}: {error}")


@pytest.mark.parametrize("catalog", ["sqlite", "postgresql"])
def test_runs_started_at_once_on_a_new_warehouse_all_open_its_catalog(catalog, request, tmp_path):
    """pyiceberg checks, then creates the catalog's tables and namespace: the losers retry."""
    catalog_uri = (
        f"sqlite:///{tmp_path}/catalog.db"
        if catalog == "sqlite"
        else request.getfixturevalue("postgres_catalog")
    )
    forked = multiprocessing.get_context("fork")
    barrier, outcomes = forked.Barrier(RACERS), forked.Queue()
    racers = [
        forked.Process(
            target=open_catalog_at_the_barrier,
            args=(str(tmp_path), catalog_uri, barrier, outcomes),
        )
        for _ in range(RACERS)
    ]
    for racer in racers:
        racer.start()
    results = [outcomes.get(timeout=60) for _ in racers]
    for racer in racers:
        racer.join()

    assert results == [[("analytics",)]] * RACERS


SIX_DAYS = {1: 1, 2: 2, 3: 3, 4: 4, 5: 5, 6: 6}


def test_three_cli_ranges_started_at_once_into_one_warehouse_all_land(source, tmp_path):
    insert_message_days(source, SIX_DAYS)
    warehouse_dir = tmp_path / "warehouse"
    environment = cli_environment(source, tmp_path, warehouse_dir)

    runs = [start_cli_range(environment, march(first), march(first + 1)) for first in (1, 3, 5)]
    outcomes = [finish(run) for run in runs]

    for exit_code, output in outcomes:
        assert exit_code == 0, output
    assert read_daily_metrics(warehouse_dir / "analytics.duckdb") == message_day_rows(SIX_DAYS)
    events = local_catalog(warehouse_dir).load_table(("analytics", "events"))
    days = events.scan(selected_fields=("event_date",)).to_arrow().column(0).to_pylist()
    assert {day: days.count(day) for day in sorted(set(days))} == {
        march(day): count for day, count in SIX_DAYS.items()
    }


# Thousands of events a day, so each commit takes long enough to be interrupted.
BUSY_DAYS = {day: 1000 * day for day in range(1, 7)}


def commit_counts(catalog_db):
    """Commits per table, from the version of the metadata file the catalog points at."""
    try:
        with sqlite3.connect(f"file:{catalog_db}?mode=ro", uri=True, timeout=5) as connection:
            rows = connection.execute(
                "select table_name, metadata_location from iceberg_tables"
            ).fetchall()
    except sqlite3.OperationalError:  # not created yet, or busy for a moment
        return {}
    return {name: int(Path(location).name.split("-", 1)[0]) for name, location in rows}


def data_files_on_disk(warehouse_dir):
    tables = warehouse_dir / "analytics"
    if not tables.exists():
        return {}
    return {
        folder.name: len(list((folder / "data").rglob("*.parquet")))
        for folder in tables.iterdir()
        if (folder / "data").exists()
    }


def kill_during_a_commit(run, warehouse_dir):
    """Kills the run once `events` has committed and a table has a file no commit holds yet.

    Each day's commit of a fresh table adds one data file: more files than commits means a
    commit is under way (its files written, the catalog not yet pointing at them). The
    files are listed before the catalog is read, so such a file was uncommitted when seen.
    Returns the table caught mid-commit, or None if the run ended first.
    """
    while run.poll() is None:
        files = data_files_on_disk(warehouse_dir)
        commits = commit_counts(warehouse_dir / "catalog.db")
        if commits.get("events", 0) >= 1:
            for table, count in files.items():
                if count > commits.get(table, 0):
                    os.killpg(run.pid, signal.SIGKILL)
                    run.wait()
                    return table
    return None


def test_a_run_killed_during_a_commit_leaves_every_table_readable_and_a_rerun_completes(
    source, tmp_path
):
    insert_message_days(source, BUSY_DAYS)
    warehouse_dir = tmp_path / "warehouse"
    environment = cli_environment(source, tmp_path, warehouse_dir)

    run = start_cli_range(environment, march(1), march(6))
    caught = kill_during_a_commit(run, warehouse_dir)
    exit_code, output = finish(run)  # what it printed, its pipes closed

    assert caught is not None, output
    assert exit_code == -signal.SIGKILL
    # Every table the catalog holds loads and scans; a day is all of its rows or absent.
    catalog = local_catalog(warehouse_dir)
    names = {name for _, name in catalog.list_tables("analytics")}
    assert "events" in names
    for name in names:
        catalog.load_table(("analytics", name)).scan().to_arrow()
    events = catalog.load_table(("analytics", "events"))
    days = events.scan(selected_fields=("event_date",)).to_arrow().column(0).to_pylist()
    assert days
    assert {day: days.count(day) for day in set(days)} == {
        march(day): count for day, count in BUSY_DAYS.items() if march(day) in set(days)
    }

    exit_code, output = finish(start_cli_range(environment, march(1), march(6)))

    assert exit_code == 0, output
    assert read_daily_metrics(warehouse_dir / "analytics.duckdb") == message_day_rows(BUSY_DAYS)
