"""How the warehouse fails (docs/contract.md, section 5): one sentence, nothing half-written.

Also the command line the README documents, run as a user runs it.
"""

import datetime as dt
import os
import sqlite3
import subprocess
import sys
import uuid
from pathlib import Path

import pytest
import sqlalchemy.exc
from dagster import AssetSelection, materialize

from assets.resources import CATALOG_FILE_NAME, SourceResource
from pipelines.configuration import load_configuration
from tests.e2e.support import data_files, defs, lakehouse_resource, replace_partition
from warehouse.settings import ConfigurationError
from warehouse.source import extract_events_for_day
from warehouse.storage.reading import published_rows
from warehouse.storage.writing import delete_partitions
from warehouse.tables import DAILY_METRICS, EVENTS
from warehouse.views import connect

ORG = uuid.UUID("00000000-0000-4000-8000-00000000000a")
UNREACHABLE_DSN = "host=127.0.0.1 port=1 user=postgres dbname=test connect_timeout=3"
DAGSTER = os.path.join(os.path.dirname(sys.executable), "dagster")
MATERIALIZE = [DAGSTER, "asset", "materialize", "-m", "pipelines.definitions", "--select", "*"]


def event(created_at="2025-03-01 10:00", **fields):
    return {
        "organization_id": ORG,
        "event_type": "message.sent",
        "created_at": created_at,
        **fields,
    }


def failure_description(result, step="events"):
    """The description of `step`'s failure; the steps after it are only skipped (the price
    list, which reads no source, runs beside the extraction and may fail on its own)."""
    failures = {event.step_key: event for event in result.get_step_failure_events()}
    return failures[step].step_failure_data.user_failure_data.description


def assert_one_sentence(message):
    assert message == message.strip()
    assert "\n" not in message
    assert "Traceback" not in message


def run_cli(source, warehouse_dir, partition_range, **environment):
    """`dagster asset materialize` in the test's folder, configured by environment variables.

    A variable given as None is left unset; every other ANALYTICS_ variable is unset, so
    the catalog is the default SQLite file inside the test's warehouse.
    """
    settings = {
        "ANALYTICS_SOURCE_DSN": source.dsn,
        "ANALYTICS_SOURCE_TABLE": source.table,
        "ANALYTICS_WAREHOUSE_DIR": str(warehouse_dir),
        **environment,
    }
    env = {
        key: value
        for key, value in os.environ.items()
        if not key.startswith(("ANALYTICS_", "DAGSTER_HOME"))
    }
    env.update({key: value for key, value in settings.items() if value is not None})
    return subprocess.run(
        [*MATERIALIZE, "--partition-range", partition_range],
        # not the project root, whose .env (a developer's settings) Dagster and the code read
        cwd=warehouse_dir.parent,
        env=env,
        capture_output=True,
        text=True,
        check=False,
    )


def last_line(text):
    return text.strip().splitlines()[-1]


@pytest.mark.parametrize(
    ("dsn", "cause"),
    [
        (UNREACHABLE_DSN, '"127.0.0.1", port 1 failed: Connection refused'),
        (
            "host=127.0.0.1 port=5432 user=postgres dbname=no_such_database",
            'database "no_such_database" does not exist',
        ),
    ],
    ids=["unreachable server", "unknown database"],
)
def test_source_that_cannot_be_reached_fails_the_run_with_one_sentence_naming_the_cause(
    source, run_pipeline, dsn, cause
):
    source.dsn = dsn

    result = run_pipeline("2025-03-01", raise_on_error=False)

    assert not result.success
    message = failure_description(result)
    assert message.startswith("Cannot connect to the source database:")
    assert cause in message
    assert_one_sentence(message)


def test_dsn_that_is_not_a_connection_string_fails_naming_the_variable(source, run_pipeline):
    source.dsn = "not a dsn"

    result = run_pipeline("2025-03-01", raise_on_error=False)

    assert not result.success
    message = failure_description(result)
    assert message.startswith("ANALYTICS_SOURCE_DSN is not a connection string:")
    assert_one_sentence(message)


def test_missing_source_table_fails_naming_the_table_and_the_variable(source, run_pipeline):
    schema, _ = source.table.split(".")
    source.table = f"{schema}.no_such_events"

    result = run_pipeline("2025-03-01", raise_on_error=False)

    assert not result.success
    assert failure_description(result) == (
        f"Source table {schema}.no_such_events does not exist (set ANALYTICS_SOURCE_TABLE)."
    )


