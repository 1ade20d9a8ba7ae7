"""DuckDB over the lakehouse: the analysts' `analytics.duckdb` and the pipeline's own reads.

`analytics.duckdb` holds views and macros only, no data: each view reads the data files
of its table's current Iceberg snapshot, listed when the file was built. It is derived
and disposable: after every publish the views of the tables just written are refreshed
in a private master copy, which is copied over the published file by a rename under a
lock (so two runs publishing at once cannot put an older listing back); the published
file is never written in place, so a reader holding it open keeps the version it opened. A WAL
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
import hashlib
import os
import shutil
import uuid
from collections.abc import Iterable, Iterator
from contextlib import contextmanager
from pathlib import Path

import duckdb

from warehouse.engine import compute_connection
from warehouse.lakehouse import (
    NO_FILES,
    Lakehouse,
    LakehouseError,
    TableFiles,
    sql_string,
    view_select,
)
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


def _view_ddl(spec: TableSpec, listed: TableFiles) -> str:
    select = view_select(spec, listed, guard="warehouse_is_here()")
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
        f" else error({sql_string(message)}) end"
        f" from duckdb_databases() where path = {sql_string(str(database))});"
    )


def catalog_macros() -> str:
    """The contract's macros, over UTC days and over each organisation's local days."""
    return load_sql("catalog/macros")


@contextmanager
def _publish_lock(local_dir: Path) -> Iterator[None]:
    with open(local_dir / f".{DUCKDB_FILE_NAME}.lock", "w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        yield


def publish_views(
    lakehouse: Lakehouse, local_dir: Path, tables: Iterable[TableSpec] = LAKE_TABLES
) -> Path:
    """Refreshes the views of `tables` over their current snapshots; returns the file's path.

    The pipeline keeps a private master copy beside the published file: a publish
    replaces the views of the tables it wrote in the master (everything, the first time
    or when the macros changed), then copies the master over `analytics.duckdb` by a
    rename. Rebuilding only the tables just written keeps a publish's cost independent
    of the other tables (each view's file list comes from its table's manifests).
    """
    local_dir.mkdir(parents=True, exist_ok=True)
    target = duckdb_path(local_dir)
    master = local_dir / f".{DUCKDB_FILE_NAME}.master"
    digest_file = local_dir / f".{DUCKDB_FILE_NAME}.sha256"
    guard, macros = _guard_ddl(target), catalog_macros()
    digest = hashlib.sha256(f"{STORAGE_VERSION}\n{guard}\n{macros}".encode()).hexdigest()
    with _publish_lock(local_dir), duckdb.connect() as connection:
        if is_s3(lakehouse.location):
            _load_httpfs(connection, lakehouse.location)
        rebuild = not master.exists() or not digest_file.exists()
        rebuild = rebuild or digest_file.read_text() != digest
        if rebuild:
            master.unlink(missing_ok=True)
            tables = LAKE_TABLES
        connection.execute(
            f"attach {sql_string(str(master))} as views (storage_version '{STORAGE_VERSION}')"
        )
        connection.execute("use views")
        if rebuild:
            connection.execute(guard)  # the views call it
        for spec in tables:
            connection.execute(_view_ddl(spec, lakehouse.listing(spec)))
        if rebuild:
            connection.execute(macros)
        connection.execute("use memory")
        connection.execute("detach views")
        if rebuild:
            digest_file.write_text(digest)
        temporary = local_dir / f".{DUCKDB_FILE_NAME}.{uuid.uuid4().hex}.tmp"
        try:
            shutil.copyfile(master, temporary)
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
    tables: Iterable[TableSpec] = LAKE_TABLES,
    uuids_as_arrow_uuid: bool = False,
) -> duckdb.DuckDBPyConnection:
    """An in-memory DuckDB with `tables` (every table by default) as views, and the macros.

    `first`/`last` bound the partitions listed (the caller's reads must stay inside
    them); `as_of` reads every table as it was at that moment. Tables not asked for are
    empty views, so the macros (which name them all) work without listing their files.
    UUIDs leave as text, which every Arrow reader takes, unless `uuids_as_arrow_uuid`
    (rows written back to an Iceberg table).
    """
    # Created once per database, so once per step (40 ms): the macros, over an empty view
    # of every table in the database's main schema; the connection's own temporary views
    # shadow them.
    empty_views = "".join(
        f"create view {spec.name} as {view_select(spec, NO_FILES)};\n" for spec in LAKE_TABLES
    )
    connection = compute_connection(
        empty_views + catalog_macros(), arrow_lossless_conversion=uuids_as_arrow_uuid
    )
    lakehouse.register(connection, first, last, tables=tables, as_of=as_of)
    return connection
