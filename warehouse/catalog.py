"""The analysts' entry point: `analytics.duckdb`, views over the lake and the contract's macros.

The catalog holds no data, only definitions, so it is rebuilt whole rather than altered:
the new file is written under a temporary name and renamed over the old one, and only
when its DDL changed (a digest of the DDL is kept beside it). A pipeline run therefore
never needs DuckDB's write lock on `analytics.duckdb`: an analyst holding it open in the
duckdb CLI keeps reading the definitions they opened, and the next open sees the new
ones. The views read the lake's globs, so new partitions appear without a rebuild.

Objects an analyst creates inside `analytics.duckdb` are lost on the next rebuild; keep
them in a database of your own and `ATTACH` this one.
"""

from __future__ import annotations

import hashlib
import os
import uuid
from pathlib import Path

import duckdb

from warehouse.lake import CATALOG_FILE_NAME, has_partitions, table_glob
from warehouse.sql_files import load_sql
from warehouse.tables import LAKE_TABLES, TableSpec

# The oldest storage format that holds views and macros: any duckdb CLI from 1.0 on,
# including the one this project installs, opens the catalog.
CATALOG_STORAGE_VERSION = "v1.0.0"


def catalog_path(warehouse_dir: Path) -> Path:
    return warehouse_dir / CATALOG_FILE_NAME


def _digest_path(warehouse_dir: Path) -> Path:
    return warehouse_dir / f".{CATALOG_FILE_NAME}.sha256"


def _sql_string(text: str) -> str:
    return "'" + text.replace("'", "''") + "'"


def _view_ddl(warehouse_dir: Path, spec: TableSpec) -> str:
    if has_partitions(warehouse_dir, spec.name):
        source = (
            f"select * from read_parquet({_sql_string(table_glob(warehouse_dir, spec.name))},"
            " union_by_name = true)"
        )
    else:
        typed_nulls = ", ".join(
            f"null::{column.duckdb_type} as {column.name}" for column in spec.columns
        )
        source = f"select {typed_nulls} where false"
    return f"create or replace view {spec.name} as {source};"


def catalog_ddl(warehouse_dir: Path) -> str:
    """Every view and macro of the catalog, for the lake as it is now."""
    views = [_view_ddl(warehouse_dir, spec) for spec in LAKE_TABLES]
    return "\n".join([*views, load_sql("catalog/macros")])


def publish_catalog(warehouse_dir: Path) -> bool:
    """Rebuilds `analytics.duckdb` when its definitions changed; returns whether it did."""
    ddl = catalog_ddl(warehouse_dir)
    digest = hashlib.sha256(ddl.encode()).hexdigest()
    target = catalog_path(warehouse_dir)
    digest_file = _digest_path(warehouse_dir)
    if target.exists() and digest_file.exists() and digest_file.read_text() == digest:
        return False
    warehouse_dir.mkdir(parents=True, exist_ok=True)
    temporary = warehouse_dir / f".{CATALOG_FILE_NAME}.{uuid.uuid4().hex}.tmp"
    try:
        with duckdb.connect() as connection:
            connection.execute(
                f"attach {_sql_string(str(temporary))} as catalog"
                f" (storage_version '{CATALOG_STORAGE_VERSION}')"
            )
            connection.execute("use catalog")
            connection.execute(ddl)
        os.replace(temporary, target)
    finally:
        temporary.unlink(missing_ok=True)
    digest_file.write_text(digest)
    return True


def connect_in_memory(warehouse_dir: Path) -> duckdb.DuckDBPyConnection:
    """An in-memory DuckDB with the catalog's views and macros, for the pipeline's own reads."""
    connection = duckdb.connect()
    connection.execute(catalog_ddl(warehouse_dir))
    return connection
