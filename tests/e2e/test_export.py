"""`analytics-warehouse export`: formats round-trip, filters are exact, bad input is refused.

Two organisations have events on three days, including the first and last instant of
the middle one; exports go through the console script's `main` as a user would run it.
"""

import datetime as dt
import uuid
from collections.abc import Iterator
from pathlib import Path

import duckdb
import pyarrow as pa
import pytest
from pyiceberg.io.pyarrow import schema_to_pyarrow

from pipelines.cli import main
from tests.e2e.support import fresh_source, pipeline_runner, replace_partition, warehouse_query
from warehouse.export import EXPORTABLE, WITHOUT_ORGANIZATION, ExitCode
from warehouse.tables import LAKE_TABLES, METRIC_ANOMALIES
from warehouse.views import duckdb_path

ORG = uuid.UUID("00000000-0000-4000-8000-0000000000a1")
OTHER_ORG = uuid.UUID("00000000-0000-4000-8000-0000000000a2")
AGENT = uuid.UUID("00000000-0000-4000-8000-0000000000b1")
DAYS = ("2025-03-09", "2025-03-10", "2025-03-11")
READERS = {"csv": "read_csv", "parquet": "read_parquet", "jsonl": "read_json"}


def message(organization_id, created_at, event_type="message.received"):
    return {
        "id": uuid.uuid4(),
        "organization_id": organization_id,
        "event_type": event_type,
        "resource_type": "agent",
        "resource_id": AGENT,
        "properties": {"responseTime": 250.5, "tokens": 40},
        "user_id": uuid.uuid4(),
        "created_at": created_at,
    }


def insert_and_materialise(source, run_pipeline) -> list[dict]:
    inserted = [
        message(organization_id, created_at)
        for organization_id in (ORG, OTHER_ORG)
        for created_at in (
            f"{DAYS[0]} 23:59:59.999999",
            f"{DAYS[1]} 00:00:00",
            f"{DAYS[1]} 12:00",
            f"{DAYS[1]} 23:59:59.999999",
            f"{DAYS[2]} 00:00:00",
        )
    ]
    source.insert(*inserted)
    assert run_pipeline(DAYS[0], DAYS[-1]).success
    return inserted


@pytest.fixture(scope="module")
def shared_warehouse(postgres_dsn, tmp_path_factory) -> Iterator[tuple[list[dict], Path]]:
    """The inserted events materialised once, for the tests that only read them."""
    warehouse_dir = tmp_path_factory.mktemp("export") / "warehouse"
    with fresh_source(postgres_dsn) as source:
        yield insert_and_materialise(source, pipeline_runner(source, warehouse_dir)), warehouse_dir


@pytest.fixture
def events(shared_warehouse, monkeypatch):
    """The inserted events, in the module's warehouse the command is pointed at."""
    inserted, warehouse_dir = shared_warehouse
    monkeypatch.setenv("ANALYTICS_WAREHOUSE_DIR", str(warehouse_dir))
    return inserted


@pytest.fixture
def query(shared_warehouse):
    return warehouse_query(shared_warehouse[1])


@pytest.fixture
def own_events(source, run_pipeline, warehouse_dir, monkeypatch):
    """The inserted events in the test's own warehouse, for a test that changes it."""
    inserted = insert_and_materialise(source, run_pipeline)
    monkeypatch.setenv("ANALYTICS_WAREHOUSE_DIR", str(warehouse_dir))
    return inserted


def export(*arguments):
    return main(["export", *map(str, arguments)])


def normalised(rows):
    """Values as text: CSV and JSON carry UUIDs and dates as strings, Parquet as types."""
    return sorted(tuple(None if value is None else str(value) for value in row) for row in rows)


def read_back(path, file_format):
    with duckdb.connect() as connection:
        return connection.execute(
            f"select * from {READERS[file_format]}(?)", [str(path)]
        ).fetchall()


