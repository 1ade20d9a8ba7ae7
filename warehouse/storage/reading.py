"""Reading the lakehouse: a snapshot's files as DuckDB views, through the table format.

A view reads the data files pyiceberg plans for the current (or a past) snapshot, never a
folder, so files an overwrite removed are never read. Rows that another engine deleted
with position delete files (Spark, Trino and Flink in merge-on-read mode) are left out
by the view itself: it reads each row's file and position and anti-joins the delete
files' (file_path, pos). A table with equality delete files is refused in one sentence
(`Lakehouse.planned`). DuckDB reads local files itself, and S3 objects through the
table's own Arrow filesystem (no httpfs extension needed).
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field

import duckdb
from fsspec.implementations.arrow import ArrowFSWrapper

from warehouse.storage.catalog import Lakehouse, is_s3, partition_day
from warehouse.storage.partition_records import PartitionRecord, partition_records
from warehouse.storage.writing import StagedPartition
from warehouse.tables import LAKE_TABLES, TableSpec

# How a view reads a column the Parquet files store as another type (JSON as its text)
_STORED_TYPES = {"JSON": "VARCHAR"}


@dataclass(frozen=True)
class TableFiles:
    """A version of a table as a view reads it: its data files, the position delete files
    that apply to them, and its columns' field ids."""

    data_files: tuple[str, ...] = ()
    position_deletes: tuple[str, ...] = ()
    field_ids: Mapping[str, int] = field(default_factory=dict)
    days: frozenset[dt.date] = frozenset()  # the partitions the data files hold


NO_FILES = TableFiles()


def listing(
    lakehouse: Lakehouse,
    spec: TableSpec,
    first: dt.date | None = None,
    last: dt.date | None = None,
    as_of: dt.datetime | None = None,
) -> TableFiles:
    """The files of the current snapshot (or of the one current at `as_of`; none if the
    table was empty then), within [first, last] if given."""
    table = lakehouse.table(spec)
    snapshot_id = None
    if as_of is not None:
        snapshot = table.snapshot_as_of_timestamp(int(as_of.timestamp() * 1000))
        if snapshot is None:
            return NO_FILES
        snapshot_id = snapshot.snapshot_id
    tasks = lakehouse.planned(spec, first, last, snapshot_id)
    data_files = sorted(task.file.file_path for task in tasks)
    deletes = sorted({delete.file_path for task in tasks for delete in task.delete_files})
    field_ids = {column.name: column.field_id for column in table.schema().fields}
    days = frozenset(partition_day(task.file) for task in tasks)
    return TableFiles(tuple(data_files), tuple(deletes), field_ids, days)


def day_files(lakehouse: Lakehouse, spec: TableSpec) -> dict[dt.date, frozenset[str]]:
    """Each day of the current snapshot and the files a read of it opens: its data files
    and the delete files that apply to them. A day replaced, or deleted from by another
    engine, has other files."""
    files: dict[dt.date, set[str]] = {}
    for task in lakehouse.planned(spec):
        day = files.setdefault(partition_day(task.file), set())
        day.add(task.file.file_path)
        day.update(delete.file_path for delete in task.delete_files)
    return {day: frozenset(paths) for day, paths in sorted(files.items())}


def published_rows(lakehouse: Lakehouse, spec: TableSpec, day: dt.date) -> int | None:
    """Rows of partition `day` in the current snapshot; None when it was never published."""
    if day not in published_days(lakehouse, spec):
        return None
    return sum(task.file.record_count for task in lakehouse.planned(spec, day, day))


def published_days(lakehouse: Lakehouse, spec: TableSpec) -> dict[dt.date, PartitionRecord]:
    """Every day the table has published, with the settings that shaped it.

    A table published before days were recorded (no record at all) holds the days it has
    files of, with no setting known; its first commit records them (`writing.py`). The
    days it published empty are not among them: they count as not complete until a run
    publishes them again.
    """
    records = partition_records(lakehouse.table(spec))
    if records or spec.date_column == "effective_from":
        return records
    return {day: {} for day in sorted(lakehouse.file_days(spec))}