def test_source_table_without_a_contract_column_fails_naming_it(source, run_pipeline):
    source.execute("alter table {table} drop column user_id")

    result = run_pipeline("2025-03-01", raise_on_error=False)

    assert not result.success
    assert failure_description(result) == f"Source table {source.table} lacks columns: user_id."


def test_warehouse_dir_that_is_not_a_directory_fails_naming_the_variable(
    source, run_pipeline, warehouse_dir
):
    warehouse_dir.parent.mkdir(parents=True, exist_ok=True)
    warehouse_dir.write_text("not a folder")
    source.insert(event())

    result = run_pipeline("2025-03-01", raise_on_error=False)

    assert not result.success
    message = failure_description(result)
    assert message.startswith(f"Cannot create ANALYTICS_WAREHOUSE_DIR {warehouse_dir}:")
    assert "File exists" in message
    assert_one_sentence(message)
    assert warehouse_dir.read_text() == "not a folder"


def test_source_column_of_the_wrong_type_fails_naming_the_table_day_and_cause(source, run_pipeline):
    """A text `created_at` behind a view that casts it: the read fails on a value that is not one.

    (A table column of the wrong type is refused before any day is read, naming the
    column: tests/e2e/test_source_hardening.py.)
    """
    schema, _ = source.table.split(".")
    source.execute("alter table {table} alter column created_at type text")
    source.insert(event("2025-03-01 10:00"), event("the first of March"))
    source.execute(
        f"create view {schema}.typed_events as select id, organization_id, event_type,"
        " resource_type, resource_id, properties, user_id, created_at::timestamp as created_at"
        " from {table}"
    )
    source.table = f"{schema}.typed_events"

    result = run_pipeline("2025-03-01", raise_on_error=False)

    assert not result.success
    message = failure_description(result)
    assert message.startswith(f"Reading {source.table} for 2025-03-01 failed:")
    assert 'invalid input syntax for type timestamp: "the first of March"' in message
    assert_one_sentence(message)
    materialized = {
        event.asset_key.to_user_string() for event in result.get_asset_materialization_events()
    }
    assert materialized <= {"model_prices"}  # the price list reads no source


@pytest.mark.assets(DAILY_METRICS.name)
def test_daily_tables_before_their_events_fail_naming_the_missing_step(
    source, run_pipeline, warehouse_dir, lakehouse, query
):
    source.insert(event())
    assert run_pipeline("2025-03-01").success
    # The day's raw events leave the lake (as the retention job retires them).
    delete_partitions(lakehouse, EVENTS, [dt.date(2025, 3, 1)])

    result = materialize(
        list(defs.assets or []),
        selection=AssetSelection.assets("daily_metrics"),
        partition_key="2025-03-01",
        resources={
            **defs.resources,
            "source": SourceResource(dsn=source.dsn, table=source.table),
            "lakehouse": lakehouse_resource(warehouse_dir),
        },
        raise_on_error=False,
    )

    assert not result.success
    assert failure_description(result, "daily_tables") == (
        "The raw events of 2025-03-01 are not in the lake (retired or never extracted): "
        "daily_metrics keeps its published rows; materialise `events` for 2025-03-01 first."
    )
    assert published_rows(lakehouse, DAILY_METRICS, dt.date(2025, 3, 1)) == 1
    assert query("select date, total_messages from daily_metrics") == [(dt.date(2025, 3, 1), 1)]


@pytest.mark.parametrize("value", ["2024-1-1", "2024-02-30", "01/01/2024", "yesterday"])
def test_malformed_start_date_is_a_configuration_error_naming_the_variable(monkeypatch, value):
    monkeypatch.setenv("ANALYTICS_START_DATE", value)

    with pytest.raises(ConfigurationError) as raised:
        load_configuration(os.environ)

    assert str(raised.value) == f"ANALYTICS_START_DATE must be a date as YYYY-MM-DD, got {value!r}"


@pytest.mark.parametrize("value", ["analytics_events", "public.events.v2", 'public."events"'])
def test_malformed_source_table_is_a_configuration_error_naming_the_variable(monkeypatch, value):
    monkeypatch.setenv("ANALYTICS_SOURCE_TABLE", value)

    with pytest.raises(ConfigurationError) as raised:
        load_configuration(os.environ)

    assert str(raised.value) == (
        f"ANALYTICS_SOURCE_TABLE must be schema.table (plain identifiers), got {value!r}"
    )


