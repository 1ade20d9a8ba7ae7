"""The lakehouse (docs/contract.md, section 6): Iceberg tables any engine reads, a safe
analytics.duckdb, written by Dagster runs.

One organisation has five events on one day; its daily_metrics row is, by hand:
3 messages (1 sent, 2 received), 1 conversation, 40 tokens (10 + 30), 2 users,
response times 100 and 300 ms (mean and median 200, p95 = 100 + 0.95 * 200 = 290),
1 agent, 0 workflow executions, 1 error, 5 events. The S3 and concurrency rules are
tested in their own files; the commits of the storage code alone (parallel runs, manifests,
every version's listing, a lost commit, a table read again) are in
tests/storage/test_partition_commits.py.
"""

import datetime as dt
import os
import shutil
import signal
import subprocess
import sys
import uuid
from pathlib import Path

import duckdb
import pytest
from pyiceberg.catalog.sql import SqlCatalog
from pyiceberg.transforms import IdentityTransform

from pipelines.configuration import load_configuration
from tests.e2e.support import (
    data_files,
    fresh_source,
    pipeline_runner,
    warehouse_query,
)
from warehouse.settings import ConfigurationError
from warehouse.storage.catalog import Lakehouse, LakehouseError
from warehouse.tables import DAILY_METRICS, EVENTS

ORG = uuid.UUID("00000000-0000-4000-8000-00000000000a")
AGENT = uuid.UUID("00000000-0000-4000-8000-0000000000a1")
USER = uuid.UUID("00000000-0000-4000-8000-0000000000c1")
OTHER_USER = uuid.UUID("00000000-0000-4000-8000-0000000000c2")
DAY = "2025-03-01"
VENV_BIN = Path(sys.executable).parent
# The tests that change their warehouse read daily_metrics: their runs are that table and
# what it is computed from.
pytestmark = pytest.mark.assets("daily_metrics")

# Every table of the contract and the column it is partitioned by, written out by hand.
DATE_COLUMNS = {
    "events": "event_date",
    "daily_metrics": "date",
    "agent_metrics": "date",
    "event_counts": "date",
    "data_quality": "date",
    "daily_active_users": "date",
    "daily_measurements": "date",
    "period_comparison": "as_of_date",
    "top_agents": "as_of_date",
    "model_prices": "effective_from",
    "model_usage": "date",
    "metric_anomalies": "date",
    "organization_timezones": "date",
    "daily_metrics_local": "date",
    "agent_metrics_local": "date",
    "event_counts_local": "date",
    "daily_active_users_local": "date",
    "daily_measurements_local": "date",
}
DAILY_METRICS_ROW = {
    "organization_id": ORG,
    "date": DAY,
    "total_messages": 3,
    "total_conversations": 1,
    "total_tokens": 40,
    "unique_users": 2,
    "avg_response_time": 200.0,
    "p50_response_time": 200.0,
    "p95_response_time": 290.0,
    "agent_count": 1,
    "workflow_executions": 0,
    "error_count": 1,
    "event_count": 5,
    "total_cost_usd": 0.0,  # its tokens have no model (section 8)
}


def event(event_type, **fields):
    return {
        "organization_id": ORG,
        "event_type": event_type,
        "created_at": f"{DAY} 10:00",
        "user_id": USER,
        **fields,
    }


FIVE_EVENTS = (
    event("message.sent"),
    event("message.received", properties={"responseTime": 100, "tokens": 10}),
    event("message.received", properties={"responseTime": 300, "tokens": 30}),
    event("conversation.started", user_id=OTHER_USER),
    event("agent.error", resource_type="agent", resource_id=AGENT),
)


def catalog_of(warehouse_dir):
    """The warehouse's Iceberg catalog opened with pyiceberg alone, as another tool would."""
    return SqlCatalog(
        "analytics",
        uri=f"sqlite:///{warehouse_dir}/catalog.db",
        warehouse=warehouse_dir.as_uri(),
    )


def daily_metrics_table(warehouse_dir):
    return catalog_of(warehouse_dir).load_table(("analytics", "daily_metrics"))


def as_contract_row(row):
    """A row as another engine gives it, its UUID (16 bytes or text) and date made plain."""
    organization_id = row["organization_id"]
    if isinstance(organization_id, bytes):
        organization_id = uuid.UUID(bytes=organization_id)
    return {**row, "organization_id": uuid.UUID(str(organization_id)), "date": str(row["date"])}