def register_tables(
    lakehouse: Lakehouse,
    connection: duckdb.DuckDBPyConnection,
    tables: Iterable[TableSpec] = LAKE_TABLES,
    first: dt.date | None = None,
    last: dt.date | None = None,
    as_of: dt.datetime | None = None,
) -> dict[TableSpec, TableFiles]:
    """Makes each table a temporary view of `connection` over its snapshot's files;
    returns what each view reads.

    With `first` and `last`, only those partitions are listed (a bounded read); with
    `as_of`, each table as it was at that moment (time travel).
    """
    tables = list(tables)
    if is_s3(lakehouse.location) and tables:
        register_s3(lakehouse, connection, tables[0])
    listed = {spec: listing(lakehouse, spec, first, last, as_of) for spec in tables}
    for spec, files in listed.items():
        connection.execute(f"create or replace temp view {spec.name} as {view_select(spec, files)}")
    return listed


def register_staged(
    lakehouse: Lakehouse,
    connection: duckdb.DuckDBPyConnection,
    spec: TableSpec,
    staged: StagedPartition,
) -> None:
    """Makes a staged (not yet committed) day of the table a temporary view of `connection`,
    for what is computed from the day before it is published."""
    table = lakehouse.table(spec)
    field_ids = {column.name: column.field_id for column in table.schema().fields}
    files = TableFiles(
        (staged.path,) if staged.path else (), (), field_ids, frozenset({staged.day})
    )
    if is_s3(lakehouse.location):
        register_s3(lakehouse, connection, spec)
    connection.execute(f"create or replace temp view {spec.name} as {view_select(spec, files)}")


def register_s3(
    lakehouse: Lakehouse, connection: duckdb.DuckDBPyConnection, spec: TableSpec
) -> None:
    """Offers DuckDB the warehouse's Arrow S3 filesystem under `s3://`, once per connection."""
    if _S3Files.protocol not in connection.list_filesystems():
        connection.register_filesystem(_S3Files(lakehouse.s3_filesystem(spec)))


class _S3Files(ArrowFSWrapper):  # type: ignore[misc]
    """The warehouse's Arrow S3 filesystem, offered to DuckDB under the `s3://` scheme."""

    protocol = "s3"


def sql_string(text: str) -> str:
    """`text` as a SQL string literal."""
    return "'" + text.replace("'", "''") + "'"


def _local_path(uri: str) -> str:
    return uri.removeprefix("file://")


def view_select(spec: TableSpec, listed: TableFiles, guard: str | None = None) -> str:
    """The select of a table's view: its data files read by DuckDB, typed as the contract
    says, without the rows position delete files remove.

    Columns are read by their Iceberg field ids (read_parquet's `schema`), as Iceberg
    readers do: a file written before a column was added (schema evolution) reads it as
    NULL, and binding the view opens no file. JSON gets its JSON type back from its text;
    a table with no file is an empty, typed relation. `guard` is a condition every read
    must pass.
    """
    if not listed.data_files:
        typed_nulls = ", ".join(
            f"null::{column.duckdb_type} as {column.name}" for column in spec.columns
        )
        return f"select {typed_nulls} where false"
    paths = ", ".join(sql_string(_local_path(path)) for path in listed.data_files)
    fields = ", ".join(
        f"{listed.field_ids[column.name]}: {{name: {sql_string(column.name)}, "
        f"type: '{_STORED_TYPES.get(column.duckdb_type, column.duckdb_type)}', "
        "default_value: NULL}"
        for column in spec.columns
    )
    # qualified: a macro argument of the same name (agent_analytics' agent_id) would
    # otherwise replace a bare column name when the view is expanded inside the macro
    columns = ", ".join(
        f"stored.{column.name}::json as {column.name}"
        if column.duckdb_type == "JSON"
        else f"stored.{column.name}"
        for column in spec.columns
    )
    conditions = [guard] if guard else []
    if listed.position_deletes:
        files_read = (
            f"read_parquet([{paths}], schema = map {{{fields}}}, filename = true,"
            " file_row_number = true, hive_partitioning = false)"
        )
        deletes = ", ".join(sql_string(_local_path(path)) for path in listed.position_deletes)
        # a delete file names the data file by its URI, which DuckDB read by its path
        conditions.append(
            f"not exists (select 1 from read_parquet([{deletes}], hive_partitioning = false)"
            " as deleted where deleted.pos = stored.file_row_number"
            " and regexp_replace(deleted.file_path, '^file:(//)?', '') = stored.filename)"
        )
    else:
        files_read = f"read_parquet([{paths}], schema = map {{{fields}}})"
    where = f" where {' and '.join(conditions)}" if conditions else ""
    return f"select {columns} from {files_read} as stored{where}"