@pytest.mark.parametrize("file_format", list(READERS))
def test_each_format_round_trips_a_table(events, query, tmp_path, file_format):
    output = tmp_path / f"daily_metrics.{file_format}"

    code = export(
        "daily_metrics",
        "--start",
        DAYS[0],
        "--end",
        DAYS[-1],
        "--format",
        file_format,
        "--output",
        output,
    )

    assert code == ExitCode.OK
    assert normalised(read_back(output, file_format)) == normalised(
        query("select * from daily_metrics")
    )


def test_a_macro_result_exports_with_its_arguments(events, query, tmp_path):
    output = tmp_path / "agent.parquet"

    code = export(
        "agent_analytics",
        "--agent",
        AGENT,
        "--start",
        DAYS[1],
        "--end",
        DAYS[1],
        "--format",
        "parquet",
        "--output",
        output,
    )

    assert code == ExitCode.OK
    expected = query("select * from agent_analytics(?, ?, ?)", [AGENT, DAYS[1], DAYS[1]])
    assert len(expected) == 2
    assert normalised(read_back(output, "parquet")) == normalised(expected)


def test_range_and_organisation_filters_keep_exactly_that_days_events(events, tmp_path):
    output = tmp_path / "events.parquet"

    code = export(
        "events",
        "--start",
        DAYS[1],
        "--end",
        DAYS[1],
        "--organization",
        ORG,
        "--format",
        "parquet",
        "--output",
        output,
    )

    assert code == ExitCode.OK
    with duckdb.connect() as connection:
        exported = connection.execute("select id from read_parquet(?)", [str(output)]).fetchall()
    expected = {
        event["id"]
        for event in events
        if event["organization_id"] == ORG and event["created_at"].startswith(DAYS[1])
    }
    assert {row[0] for row in exported} == expected and len(expected) == 3


def test_an_export_reads_the_tables_through_the_catalog_without_analytics_duckdb(
    own_events, warehouse_dir, tmp_path
):
    duckdb_path(warehouse_dir).unlink()
    output = tmp_path / "events.csv"

    code = export("events", "--start", DAYS[1], "--end", DAYS[1], "--output", output)

    assert code == ExitCode.OK
    assert len(read_back(output, "csv")) == 6  # both organisations' events of the day
    assert not duckdb_path(warehouse_dir).exists()


@pytest.mark.parametrize(
    ("arguments", "message"),
    [
        (["nope", "--start", "2025-03-01", "--end", "2025-03-02"], "unknown table 'nope'"),
        (["events", "--start", "2025-02-30", "--end", "2025-03-02"], "--start must be a date"),
        (["events", "--start", "2025-03-02", "--end", "2025-03-01"], "is after --end"),
        (
            ["events", "--start", "2025-03-01", "--end", "2025-03-02", "--organization", "x"],
            "--organization must be a UUID",
        ),
        (["agent_analytics", "--start", "2025-03-01", "--end", "2025-03-02"], "--agent"),
        (
            ["data_quality", "--start", "2025-03-01", "--end", "2025-03-02", "--organization", ORG],
            "no organization_id",
        ),
        (
            ["model_prices", "--start", "2025-03-01", "--end", "2025-03-02", "--organization", ORG],
            "model_prices has no organization_id: a price applies to every organisation",
        ),
        (
            ["daily_metrics", "--start", "2025-03-01", "--end", "2025-03-02", "--top", "3"],
            "--top applies only to top_agents_between",
        ),
        (
            ["daily_metrics", "--start", "2025-03-01", "--end", "2025-03-02", "--format", "jsonl"],
            "--format jsonl contradicts the extension",
        ),
    ],
)
def test_bad_input_exits_2_with_a_message(tmp_path, capsys, arguments, message):
    output = tmp_path / "out.csv"

    assert export(*arguments, "--output", output) == ExitCode.BAD_INPUT == 2

    assert message in capsys.readouterr().err
    assert not output.exists()