@pytest.fixture(scope="module")
def one_day_warehouse(postgres_dsn, tmp_path_factory):
    """The five events materialised by every asset, once, for the tests that only read it."""
    warehouse_dir = tmp_path_factory.mktemp("one_day") / "warehouse"
    with fresh_source(postgres_dsn) as source:
        source.insert(*FIVE_EVENTS)
        assert pipeline_runner(source, warehouse_dir)(DAY).success
    return warehouse_dir


@pytest.fixture
def one_day(source, run_pipeline):
    """The five events in the test's own warehouse, for a test that changes it."""
    source.insert(*FIVE_EVENTS)
    assert run_pipeline(DAY).success


def test_every_table_reads_back_through_pyiceberg_from_the_catalog_alone(one_day_warehouse):
    catalog = catalog_of(one_day_warehouse)

    assert sorted(name for _, name in catalog.list_tables("analytics")) == sorted(DATE_COLUMNS)
    for name, date_column in DATE_COLUMNS.items():
        table = catalog.load_table(("analytics", name))
        [field] = table.spec().fields
        assert isinstance(field.transform, IdentityTransform), name
        assert table.schema().find_field(field.source_id).name == date_column, name

    rows = daily_metrics_table(one_day_warehouse).scan().to_arrow().to_pylist()
    assert [as_contract_row(row) for row in rows] == [DAILY_METRICS_ROW]


def test_polars_scan_iceberg_reads_the_same_table(one_day_warehouse):
    import polars as pl

    rows = pl.scan_iceberg(daily_metrics_table(one_day_warehouse)).collect().to_dicts()

    assert [as_contract_row(row) for row in rows] == [DAILY_METRICS_ROW]


def test_daft_reads_the_same_table(one_day_warehouse):
    import daft

    frame = daft.read_iceberg(daily_metrics_table(one_day_warehouse))
    rows = frame.to_arrow().to_pylist()

    assert [as_contract_row(row) for row in rows] == [DAILY_METRICS_ROW]


def test_replacing_a_partition_is_one_commit_and_readers_see_old_or_new_rows(
    one_day, source, run_pipeline, warehouse_dir
):
    before = daily_metrics_table(warehouse_dir)
    previous = before.current_snapshot().snapshot_id
    commits_before = len(before.metadata.metadata_log)
    snapshots_before = len(before.history())

    source.insert(event("message.sent", created_at=f"{DAY} 23:00"))
    assert run_pipeline(DAY).success

    after = daily_metrics_table(warehouse_dir)
    # one commit (one new metadata file) adding one version of the table
    assert len(after.metadata.metadata_log) == commits_before + 1
    assert len(after.history()) == snapshots_before + 1

    def messages(scan):
        return scan.select("total_messages").to_arrow().column(0).to_pylist()

    assert messages(after.scan(snapshot_id=previous)) == [3]
    assert messages(after.scan()) == [4]
    # Every version the table ever had shows the day's row, old or new: never none, no mix.
    assert {
        tuple(messages(after.scan(snapshot_id=entry.snapshot_id))) for entry in after.history()
    } == {(3,), (4,)}


@pytest.mark.assets(EVENTS.name, DAILY_METRICS.name)
def test_a_range_commits_its_days_a_week_at_a_time(source, run_pipeline, lakehouse):
    days = [dt.date(2025, 3, 1) + dt.timedelta(days=offset) for offset in range(9)]
    source.insert(*(event("message.sent", created_at=f"{day} 10:00") for day in days))

    assert run_pipeline(str(days[0]), str(days[-1])).success

    for spec in (EVENTS, DAILY_METRICS):
        snapshots = lakehouse.table(spec).snapshots()
        assert [snapshot.summary["analytics.partitions"] for snapshot in snapshots] == [
            ",".join(str(day) for day in days[:7]),
            ",".join(str(day) for day in days[7:]),
        ]
        assert len(data_files(lakehouse, spec)) == 9  # a file per day


