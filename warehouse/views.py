"""DuckDB over the lakehouse: the analysts' `analytics.duckdb` and the pipeline's own reads.

`analytics.duckdb` holds views and macros only, no data: each view reads the data files
of its table's current Iceberg snapshot, listed when the file was built. It is derived
and disposable: rebuilt after every publish into a temporary file and renamed over the
old one under a lock (so two runs publishing at once cannot put an older listing back),
never written in place, so a reader holding it open keeps the version it opened. A WAL
left beside it by an analyst's crashed read-write session belongs to the replaced file
and is removed. Every view checks that it is read from the path it was built for: a
copied or moved warehouse refuses in one sentence instead of reading the original's
files. Objects an analyst creates inside it are lost on the next rebuild; keep them in a
database of your own and `ATTACH` this one read-only.

The pipeline does not read `analytics.duckdb`: `connect()` gives it an in-memory DuckDB
with the same views over Arrow datasets of the table files (local or S3, no extension
needed) and the same macros, so published tables and macros agree by construction.
"""

from __future__ import annotations

import datetime as dt
import fcntl
import os
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import duckdb

from warehouse.lakehouse import Lakehouse, LakehouseError, view_select
from warehouse.settings import is_s3
from warehouse.sql_files import load_sql
from warehouse.tables import LAKE_TABLES, TableSpec

DUCKDB_FILE_NAME = "analytics.duckdb"
# The oldest storage format that holds views and macros: any duckdb CLI from 1.0 on,
# including the one this project installs, opens the file.
STORAGE_VERSION = "v1.0.0"


class ViewsNotBuilt(LakehouseError):
    """analytics.duckdb cannot be built here (an S3 warehouse without DuckDB's httpfs)."""


def duckdb_path(local_dir: Path) -> Path:
    return local_dir / DUCKDB_FILE_NAME


def _sql_string(text: str) -> str:
    return "'" + text.replace("'", "''") + "'"


def _view_ddl(spec: TableSpec, files: list[str]) -> str:
    select = view_select(spec, files, guard="warehouse_is_here()")
    return f"create or replace view {spec.name} as {select};"


def _guard_ddl(database: Path) -> str:
    message = (
        f"this analytics.duckdb was built for {database} and reads that warehouse's files; "
        "it was copied or moved: open the analytics.duckdb of the warehouse you mean "
        "(a copied warehouse is not read; materialise into an empty one instead)"
    )
    return (
        "create or replace macro warehouse_is_here() as ("
        "select case when count(*) > 0 then true"
        f" else error({_sql_string(message)}) end"
        f" from duckdb_databases() where path = {_sql_string(str(database))});"
    )


def views_ddl(lakehouse: Lakehouse, database: Path) -> str:
    """Every view and macro of `analytics.duckdb` over the tables' current snapshots."""
    views = [_view_ddl(spec, lakehouse.data_files(spec)) for spec in LAKE_TABLES]
    return "\n".join([_guard_ddl(database), *views, catalog_macros()])


def catalog_macros() -> str:
    """The contract's macros: the UTC ones, then those over local days that reuse them."""
    return "\n".join([load_sql("catalog/macros"), load_sql("catalog/macros_local")])


@contextmanager
def _publish_lock(local_dir: Path) -> Iterator[None]:
    with open(local_dir / f".{DUCKDB_FILE_NAME}.lock", "w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        yield


def publish_views(lakehouse: Lakehouse, local_dir: Path) -> Path:
    """Rebuilds `analytics.duckdb` over the current snapshots; returns its path."""
    local_dir.mkdir(parents=True, exist_ok=True)
    target = duckdb_path(local_dir)
    with _publish_lock(local_dir), duckdb.connect() as connection:
        if is_s3(lakehouse.location):
            _load_httpfs(connection, lakehouse.location)
        ddl = views_ddl(lakehouse, target)
        temporary = local_dir / f".{DUCKDB_FILE_NAME}.{uuid.uuid4().hex}.tmp"
        try:
            connection.execute(
                f"attach {_sql_string(str(temporary))} as views"
                f" (storage_version '{STORAGE_VERSION}')"
            )
            connection.execute("use views")
            connection.execute(ddl)
            connection.execute("use memory")
            connection.execute("detach views")
            os.replace(temporary, target)
        finally:
            temporary.unlink(missing_ok=True)
        # a WAL beside the new file is an analyst's leftover from the file it replaced
        Path(f"{target}.wal").unlink(missing_ok=True)
    return target


def _load_httpfs(connection: duckdb.DuckDBPyConnection, location: str) -> None:
    try:
        connection.execute("load httpfs")
    except duckdb.Error:
        raise ViewsNotBuilt(
            f"analytics.duckdb is not built for the S3 warehouse {location}: DuckDB's httpfs "
            "extension is not installed here (run `INSTALL httpfs` where DuckDB can download "
            "it, or read the tables through the catalog with pyiceberg or Polars)"
        ) from None


def connect(
    lakehouse: Lakehouse,
    first: dt.date | None = None,
    last: dt.date | None = None,
    as_of: dt.datetime | None = None,
) -> duckdb.DuckDBPyConnection:
    """An in-memory DuckDB with every table as a view and the catalog's macros.

    `first`/`last` bound the partitions listed (the caller's reads must stay inside
    them); `as_of` reads every table as it was at that moment.
    """
    connection = duckdb.connect()
    lakehouse.register(connection, first, last, as_of=as_of)
    connection.execute(catalog_macros())
    return connection
