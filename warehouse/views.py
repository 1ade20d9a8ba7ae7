"""DuckDB over the lakehouse: the analysts' `analytics.duckdb` and the pipeline's own reads.

`analytics.duckdb` holds a view of every table and the macros. Most views read the data
files of their table's current Iceberg snapshot, listed when the file was built. The
compact layers the macros read (SERVED_TABLES) are served from a copy in DuckDB's own
storage instead, in the file's `serving` schema, sorted by organisation and day: a
question then opens no Parquet file, which is most of what it cost over the lake. The
copy is refreshed by the days whose files changed, and holds the same rows as the
table's current snapshot. The file is derived and disposable: after every publish the
tables just written are refreshed in a private master copy, which is copied over the
published file by a rename under a lock (so two runs publishing at once cannot put an
older listing back); the published file is never written in place, so a reader holding
it open keeps the version it opened. A WAL
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
from collections.abc import Iterable, Iterator, Mapping
from contextlib import contextmanager
from pathlib import Path

import duckdb
import pyarrow as pa

from warehouse.engine import COMPUTE_MEMORY_LIMIT, SPILL_DIRECTORY, compute_connection
from warehouse.sql_files import load_sql
from warehouse.storage.catalog import Lakehouse, LakehouseError, is_s3
from warehouse.storage.partition_records import encode_record
from warehouse.storage.reading import (
    NO_FILES,
    TableFiles,
    day_files,
    listing,
    published_days,
    register_tables,
    sql_string,
    view_select,
)
from warehouse.tables import (
    AGENT_METRICS,
    DAILY_ACTIVE_USERS,
    DAILY_MEASUREMENTS,
    DAILY_METRICS,
    DAILY_TABLES,
    EVENT_COUNTS,
    LAKE_TABLES,
    LOCAL_TABLES,
    TableSpec,
)

DUCKDB_FILE_NAME = "analytics.duckdb"
# Every published partition of every table and the settings that shaped it (the record of
# warehouse/storage/partition_records.py): what the completeness macros read.
PARTITIONS_TABLE = "published_partitions"
PARTITIONS_SCHEMA = pa.schema(
    [("table_name", pa.string()), ("date", pa.date32()), ("record", pa.string())]
)
# The tables the macros read (docs/contract.md, section 3), served from DuckDB's storage,
# with the data files (and delete files) each served day was loaded from.
SERVED_TABLES = (
    DAILY_METRICS,
    AGENT_METRICS,
    EVENT_COUNTS,
    DAILY_ACTIVE_USERS,
    DAILY_MEASUREMENTS,
    *LOCAL_TABLES,
)
SERVING_SCHEMA = "serving"
SERVED_FILES_TABLE = f"{SERVING_SCHEMA}.served_files"
SERVED_FILES_SCHEMA = pa.schema(
    [("table_name", pa.string()), ("date", pa.date32()), ("file_path", pa.string())]
)
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


def _served_view_ddl(spec: TableSpec) -> str:
    return (
        f"create or replace view {spec.name} as"
        f" select * from {SERVING_SCHEMA}.{spec.name} where warehouse_is_here();"
    )


def _refresh_served_table(
    connection: duckdb.DuckDBPyConnection, lakehouse: Lakehouse, spec: TableSpec
) -> None:
    """Brings the served copy of `spec` to its current snapshot: the days whose files
    (or delete files) differ from those the copy was loaded from are deleted and loaded
    again, sorted by organisation and day so that a question's scan skips the other
    organisations' row groups."""
    day_column = spec.date_column
    current = {(day, path) for day, paths in day_files(lakehouse, spec).items() for path in paths}
    served = {
        (day, path)
        for day, path in connection.execute(
            f"select date, file_path from {SERVED_FILES_TABLE} where table_name = $name",
            {"name": spec.name},
        ).fetchall()
    }
    changed_days = {day for day, _ in current ^ served}
    if not changed_days:
        return
    changed = sorted(changed_days)
    connection.execute(
        f"delete from {SERVING_SCHEMA}.{spec.name} where {day_column} in (select unnest($days))",
        {"days": changed},
    )
    loaded = view_select(spec, listing(lakehouse, spec, changed[0], changed[-1]))
    connection.execute(
        f"insert into {SERVING_SCHEMA}.{spec.name} select * from ({loaded})"
        f" where {day_column} in (select unnest($days)) order by organization_id, {day_column}",
        {"days": changed},
    )
    connection.execute(
        f"delete from {SERVED_FILES_TABLE}"
        " where table_name = $name and date in (select unnest($days))",
        {"name": spec.name, "days": changed},
    )
    rows = [
        {"table_name": spec.name, "date": day, "file_path": path}
        for day, path in sorted(current)
        if day in changed_days
    ]
    connection.register("loaded_files", pa.Table.from_pylist(rows, schema=SERVED_FILES_SCHEMA))
    connection.execute(f"insert into {SERVED_FILES_TABLE} select * from loaded_files")
    connection.unregister("loaded_files")


