"""The served copies of analytics.duckdb (warehouse/views.py): the compact layers the
macros read, held in DuckDB's storage, always the rows of the table's current snapshot,
whatever changed it: a day replaced, a day deleted from by another engine, a day no longer
held. Local disk, a SQLite catalog, no PostgreSQL or Dagster."""

import datetime as dt
from pathlib import Path

import duckdb
import pyarrow as pa
import pytest

from tests.storage.iceberg_deletes import add_position_deletes
from warehouse.storage.catalog import Lakehouse
from warehouse.storage.writing import commit_partitions, stage_partition
from warehouse.tables import EVENT_COUNTS
from warehouse.views import SERVING_SCHEMA, publish_views

FIRST_ORG = "00000000-0000-4000-8000-00000000000a"
SECOND_ORG = "00000000-0000-4000-8000-00000000000b"
MONDAY, TUESDAY = dt.date(2026, 3, 2), dt.date(2026, 3, 3)


@pytest.fixture
def lakehouse(tmp_path):
    location = tmp_path / "warehouse"
    return Lakehouse(str(location), f"sqlite:///{location / 'catalog.db'}")


def publish(lakehouse):
    return publish_views(lakehouse, Path(lakehouse.location), [EVENT_COUNTS])


def publish_counts(lakehouse, day, counts):
    """Publishes `counts` ({organisation: messages sent}) as the day's event_counts."""
    rows = pa.table(
        {
            "organization_id": pa.array(list(counts), pa.string()),
            "date": pa.array([day] * len(counts), pa.date32()),
            "event_type": ["message.sent"] * len(counts),
            "event_count": pa.array(list(counts.values()), pa.int64()),
        }
    )
    staged = stage_partition(lakehouse, EVENT_COUNTS, day, rows, {})
    commit_partitions(lakehouse, EVENT_COUNTS, [staged], {})
    return publish(lakehouse)


def served(path, query="select date, organization_id::varchar, event_count from event_counts"):
    with duckdb.connect(str(path), read_only=True) as connection:
        return connection.sql(f"{query} order by all").fetchall()


def test_the_view_of_a_compact_layer_reads_its_served_copy_in_duckdbs_storage(lakehouse):
    path = publish_counts(lakehouse, MONDAY, {SECOND_ORG: 2, FIRST_ORG: 1})

    with duckdb.connect(str(path), read_only=True) as connection:
        table_types = connection.sql(
            "select table_type from information_schema.tables"
            f" where table_schema = '{SERVING_SCHEMA}' and table_name = 'event_counts'"
        ).fetchall()
        # loaded sorted by organisation and day, so a question's scan skips row groups
        stored = connection.sql(
            f"select organization_id::varchar from {SERVING_SCHEMA}.event_counts"
        ).fetchall()
    assert table_types == [("BASE TABLE",)]
    assert stored == [(FIRST_ORG,), (SECOND_ORG,)]
    assert served(path) == [(MONDAY, FIRST_ORG, 1), (MONDAY, SECOND_ORG, 2)]


def test_a_replaced_day_is_served_with_its_new_rows_and_the_other_days_are_kept(lakehouse):
    publish_counts(lakehouse, MONDAY, {FIRST_ORG: 1})
    publish_counts(lakehouse, TUESDAY, {FIRST_ORG: 5})

    path = publish_counts(lakehouse, MONDAY, {FIRST_ORG: 7, SECOND_ORG: 3})

    assert served(path) == [
        (MONDAY, FIRST_ORG, 7),
        (MONDAY, SECOND_ORG, 3),
        (TUESDAY, FIRST_ORG, 5),
    ]


def test_a_day_published_empty_is_no_longer_served(lakehouse):
    publish_counts(lakehouse, MONDAY, {FIRST_ORG: 1})
    publish_counts(lakehouse, TUESDAY, {FIRST_ORG: 5})

    path = publish_counts(lakehouse, MONDAY, {})

    assert served(path) == [(TUESDAY, FIRST_ORG, 5)]


def test_rows_another_engine_deletes_leave_the_served_copy_at_the_next_publish(lakehouse):
    publish_counts(lakehouse, MONDAY, {FIRST_ORG: 1, SECOND_ORG: 2})
    (task,) = lakehouse.planned(EVENT_COUNTS)
    add_position_deletes(lakehouse.table(EVENT_COUNTS), task.file.file_path, [0])
    lakehouse.forget(EVENT_COUNTS)

    path = publish(lakehouse)

    assert served(path) == [(MONDAY, SECOND_ORG, 2)]
