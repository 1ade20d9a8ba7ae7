"""The Parquet lake: one file per table and partition at a fixed path, replaced atomically.

Layout: `<warehouse>/lake/<table>/<YYYY-MM-DD>.parquet`, where the date is the UTC day
(or the as-of date for insight tables). A file is written under a temporary name in the
same folder and renamed over the old one, so a crash mid-write leaves the previous
version readable and readers never see half a file.
"""

from __future__ import annotations

import datetime as dt
import os
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import duckdb
import pyarrow as pa
import pyarrow.parquet as pq

CATALOG_FILE_NAME = "analytics.duckdb"


def table_dir(warehouse_dir: Path, table: str) -> Path:
    return warehouse_dir / "lake" / table


def partition_path(warehouse_dir: Path, table: str, day: dt.date) -> Path:
    return table_dir(warehouse_dir, table) / f"{day.isoformat()}.parquet"


def table_glob(warehouse_dir: Path, table: str) -> str:
    return str(table_dir(warehouse_dir, table) / "*.parquet")


def has_partitions(warehouse_dir: Path, table: str) -> bool:
    directory = table_dir(warehouse_dir, table)
    return directory.is_dir() and any(directory.glob("*.parquet"))


@contextmanager
def atomic_path(final_path: Path) -> Iterator[Path]:
    """Yields a temporary path beside `final_path`; renames it over `final_path` on success.

    The temporary name does not end in `.parquet`, so the catalog's globs never read it.
    """
    final_path.parent.mkdir(parents=True, exist_ok=True)
    temporary = final_path.with_name(f".{final_path.name}.{uuid.uuid4().hex}.tmp")
    try:
        yield temporary
        os.replace(temporary, final_path)
    finally:
        temporary.unlink(missing_ok=True)


def copy_query_to_partition(
    connection: duckdb.DuckDBPyConnection,
    query: str,
    parameters: dict[str, object],
    destination: Path,
) -> int:
    """Writes the result of a DuckDB query to `destination` atomically; returns its row count.

    DuckDB writes the Parquet itself, so its types (UUID, JSON, DATE) survive unchanged
    and a large result streams out in row groups.
    """
    with atomic_path(destination) as temporary:
        connection.execute(
            f"copy ({query}) to $destination (format parquet, compression zstd)",
            {**parameters, "destination": str(temporary)},
        )
        return row_count(temporary)


def row_count(path: Path) -> int:
    """Rows in a Parquet file, read from its footer."""
    return pq.ParquetFile(path).metadata.num_rows


def read_preview(path: Path, rows: int = 10) -> pa.Table:
    """The first rows of a partition, for the Dagster UI."""
    with duckdb.connect() as connection:
        return connection.sql(
            "select * from read_parquet($path) limit $rows",
            params={"path": str(path), "rows": rows},
        ).to_arrow_table()