def _create_served_tables(connection: duckdb.DuckDBPyConnection) -> None:
    connection.execute(f"create schema {SERVING_SCHEMA}")
    connection.execute(
        f"create table {SERVED_FILES_TABLE} (table_name varchar, date date, file_path varchar)"
    )
    for spec in SERVED_TABLES:
        connection.execute(
            f"create table {SERVING_SCHEMA}.{spec.name} as {view_select(spec, NO_FILES)}"
        )


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


def _table_names() -> str:
    return (
        "create or replace macro daily_table_names() as "
        f"{[spec.name for spec in DAILY_TABLES]};\n"
        "create or replace macro local_table_names() as "
        f"{[spec.name for spec in LOCAL_TABLES]};\n"
    )


def catalog_macros() -> str:
    """The contract's macros, over UTC days and over each organisation's local days, and
    the completeness macros they refuse incomplete ranges with."""
    parts = ("calendar", "completeness", "macros")
    return _table_names() + "\n".join(load_sql(f"catalog/{part}") for part in parts)


def completeness_state(scope: str) -> str:
    """The statements deriving the completeness macros' state from `published_partitions`:
    `temp` tables in a connection, tables of the database otherwise."""
    return _table_names() + load_sql("catalog/completeness_state").format(scope=scope)


def refresh_completeness(connection: duckdb.DuckDBPyConnection) -> None:
    """Derives the connection's completeness state from its `published_partitions`."""
    connection.execute(completeness_state("temp"))


def partition_rows(
    lakehouse: Lakehouse,
    tables: Iterable[TableSpec] = LAKE_TABLES,
    held: Mapping[TableSpec, TableFiles] | None = None,
) -> pa.Table:
    """The published partitions of `tables` as rows of PARTITIONS_TABLE; with `held` (a
    past version of the tables, time travel), only the days whose files it holds: the
    records are the tables' current ones, so a day published later, or published empty,
    does not count as held then."""
    rows = [
        {"table_name": spec.name, "date": day, "record": encode_record(record)}
        for spec in tables
        for day, record in published_days(lakehouse, spec).items()
        if held is None or (spec in held and day in held[spec].days)
    ]
    return pa.Table.from_pylist(rows, schema=PARTITIONS_SCHEMA)


