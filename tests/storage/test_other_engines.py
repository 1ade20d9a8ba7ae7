"""Other engines read the lakehouse through the catalog, and an organisation's rows are
found by its id as the platform writes it: ids are stored as text, a type every engine
compares with a string."""

import datetime as dt

import pyarrow as pa
import pytest
from pyiceberg.expressions import EqualTo

from warehouse.storage.catalog import Lakehouse
from warehouse.storage.writing import commit_partitions, stage_partition
from warehouse.tables import EVENT_COUNTS

ORG_A = "00000000-0000-4000-8000-00000000000a"
ORG_B = "00000000-0000-4000-8000-00000000000b"
DAY = dt.date(2026, 3, 2)


@pytest.fixture(scope="module")
def event_counts(tmp_path_factory):
    folder = tmp_path_factory.mktemp("engines")
    lakehouse = Lakehouse(str(folder / "warehouse"), f"sqlite:///{folder / 'catalog.db'}")
    rows = pa.table(
        {
            "organization_id": pa.array([ORG_A, ORG_B], pa.string()),
            "date": pa.array([DAY, DAY], pa.date32()),
            "event_type": ["message.sent", "message.sent"],
            "event_count": pa.array([7, 11], pa.int64()),
        }
    )
    staged = stage_partition(lakehouse, EVENT_COUNTS, DAY, rows, {})
    commit_partitions(lakehouse, EVENT_COUNTS, [staged], {})
    return lakehouse.table(EVENT_COUNTS)


def test_pyiceberg_finds_an_organisation_by_its_id(event_counts):
    rows = event_counts.scan(row_filter=EqualTo("organization_id", ORG_B)).to_arrow()

    assert rows["event_count"].to_pylist() == [11]


def test_polars_finds_an_organisation_by_its_id(event_counts):
    import polars as pl

    rows = pl.scan_iceberg(event_counts).filter(pl.col("organization_id") == ORG_B).collect()

    assert rows["event_count"].to_list() == [11]


def test_daft_finds_an_organisation_by_its_id(event_counts):
    import daft

    frame = daft.read_iceberg(event_counts).where(daft.col("organization_id") == ORG_B)

    assert frame.to_arrow()["event_count"].to_pylist() == [11]
