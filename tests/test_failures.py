"""How the warehouse fails (metrics.md, section 5): one readable sentence, nothing half-written.

Also the command line the README documents, run as a user runs it.
"""

import datetime as dt
import os
import subprocess
import sys
import uuid

import duckdb
import pytest
from dagster import AssetSelection, materialize
from pipelines.resources import SourceDatabase, Warehouse
from pipelines.settings import PROJECT_ROOT, ConfigurationError, Settings
from warehouse.lake import copy_query_to_partition, partition_path

from pipelines.definitions import defs

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


def failure_description(result):
    """The description of the one step that failed; the steps after it are only skipped."""
    (failure,) = result.get_step_failure_events()
    return failure.step_failure_data.user_failure_data.description


def assert_one_sentence(message):
    assert message == message.strip()
    assert "\n" not in message
    assert "Traceback" not in message


def run_cli(source, warehouse_dir, partition_range, **environment):
    """`dagster asset materialize` from the project root, configured by environment variables.

    A variable given as None is left unset.
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
        cwd=PROJECT_ROOT,
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
    assert message.startswith(f"Cannot write the lake in ANALYTICS_WAREHOUSE_DIR {warehouse_dir}:")
    assert "Not a directory" in message
    assert_one_sentence(message)


def test_source_column_of_the_wrong_type_fails_naming_the_table_day_and_cause(source, run_pipeline):
    source.execute("alter table {table} alter column created_at type text")

    result = run_pipeline("2025-03-01", raise_on_error=False)

    assert not result.success
    message = failure_description(result)
    assert message.startswith(f"Reading {source.table} for 2025-03-01 failed:")
    assert "operator does not exist" in message
    assert_one_sentence(message)


def test_daily_tables_before_their_events_fail_naming_the_missing_step(source, warehouse_dir):
    result = materialize(
        list(defs.assets or []),
        selection=AssetSelection.assets("daily_metrics"),
        partition_key="2025-03-01",
        resources={
            "source": SourceDatabase(dsn=source.dsn, table=source.table),
            "warehouse": Warehouse(directory=str(warehouse_dir)),
        },
        raise_on_error=False,
    )

    assert not result.success
    assert failure_description(result) == (
        "No events extracted for 2025-03-01: materialise `events` first."
    )


@pytest.mark.parametrize("value", ["2024-1-1", "2024-02-30", "01/01/2024", "yesterday"])
def test_malformed_start_date_is_a_configuration_error_naming_the_variable(monkeypatch, value):
    monkeypatch.setenv("ANALYTICS_START_DATE", value)

    with pytest.raises(ConfigurationError) as raised:
        Settings.from_environment()

    assert str(raised.value) == f"ANALYTICS_START_DATE must be a date as YYYY-MM-DD, got {value!r}"


@pytest.mark.parametrize("value", ["analytics_events", "public.events.v2", 'public."events"'])
def test_malformed_source_table_is_a_configuration_error_naming_the_variable(monkeypatch, value):
    monkeypatch.setenv("ANALYTICS_SOURCE_TABLE", value)

    with pytest.raises(ConfigurationError) as raised:
        Settings.from_environment()

    assert str(raised.value) == (
        f"ANALYTICS_SOURCE_TABLE must be schema.table (plain identifiers), got {value!r}"
    )


def test_cli_without_source_dsn_fails_naming_the_variable(source, warehouse_dir):
    completed = run_cli(source, warehouse_dir, "2025-03-01...2025-03-01", ANALYTICS_SOURCE_DSN=None)

    assert completed.returncode != 0
    assert 'environment variable "ANALYTICS_SOURCE_DSN" which is not set' in completed.stderr


def test_cli_with_malformed_start_date_ends_with_the_configuration_error(source, warehouse_dir):
    completed = run_cli(
        source, warehouse_dir, "2025-03-01...2025-03-03", ANALYTICS_START_DATE="2024-1-1"
    )

    assert completed.returncode != 0
    assert last_line(completed.stderr) == (
        "pipelines.settings.ConfigurationError: "
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
    assert not (warehouse_dir / "lake").exists()


def test_failed_run_leaves_the_previous_partition_readable(
    source, run_pipeline, query, warehouse_dir
):
    source.insert(event(), event())
    assert run_pipeline("2025-03-01").success
    events_file = partition_path(warehouse_dir, "events", dt.date(2025, 3, 1))
    good_events = events_file.read_bytes()
    source.insert(event())
    source.dsn = UNREACHABLE_DSN

    assert not run_pipeline("2025-03-01", raise_on_error=False).success

    assert events_file.read_bytes() == good_events
    assert query("select count(*) from events") == [(2,)]
    assert query("select total_messages from daily_metrics") == [(2,)]


def test_crash_mid_write_leaves_the_previous_partition_readable(tmp_path):
    destination = tmp_path / "lake" / "events" / "2025-03-01.parquet"
    with duckdb.connect() as connection:
        copy_query_to_partition(connection, "select range as n from range(3)", {}, destination)
        # Fails after DuckDB has started writing row groups of the replacement.
        crashing = (
            "select case when range < 500000 then range else error('crash') end as n"
            " from range(1000000)"
        )
        with pytest.raises(duckdb.Error, match="crash"):
            copy_query_to_partition(connection, crashing, {}, destination)

        assert connection.sql(f"select sum(n) from '{destination}'").fetchall() == [(3,)]
    assert sorted(path.name for path in destination.parent.iterdir()) == [destination.name]
