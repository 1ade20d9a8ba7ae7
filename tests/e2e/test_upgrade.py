"""Upgrade in place: a previous-release warehouse becomes the lakehouse, keeping every raw row.

The fixture tests/e2e/data/release1_warehouse/lake/ was written by the previous release (its
README lists the 8 events: 4 on 2025-03-01, 4 on 2025-03-02). Its raw days are gone from
the source, so every raw row must come from the old Parquet files.
"""

import datetime as dt
import shutil
import uuid
from pathlib import Path

import duckdb
import pytest

from assets.resources import LakehouseResource
from pipelines.cli import main
from warehouse.storage.catalog import Lakehouse
from warehouse.tables import DAILY_METRICS, EVENTS, LAKE_TABLES, TableSpec
from warehouse.views import duckdb_path

FIXTURE_LAKE = Path(__file__).resolve().parent / "data" / "release1_warehouse" / "lake"
ORG = uuid.UUID("00000000-0000-4000-8000-00000000000a")
MARCH_1 = dt.date(2025, 3, 1)
MARCH_2 = dt.date(2025, 3, 2)


def event_id(number: int) -> uuid.UUID:
    return uuid.UUID(f"00000000-0000-4000-8000-{number:012d}")


@pytest.fixture
def old_warehouse(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """A copy of the previous release's warehouse, configured as ANALYTICS_WAREHOUSE_DIR."""
    warehouse = tmp_path / "warehouse"
    shutil.copytree(FIXTURE_LAKE, warehouse / "lake")
    monkeypatch.setenv("ANALYTICS_WAREHOUSE_DIR", str(warehouse))
    for variable in ("ANALYTICS_CATALOG_URI", "ANALYTICS_LOCAL_DIR"):
        monkeypatch.delenv(variable, raising=False)
    return warehouse


def lakehouse_of(warehouse: Path) -> Lakehouse:
    return Lakehouse(str(warehouse), LakehouseResource(location=str(warehouse)).catalog)


def table_rows(warehouse: Path, spec: TableSpec) -> list[dict]:
    rows = lakehouse_of(warehouse).table(spec).scan().to_arrow().to_pylist()
    return sorted(rows, key=lambda row: [str(row[name]) for name in spec.column_names])


def old_file_rows(files: str) -> list[tuple]:
    """The old files' rows, their UUIDs as text, the form the lakehouse stores ids in."""
    with duckdb.connect() as connection:
        rows = connection.sql(f"select * from read_parquet('{files}') order by all").fetchall()
    return [tuple(str(v) if isinstance(v, uuid.UUID) else v for v in row) for row in rows]


def test_upgrade_converts_a_release_1_warehouse_keeping_every_raw_row(old_warehouse, capsys):
    assert main(["upgrade"]) == 0

    printed = capsys.readouterr().out.splitlines()
    assert "events: 8 rows" in printed and "daily_metrics: 2 rows" in printed
    events = {uuid.UUID(row["id"]): row for row in table_rows(old_warehouse, EVENTS)}  # text ids
    assert sorted(events) == [event_id(number) for number in range(1, 9)]
    days = [row["event_date"] for row in events.values()]
    assert (days.count(MARCH_1), days.count(MARCH_2)) == (4, 4)
    # raw rows the metrics never counted are kept: malformed properties, no organisation
    assert events[event_id(7)]["properties"] == '"oops"'
    assert events[event_id(8)]["organization_id"] is None
    assert events[event_id(3)]["tokens"] == 30
    assert events[event_id(3)]["response_time_ms"] == 200.0
    assert events[event_id(4)]["rating"] is None  # rating 9 is out of range
    assert events[event_id(1)]["created_at"] == dt.datetime(2025, 3, 1, 9, 0)

    backup = old_warehouse / "lake.parquet-backup"
    assert not (old_warehouse / "lake").exists()
    metrics = [tuple(row.values()) for row in table_rows(old_warehouse, DAILY_METRICS)]
    # total_cost_usd came after release 1: NULL until the day is recomputed (section 8)
    assert metrics == [(*row, None) for row in old_file_rows(f"{backup}/daily_metrics/*.parquet")]
    assert [(row[1], row[4], row[12]) for row in metrics] == [(MARCH_1, 40, 4), (MARCH_2, 12, 3)]

    with duckdb.connect(str(duckdb_path(old_warehouse)), read_only=True) as analyst:
        assert analyst.sql(
            "select event_date, count(*), count(organization_id) from events"
            " group by all order by all"
        ).fetchall() == [(MARCH_1, 4, 4), (MARCH_2, 4, 3)]
        assert analyst.sql(
            "select properties->>'$.responseTime' from events where id = $id",
            params={"id": event_id(6)},
        ).fetchall() == [("400",)]
        assert analyst.sql(
            "select issue, count from data_quality where date = '2025-03-02' order by issue"
        ).fetchall() == [("malformed_properties", 1), ("missing_organization_id", 1)]
        assert analyst.sql(
            "select total_tokens from daily_metrics where organization_id = $org order by date",
            params={"org": ORG},
        ).fetchall() == [(40,), (12,)]


def test_upgrading_twice_changes_nothing(old_warehouse, capsys):
    assert main(["upgrade"]) == 0
    lakehouse = lakehouse_of(old_warehouse)
    snapshots = {spec.name: lakehouse.table(spec).current_snapshot() for spec in LAKE_TABLES}
    converted = {spec.name: table_rows(old_warehouse, spec) for spec in LAKE_TABLES}
    capsys.readouterr()

    # a second run finds the old lake already set aside and commits nothing
    assert main(["upgrade"]) == 2
    assert "is already upgraded" in capsys.readouterr().err
    assert {
        spec.name: lakehouse.reload(spec).current_snapshot() for spec in LAKE_TABLES
    } == snapshots

    # converting the same old files again (an upgrade stopped before the move) gives the
    # same tables, every day replaced rather than appended
    (old_warehouse / "lake.parquet-backup").rename(old_warehouse / "lake")
    assert main(["upgrade"]) == 0
    assert {spec.name: table_rows(old_warehouse, spec) for spec in LAKE_TABLES} == converted
    assert len(converted["events"]) == 8


def test_upgrade_without_an_old_lake_refuses_in_one_sentence(tmp_path, monkeypatch, capsys):
    folder = tmp_path / "warehouse"
    folder.mkdir()
    monkeypatch.setenv("ANALYTICS_WAREHOUSE_DIR", str(folder))
    monkeypatch.delenv("ANALYTICS_CATALOG_URI", raising=False)

    assert main(["upgrade"]) == 2

    assert capsys.readouterr().err.splitlines() == [
        f"error: {folder} is not a previous-release warehouse: it has no lake/ folder of "
        "Parquet files to convert"
    ]
    assert list(folder.iterdir()) == []
