"""Another engine's delete files (Spark, Trino and Flink in merge-on-read mode): a view
reads a table through them, never around them."""

import datetime as dt

import duckdb
import pyarrow as pa
import pytest

from tests.storage.iceberg_deletes import add_equality_deletes, add_position_deletes
from warehouse.storage.catalog import Lakehouse, LakehouseError
from warehouse.storage.reading import register_tables
from warehouse.storage.writing import commit_partitions, stage_partition
from warehouse.tables import EVENT_COUNTS

ORG = "00000000-0000-4000-8000-00000000000a"
DAY = dt.date(2026, 3, 2)
EVENT_TYPES = ["message.sent", "conversation.started", "login"]


@pytest.fixture
def lakehouse(tmp_path):
    lakehouse = Lakehouse(str(tmp_path / "warehouse"), f"sqlite:///{tmp_path / 'catalog.db'}")
    rows = pa.table(
        {
            "organization_id": pa.array([ORG] * 3, pa.string()),
            "date": pa.array([DAY] * 3, pa.date32()),
            "event_type": EVENT_TYPES,
            "event_count": pa.array([10, 20, 30], pa.int64()),
        }
    )
    commit_partitions(
        lakehouse, EVENT_COUNTS, [stage_partition(lakehouse, EVENT_COUNTS, DAY, rows, {})], {}
    )
    return lakehouse


def only_data_file(lakehouse):
    (task,) = lakehouse.planned(EVENT_COUNTS)
    return task.file.file_path


def event_counts_read_by_a_view(lakehouse):
    connection = duckdb.connect()
    register_tables(lakehouse, connection, [EVENT_COUNTS])
    return dict(connection.sql("select event_type, event_count from event_counts").fetchall())


def test_a_view_leaves_out_the_rows_a_position_delete_file_removes(lakehouse):
    add_position_deletes(lakehouse.table(EVENT_COUNTS), only_data_file(lakehouse), [1])
    lakehouse.forget(EVENT_COUNTS)

    assert event_counts_read_by_a_view(lakehouse) == {"message.sent": 10, "login": 30}


def test_a_view_reads_what_pyiceberg_reads_through_position_deletes(lakehouse):
    add_position_deletes(lakehouse.table(EVENT_COUNTS), only_data_file(lakehouse), [0, 2])
    lakehouse.forget(EVENT_COUNTS)
    through_pyiceberg = lakehouse.table(EVENT_COUNTS).scan().to_arrow()

    assert event_counts_read_by_a_view(lakehouse) == dict(
        zip(
            through_pyiceberg["event_type"].to_pylist(),
            through_pyiceberg["event_count"].to_pylist(),
            strict=True,
        )
    )
    assert event_counts_read_by_a_view(lakehouse) == {"conversation.started": 20}


def test_a_table_with_equality_delete_files_is_refused_in_one_sentence(lakehouse):
    deleted = pa.table({"event_type": ["login"]})
    add_equality_deletes(lakehouse.table(EVENT_COUNTS), DAY, deleted, ["event_type"])
    lakehouse.forget(EVENT_COUNTS)

    with pytest.raises(LakehouseError, match="equality delete files") as refused:
        event_counts_read_by_a_view(lakehouse)
    assert "rewrite_data_files" in str(refused.value)
    assert "\n" not in str(refused.value)