def test_cli_without_source_dsn_fails_naming_the_variable(source, warehouse_dir):
    completed = run_cli(source, warehouse_dir, "2025-03-01...2025-03-01", ANALYTICS_SOURCE_DSN=None)

    assert completed.returncode != 0
    assert (
        "ANALYTICS_SOURCE_DSN is not set: give the libpq conninfo or URI of the platform's database"
        in completed.stderr
    )


def test_cli_with_malformed_start_date_ends_with_the_configuration_error(source, warehouse_dir):
    completed = run_cli(
        source, warehouse_dir, "2025-03-01...2025-03-03", ANALYTICS_START_DATE="2024-1-1"
    )

    assert completed.returncode != 0
    assert last_line(completed.stderr) == (
        "warehouse.settings.ConfigurationError: "
        "ANALYTICS_START_DATE must be a date as YYYY-MM-DD, got '2024-1-1'"
    )


def test_cli_materialises_a_partition_range_in_one_run(source, warehouse_dir, query):
    source.insert(event("2025-03-01 10:00"), event("2025-03-03 23:59:59.999999"))

    completed = run_cli(source, warehouse_dir, "2025-03-01...2025-03-03")

    assert completed.returncode == 0, completed.stderr[-2000:]
    assert query("select date, total_messages from daily_metrics order by date") == [
        (dt.date(2025, 3, 1), 1),
        (dt.date(2025, 3, 3), 1),
    ]
    assert query("select count(*) from events") == [(2,)]


def test_cli_rejects_a_range_outside_the_partitions_naming_the_partition(source, warehouse_dir):
    completed = run_cli(source, warehouse_dir, "2019-01-01...2019-01-03")

    assert completed.returncode != 0
    # Dagster's own check, printed as the last line after its trace.
    assert "partition key `2019-01-01`" in last_line(completed.stderr)
    assert not warehouse_dir.exists()


@pytest.mark.assets(DAILY_METRICS.name)
def test_failed_run_leaves_the_previous_partition_readable(source, run_pipeline, query, lakehouse):
    source.insert(event(), event())
    assert run_pipeline("2025-03-01").success
    published = lakehouse.table(EVENTS).current_snapshot().snapshot_id
    source.insert(event())
    source.dsn = UNREACHABLE_DSN

    assert not run_pipeline("2025-03-01", raise_on_error=False).success

    assert lakehouse.reload(EVENTS).current_snapshot().snapshot_id == published
    assert query("select count(*) from events") == [(2,)]
    assert query("select total_messages from daily_metrics") == [(2,)]


@pytest.mark.assets(EVENTS.name)
def test_crash_mid_write_leaves_the_previous_partition_readable(
    source, run_pipeline, query, warehouse_dir, lakehouse
):
    """A writer that dies after writing its files but before its commit publishes nothing.

    The worst moment of a crash is made deterministic with the catalog itself: a
    trigger makes it refuse the commit that would point `events` at the new snapshot,
    after the replacement's data and metadata files were written.
    """
    day = dt.date(2025, 3, 1)
    source.insert(event(), event())
    assert run_pipeline("2025-03-01").success
    published_files = data_files(lakehouse, EVENTS)
    source.insert(event())
    replacement = extract_events_for_day(source.dsn, source.table, day).rows
    with sqlite3.connect(warehouse_dir / CATALOG_FILE_NAME) as catalog:
        catalog.execute(
            "create trigger crash before update on iceberg_tables"
            " begin select raise(abort, 'crash before the commit'); end"
        )

    with pytest.raises(sqlalchemy.exc.IntegrityError, match="crash before the commit"):
        replace_partition(lakehouse, EVENTS, day, replacement)

    # The refused commit's metadata is on disk, and no reader sees it; its data file is
    # deleted, as the commit did not land.
    table = lakehouse.reload(EVENTS)
    table_folder = Path(table.location().removeprefix("file://"))
    newest = max((table_folder / "metadata").glob("*.metadata.json"), key=os.path.getmtime)
    assert table.metadata_location.removeprefix("file://") != str(newest)
    on_disk = sorted(str(path) for path in table_folder.rglob("*.parquet"))
    assert on_disk == [path.removeprefix("file://") for path in published_files]
    assert data_files(lakehouse, EVENTS) == published_files
    assert published_rows(lakehouse, EVENTS, day) == 2
    assert query("select count(*) from events") == [(2,)]
    with connect(lakehouse) as connection:
        assert connection.sql("select count(*) from events").fetchall() == [(2,)]