@contextmanager
def _publish_lock(local_dir: Path) -> Iterator[None]:
    with open(local_dir / f".{DUCKDB_FILE_NAME}.lock", "w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        yield


def publish_views(
    lakehouse: Lakehouse, local_dir: Path, tables: Iterable[TableSpec] = LAKE_TABLES
) -> Path:
    """Refreshes the views (and served copies) of `tables` to their current snapshots;
    returns the file's path.

    The pipeline keeps a private master copy beside the published file: a publish
    replaces the views of the tables it wrote in the master and reloads the changed days
    of their served copies (everything, the first time or when the macros or a served
    table's columns changed), then copies the master over `analytics.duckdb` by a
    rename. Refreshing only the tables just written keeps a publish's cost independent
    of the other tables (each view's file list comes from its table's manifests).
    """
    local_dir.mkdir(parents=True, exist_ok=True)
    target = duckdb_path(local_dir)
    master = local_dir / f".{DUCKDB_FILE_NAME}.master"
    digest_file = local_dir / f".{DUCKDB_FILE_NAME}.sha256"
    guard, macros = _guard_ddl(target), catalog_macros()
    state = completeness_state("")
    # a served table's columns change with the code: its copy is then loaded again
    served_columns = [(spec.name, spec.column_names) for spec in SERVED_TABLES]
    digest = hashlib.sha256(
        f"{STORAGE_VERSION}\n{guard}\n{macros}\n{state}\n{served_columns}".encode()
    ).hexdigest()
    # the first load of a served table sorts it whole: under the pipeline's memory cap,
    # spilling to disk beyond it
    settings = {"memory_limit": COMPUTE_MEMORY_LIMIT, "temp_directory": str(SPILL_DIRECTORY)}
    with _publish_lock(local_dir), duckdb.connect(config=settings) as connection:
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
            _create_served_tables(connection)
            connection.execute(
                f"create table {PARTITIONS_TABLE} (table_name varchar, date date, record json)"
            )
        tables = list(tables)
        for spec in tables:
            if spec in SERVED_TABLES:
                _refresh_served_table(connection, lakehouse, spec)
                connection.execute(_served_view_ddl(spec))
            else:
                connection.execute(_view_ddl(spec, listing(lakehouse, spec)))
        connection.execute(
            f"delete from {PARTITIONS_TABLE} where table_name in (select unnest($names))",
            {"names": [spec.name for spec in tables]},
        )
        connection.register("published", partition_rows(lakehouse, tables))
        connection.execute(f"insert into {PARTITIONS_TABLE} select * from published")
        connection.unregister("published")
        connection.execute(state)
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


def analytics_connection() -> duckdb.DuckDBPyConnection:
    """A connection to the pipeline's in-memory DuckDB holding the macros over an empty view
    of every table (and no published partition): a computation registers the tables it
    reads as temporary views of the same names, which shadow them (`connect` from the
    lakehouse; the fast tests from Arrow tables). UUIDs leave as text, as the tables
    store them.
    """
    # Created once per database, so once per step: the macros, over an empty view of every
    # table in the database's main schema.
    empty_views = "".join(
        f"create view {spec.name} as {view_select(spec, NO_FILES)};\n" for spec in LAKE_TABLES
    )
    empty_partitions = (
        f"create view {PARTITIONS_TABLE} as select null::varchar as table_name,"
        " null::date as date, null::json as record where false;\n"
    )
    return compute_connection(
        empty_views + empty_partitions + completeness_state("") + catalog_macros(),
    )


def connect(
    lakehouse: Lakehouse,
    first: dt.date | None = None,
    last: dt.date | None = None,
    as_of: dt.datetime | None = None,
    tables: Iterable[TableSpec] = LAKE_TABLES,
) -> duckdb.DuckDBPyConnection:
    """`analytics_connection` with `tables` (every table by default) read from the
    lakehouse, and every table's published partitions.

    `first`/`last` bound the partitions listed (the caller's reads must stay inside
    them); `as_of` reads every table as it was at that moment. Tables not asked for are
    empty views, so the macros (which name them all) work without listing their files.
    """
    connection = analytics_connection()
    listed = register_tables(lakehouse, connection, tables, first, last, as_of)
    held = None if as_of is None else listed
    connection.register(PARTITIONS_TABLE, partition_rows(lakehouse, held=held))
    refresh_completeness(connection)
    return connection