def test_a_copied_warehouse_refuses_in_one_sentence_and_never_reads_the_original(
    one_day_warehouse, tmp_path
):
    copy = tmp_path / "copy"
    shutil.copytree(one_day_warehouse, copy)

    with pytest.raises(LakehouseError, match="copied or moved") as refused:
        Lakehouse(str(copy), f"sqlite:///{copy}/catalog.db").table(DAILY_METRICS)
    assert "\n" not in str(refused.value)

    with (
        duckdb.connect(str(copy / "analytics.duckdb"), read_only=True) as connection,
        pytest.raises(duckdb.Error, match="copied or moved"),
    ):
        connection.execute("select total_messages from daily_metrics").fetchall()

    query = warehouse_query(one_day_warehouse)
    assert query("select total_messages from daily_metrics") == [(3,)]


ANALYST_CRASHES = """
import sys, duckdb
connection = duckdb.connect(sys.argv[1])
connection.execute("set checkpoint_threshold = '1TB'")
connection.execute("create table my_notes (note varchar)")
connection.execute("insert into my_notes values ('looked at March')")
print("written", flush=True)
sys.stdin.read()
"""


def test_an_analysts_crashed_read_write_session_never_breaks_the_views(
    one_day, source, run_pipeline, warehouse_dir, query
):
    database = warehouse_dir / "analytics.duckdb"
    with subprocess.Popen(
        [sys.executable, "-c", ANALYST_CRASHES, str(database)],
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        text=True,
    ) as analyst:  # leaving closes its pipes and waits for it
        try:
            assert analyst.stdout.readline() == "written\n"
        finally:
            os.kill(analyst.pid, signal.SIGKILL)
    assert Path(f"{database}.wal").exists()
    assert query("select total_messages, event_count from daily_metrics") == [(3, 5)]

    source.insert(event("message.sent", created_at=f"{DAY} 23:00"))
    assert run_pipeline(DAY).success

    assert query("select total_messages, event_count from daily_metrics") == [(4, 6)]


def test_the_duckdb_cli_opens_analytics_duckdb_read_only(one_day_warehouse):
    # as an analyst would: from the warehouse folder, naming the file relative to it
    completed = subprocess.run(
        [
            str(VENV_BIN / "duckdb"),
            "-readonly",
            "-csv",
            "-noheader",
            "analytics.duckdb",
            "-c",
            "select total_messages, p95_response_time from daily_metrics",
        ],
        cwd=one_day_warehouse,
        capture_output=True,
        text=True,
        check=False,
    )

    assert completed.returncode == 0, completed.stderr
    assert completed.stdout == "3,290.0\n"


def environment(**variables):
    clean = {key: value for key, value in os.environ.items() if not key.startswith("ANALYTICS_")}
    return {**clean, **variables}


@pytest.mark.parametrize("location", ["gs://bucket/x", "s3:"])
def test_a_warehouse_uri_with_another_scheme_is_refused_with_one_sentence_and_creates_nothing(
    location, tmp_path, monkeypatch
):
    monkeypatch.chdir(tmp_path)
    monkeypatch.setenv("ANALYTICS_WAREHOUSE_DIR", location)
    with pytest.raises(ConfigurationError, match="ANALYTICS_WAREHOUSE_DIR") as refused:
        load_configuration(os.environ)
    assert "\n" not in str(refused.value)

    completed = subprocess.run(
        [
            str(VENV_BIN / "analytics-warehouse"),
            "export",
            "daily_metrics",
            "--start",
            DAY,
            "--end",
            DAY,
            "--output",
            "out.csv",
        ],
        cwd=tmp_path,
        env=environment(ANALYTICS_WAREHOUSE_DIR=location),
        capture_output=True,
        text=True,
        check=False,
    )

    assert completed.returncode == 2  # bad input
    assert completed.stderr.count("\n") == 1
    assert "ANALYTICS_WAREHOUSE_DIR" in completed.stderr
    assert list(tmp_path.iterdir()) == []


def test_an_s3_warehouse_without_a_catalog_uri_is_refused_naming_the_variable(monkeypatch):
    for name in list(os.environ):
        if name.startswith("ANALYTICS_"):
            monkeypatch.delenv(name)
    monkeypatch.setenv("ANALYTICS_WAREHOUSE_DIR", "s3://lake/analytics")

    with pytest.raises(ConfigurationError, match="ANALYTICS_CATALOG_URI") as refused:
        load_configuration(os.environ)
    assert "\n" not in str(refused.value)