def test_a_missing_warehouse_exits_4(tmp_path, monkeypatch, capsys):
    monkeypatch.setenv("ANALYTICS_WAREHOUSE_DIR", str(tmp_path / "nowhere"))

    code = export("events", "--start", DAYS[0], "--end", DAYS[0], "--output", tmp_path / "e.csv")

    assert code == ExitCode.WAREHOUSE_MISSING == 4
    assert "no warehouse at" in capsys.readouterr().err


def test_an_existing_output_is_kept_unless_forced(
    lakehouse, warehouse_dir, tmp_path, monkeypatch, capsys
):
    for spec in LAKE_TABLES:  # an empty warehouse: every table in the catalog, no rows
        lakehouse.table(spec)
    monkeypatch.setenv("ANALYTICS_WAREHOUSE_DIR", str(warehouse_dir))
    output = tmp_path / "exports" / "daily.csv"
    output.parent.mkdir()
    output.write_text("keep me")
    arguments = ["daily_metrics", "--start", DAYS[0], "--end", DAYS[0], "--output", output]

    assert export(*arguments) == ExitCode.OUTPUT_EXISTS == 3
    assert "--force" in capsys.readouterr().err and output.read_text() == "keep me"

    assert export(*arguments, "--force") == ExitCode.OK
    assert output.read_text().startswith("organization_id,date,")
    assert list(output.parent.iterdir()) == [output]


def test_export_as_of_reads_the_table_as_it_was(own_events, source, run_pipeline, tmp_path):
    """ORG had 3 messages on the middle day; a late fourth one is re-materialised later."""
    before_late_event = dt.datetime.now(dt.UTC).isoformat()
    source.insert(message(ORG, f"{DAYS[1]} 18:00"))
    assert run_pipeline(DAYS[1]).success
    arguments = ["daily_metrics", "--start", DAYS[1], "--end", DAYS[1], "--organization", ORG]

    def total_messages(output):
        with duckdb.connect() as connection:
            return connection.execute(
                "select total_messages from read_csv(?)", [str(output)]
            ).fetchall()

    then, now = tmp_path / "then.csv", tmp_path / "now.csv"
    assert export(*arguments, "--as-of", before_late_event, "--output", then) == ExitCode.OK
    assert export(*arguments, "--output", now) == ExitCode.OK
    assert total_messages(then) == [(3,)]
    assert total_messages(now) == [(4,)]


@pytest.mark.parametrize("file_format", list(READERS))
def test_the_format_is_the_output_files_extension_when_not_given(events, tmp_path, file_format):
    output = tmp_path / f"ov.{file_format}"

    assert export("daily_metrics", "--start", DAYS[1], "--end", DAYS[1], "--output", output) == 0

    assert len(read_back(output, file_format)) == 2  # one row per organisation that day


def test_an_output_whose_format_cannot_be_told_is_refused(tmp_path, capsys):
    output = tmp_path / "ov.txt"

    code = export("daily_metrics", "--start", DAYS[0], "--end", DAYS[0], "--output", output)

    assert code == ExitCode.BAD_INPUT
    assert "cannot tell the format of" in capsys.readouterr().err


def test_a_missing_output_folder_is_refused_and_not_created(events, tmp_path, capsys):
    output = tmp_path / "nonexistent" / "dir" / "x.csv"

    code = export("daily_metrics", "--start", DAYS[0], "--end", DAYS[0], "--output", output)

    assert code == ExitCode.BAD_INPUT
    assert f"the folder {output.parent} does not exist" in capsys.readouterr().err
    assert not (tmp_path / "nonexistent").exists()


@pytest.mark.parametrize(
    ("table", "rows"),
    # each organisation's users of the middle day (three events, three users), and its
    # one response time value (250.5, on all three)
    [("daily_active_users", 6), ("daily_measurements", 2)],
)
def test_the_compact_layers_are_exportable(events, tmp_path, table, rows):
    output = tmp_path / f"{table}.csv"

    assert export(table, "--start", DAYS[1], "--end", DAYS[1], "--output", output) == 0

    assert len(read_back(output, "csv")) == rows


def test_a_bad_variable_of_another_feature_does_not_stop_an_export(events, tmp_path, monkeypatch):
    monkeypatch.setenv("ANALYTICS_FRESHNESS_CRON", "every morning")
    monkeypatch.setenv("ANALYTICS_LATE_DAYS", "three")
    output = tmp_path / "daily.csv"

    assert export("daily_metrics", "--start", DAYS[1], "--end", DAYS[1], "--output", output) == 0

    assert len(read_back(output, "csv")) == 2


def test_every_published_table_is_exportable_and_only_those_without_organisation_refuse_it():
    assert {spec.name for spec in LAKE_TABLES} <= set(EXPORTABLE)
    assert {"model_usage", "metric_anomalies", "overview_local", "usage_trends_local"} <= set(
        EXPORTABLE
    )
    assert set(WITHOUT_ORGANIZATION) == {
        spec.name for spec in LAKE_TABLES if "organization_id" not in spec.column_names
    }


def exported_columns(table, columns, tmp_path):
    """`table` of the middle day for ORG, exported to CSV, then `columns` of it read back."""
    output = tmp_path / f"{table}.csv"
    arguments = ["--start", DAYS[1], "--end", DAYS[1], "--organization", ORG, "--output", output]
    assert export(table, *arguments) == ExitCode.OK
    with duckdb.connect() as connection:
        query = f"select {columns} from read_csv(?) order by all"
        return connection.execute(query, [str(output)]).fetchall()


def test_the_cost_and_monitor_tables_export_with_their_values(own_events, lakehouse, tmp_path):
    # three days of events are too few to score: an anomaly of ORG written straight in
    anomaly = {
        "organization_id": str(ORG),
        "date": dt.date.fromisoformat(DAYS[1]),
        "metric": "total_messages",
        "value": 3.0,
        "median": 1.0,
        "mad": 0.25,
        "score": 5.4,
        "direction": "up",
    }
    schema = schema_to_pyarrow(lakehouse.table(METRIC_ANOMALIES).schema(), include_field_ids=False)
    replace_partition(
        lakehouse, METRIC_ANOMALIES, anomaly["date"], pa.Table.from_pylist([anomaly], schema)
    )

    # ORG's three events of the day carry 40 tokens each and no model: no price
    assert exported_columns(
        "model_usage", "model, event_count, total_tokens, cost_usd", tmp_path
    ) == [(None, 3, 120, None)]
    assert exported_columns(
        "metric_anomalies", "metric, value, median, mad, score, direction", tmp_path
    ) == [("total_messages", 3.0, 1.0, 0.25, 5.4, "up")]


def test_the_local_tables_and_macros_export_each_organisations_local_days(events, tmp_path):
    # no zone table: every organisation in UTC, so ORG's local day has its 3 UTC events,
    # and the day before the one at 23:59:59.999999
    assert exported_columns(
        "daily_metrics_local", "date::varchar, timezone, event_count", tmp_path
    ) == [(DAYS[1], "UTC", 3)]
    assert exported_columns(
        "overview_local",
        "metric, current_value, previous_value, timezone",
        tmp_path,
    ) == [
        ("agent_count", 1.0, 1.0, "UTC"),
        ("avg_response_time", 250.5, 250.5, "UTC"),
        ("error_count", 0.0, 0.0, "UTC"),
        ("p95_response_time", 250.5, 250.5, "UTC"),
        ("total_conversations", 0.0, 0.0, "UTC"),
        ("total_cost_usd", 0.0, 0.0, "UTC"),
        ("total_messages", 3.0, 1.0, "UTC"),
        ("total_tokens", 120.0, 40.0, "UTC"),
        ("unique_users", 3.0, 1.0, "UTC"),
        ("workflow_executions", 0.0, 0.0, "UTC"),
    ]
    assert exported_columns(
        "usage_trends_local", "date::varchar, total_messages, timezone", tmp_path
    ) == [(DAYS[1], 3, "UTC")]
