"""The lakehouse: every table an Apache Iceberg table in the namespace `analytics`.

Tables live under `ANALYTICS_WAREHOUSE_DIR` (a local folder or `s3://bucket/prefix`),
registered in an Iceberg SQL catalog (the JDBC catalog's layout, so Spark, Trino and
Flink can share it) at `ANALYTICS_CATALOG_URI`. Each table is partitioned by identity on
its date column, and a partition is only ever replaced by one `overwrite` commit with a
row filter on that column: a reader sees the old rows or the new ones, never a mix or
none. pyiceberg retries a commit that lost a race with another writer (the table
properties below give it room for several parallel runs), so runs writing different
days of one table all land.

Readers go through the table format too: `dataset()` lists the data files of the
current (or a past) snapshot, never a folder, so files an overwrite removed are never
read.
"""

from __future__ import annotations

import contextlib
import datetime as dt
import functools
import uuid
from collections.abc import Iterable
from functools import cached_property
from pathlib import Path

import duckdb
import pyarrow as pa
import pyarrow.parquet as pq
from fsspec.implementations.arrow import ArrowFSWrapper
from pyarrow import fs as pafs
from pyiceberg.catalog.sql import SqlCatalog
from pyiceberg.exceptions import (
    NamespaceAlreadyExistsError,
    NoSuchTableError,
    TableAlreadyExistsError,
)
from pyiceberg.expressions import (
    And,
    BooleanExpression,
    EqualTo,
    GreaterThanOrEqual,
    LessThanOrEqual,
)
from pyiceberg.io.pyarrow import PyArrowFileIO, parquet_file_to_data_file, schema_to_pyarrow
from pyiceberg.partitioning import PartitionField, PartitionSpec
from pyiceberg.schema import Schema
from pyiceberg.table import Table
from pyiceberg.transforms import IdentityTransform
from pyiceberg.types import (
    DateType,
    DoubleType,
    IcebergType,
    IntegerType,
    LongType,
    NestedField,
    StringType,
    TimestampType,
    UUIDType,
)
from sqlalchemy.exc import SQLAlchemyError

from warehouse.settings import ObjectStorage, Settings, StorageSettings, is_s3
from warehouse.tables import LAKE_TABLES, TableSpec

NAMESPACE = "analytics"
CATALOG_NAME = "analytics"
_ICEBERG_TYPES: dict[str, IcebergType] = {
    "UUID": UUIDType(),
    "VARCHAR": StringType(),
    # pyiceberg refuses Arrow's JSON type: JSON is stored as its text and given back its
    # JSON type by the DuckDB views.
    "JSON": StringType(),
    "TIMESTAMP": TimestampType(),
    "DATE": DateType(),
    "BIGINT": LongType(),
    "INTEGER": IntegerType(),
    "DOUBLE": DoubleType(),
}
_TABLE_PROPERTIES = {
    # Parallel runs commit different days of one table; each retry re-reads the table.
    "commit.retry.num-retries": "30",
    "commit.retry.min-wait-ms": "50",
    "commit.retry.max-wait-ms": "2000",
    "write.parquet.compression-codec": "zstd",
    # Every commit writes a metadata file; keep the folder from growing without bound.
    "write.metadata.delete-after-commit.enabled": "true",
    "write.metadata.previous-versions-max": "20",
}


class LakehouseError(RuntimeError):
    """The lakehouse cannot be used as configured; the message says why in one sentence."""


def iceberg_schema(spec: TableSpec) -> Schema:
    return Schema(
        *(
            NestedField(field_id, column.name, _ICEBERG_TYPES[column.duckdb_type], required=False)
            for field_id, column in enumerate(spec.columns, start=1)
        )
    )


def partition_spec(schema: Schema, spec: TableSpec) -> PartitionSpec:
    source = schema.find_field(spec.date_column)
    return PartitionSpec(
        PartitionField(
            source_id=source.field_id,
            field_id=1000,
            transform=IdentityTransform(),
            name=spec.date_column,
        )
    )


def days_filter(spec: TableSpec, first: dt.date, last: dt.date) -> BooleanExpression:
    """Rows of the partitions [first, last] (one partition when they are equal)."""
    if first == last:
        return EqualTo(spec.date_column, first.isoformat())
    return And(
        GreaterThanOrEqual(spec.date_column, first.isoformat()),
        LessThanOrEqual(spec.date_column, last.isoformat()),
    )


def warehouse_uri(location: str) -> str:
    """The warehouse as a URI, the form Iceberg metadata records paths in."""
    return location if is_s3(location) else Path(location).as_uri()


class Lakehouse:
    """One warehouse: its catalog, its tables and their files."""

    def __init__(
        self, location: str, catalog_uri: str, storage_properties: dict[str, str] | None = None
    ) -> None:
        self.location = location
        self.catalog_uri = catalog_uri
        self.storage_properties = storage_properties or {}

    @cached_property
    def catalog(self) -> SqlCatalog:
        if not is_s3(self.location):
            try:
                Path(self.location).mkdir(parents=True, exist_ok=True)
            except OSError as error:
                raise LakehouseError(
                    f"Cannot create ANALYTICS_WAREHOUSE_DIR {self.location}: {error.strerror}"
                ) from None
        try:
            catalog = SqlCatalog(
                CATALOG_NAME,
                uri=self.catalog_uri,
                warehouse=warehouse_uri(self.location),
                **self.storage_properties,
            )
            # another process may create it between the check and the create
            with contextlib.suppress(NamespaceAlreadyExistsError):
                catalog.create_namespace_if_not_exists(NAMESPACE)
        except SQLAlchemyError as error:
            reason = str(error.orig if hasattr(error, "orig") else error).splitlines()[0]
            raise LakehouseError(
                f"Cannot open the Iceberg catalog at ANALYTICS_CATALOG_URI {self.catalog_uri}: "
                f"{reason}"
            ) from None
        return catalog

    def table(self, spec: TableSpec) -> Table:
        """The table as last committed, created (empty) on first use."""
        identifier = (NAMESPACE, spec.name)
        try:
            table = self.catalog.load_table(identifier)
        except NoSuchTableError:
            schema = iceberg_schema(spec)
            try:
                table = self.catalog.create_table(
                    identifier,
                    schema,
                    partition_spec=partition_spec(schema, spec),
                    properties=_TABLE_PROPERTIES,
                )
            except TableAlreadyExistsError:
                table = self.catalog.load_table(identifier)
        self._check_location(table, spec)
        return table

    def _check_location(self, table: Table, spec: TableSpec) -> None:
        """Refuses a catalog whose table lives in another warehouse (a copy, a move)."""
        own = warehouse_uri(self.location).rstrip("/") + "/"
        if not table.location().startswith(own):
            raise LakehouseError(
                f"The catalog at {self.catalog_uri} keeps {NAMESPACE}.{spec.name} in "
                f"{table.location()}, outside ANALYTICS_WAREHOUSE_DIR {self.location}: the "
                "warehouse was copied or moved, and it is not read so that it never uses "
                "another warehouse's files (point the settings at the original, or "
                "materialise into an empty warehouse)."
            )

    def replace_partition(self, spec: TableSpec, day: dt.date, rows: pa.Table) -> None:
        """Replaces the partition `day` with `rows` in one atomic commit and one snapshot.

        `Table.overwrite` would commit a delete snapshot and an append snapshot together:
        the table's history would then hold a version without the day, which time travel
        (`snapshot_as_of`, any engine's `AS OF`) could land on. One OVERWRITE snapshot
        drops the partition's files and adds the new ones, so every version has the old
        rows or the new ones. Identity partitioning makes the partition's files exactly
        the files the filter plans.

        The day is written as one Parquet file, by Arrow's writer straight from `rows`
        (with the columns' Iceberg field ids), rather than by pyiceberg's table writer,
        which copies the table twice to split it by partition: a day is one partition.
        """
        table = self.table(spec)
        target = schema_to_pyarrow(table.schema(), include_field_ids=True)
        rows = rows.select(target.names).cast(target)
        partition = EqualTo(spec.date_column, day.isoformat())
        data_file_path = (
            f"{table.location()}/data/{spec.date_column}={day.isoformat()}/{uuid.uuid4()}.parquet"
        )
        if rows.num_rows:
            with table.io.new_output(data_file_path).create() as stream:
                pq.write_table(rows, stream, compression="zstd")
        with table.transaction() as transaction:
            snapshot = transaction.update_snapshot(
                snapshot_properties={"analytics.partition": day.isoformat()}
            )
            with snapshot.overwrite() as overwrite:
                # the predicate scopes the commit-conflict checks to this partition
                overwrite.delete_by_predicate(partition)
                for task in table.scan(row_filter=partition).plan_files():
                    overwrite.delete_data_file(task.file)
                if rows.num_rows:
                    overwrite.append_data_file(
                        parquet_file_to_data_file(
                            table.io, transaction.table_metadata, data_file_path
                        )
                    )

    def delete_partitions(self, spec: TableSpec, days: Iterable[dt.date]) -> None:
        """Deletes whole partitions in one commit (retention)."""
        days = sorted(days)
        if days:
            self.table(spec).delete(days_filter(spec, days[0], days[-1]))

    def published_rows(self, spec: TableSpec, day: dt.date) -> int | None:
        """Rows of partition `day` in the current snapshot; None when it was never written."""
        tasks = list(self.table(spec).scan(row_filter=days_filter(spec, day, day)).plan_files())
        return sum(task.file.record_count for task in tasks) if tasks else None

    def data_files(
        self,
        spec: TableSpec,
        first: dt.date | None = None,
        last: dt.date | None = None,
        snapshot_id: int | None = None,
    ) -> list[str]:
        """The data files of the current (or a past) snapshot, within [first, last] if given."""
        table = self.table(spec)
        if table.current_snapshot() is None:
            return []
        row_filter = days_filter(spec, first, last) if first and last else None
        scan = (
            table.scan(row_filter=row_filter, snapshot_id=snapshot_id)
            if row_filter is not None
            else table.scan(snapshot_id=snapshot_id)
        )
        return sorted(task.file.file_path for task in scan.plan_files())

    def snapshot_as_of(self, spec: TableSpec, moment: dt.datetime) -> int | None:
        """The snapshot that was current at `moment`; None if the table was empty then."""
        snapshot = self.table(spec).snapshot_as_of_timestamp(int(moment.timestamp() * 1000))
        return snapshot.snapshot_id if snapshot else None

    def register(
        self,
        connection: duckdb.DuckDBPyConnection,
        first: dt.date | None = None,
        last: dt.date | None = None,
        tables: Iterable[TableSpec] = LAKE_TABLES,
        as_of: dt.datetime | None = None,
    ) -> duckdb.DuckDBPyConnection:
        """Makes each table a view of `connection` over its snapshot's data files.

        With `first` and `last`, only those partitions are listed (a bounded read); with
        `as_of`, each table as it was at that moment (time travel). DuckDB reads the
        files itself; on S3 through the table's own Arrow filesystem (no httpfs needed).
        """
        if is_s3(self.location):
            connection.register_filesystem(_S3Files(self._s3_filesystem()))
        for spec in tables:
            snapshot_id = self.snapshot_as_of(spec, as_of) if as_of else None
            listed = as_of is None or snapshot_id is not None
            files = self.data_files(spec, first, last, snapshot_id) if listed else []
            connection.execute(
                f"create or replace temp view {spec.name} as {view_select(spec, files)}"
            )
        return connection

    def _s3_filesystem(self) -> pafs.FileSystem:
        table = self.table(LAKE_TABLES[0])
        scheme, netloc, _ = PyArrowFileIO.parse_location(table.location())
        return table.io.fs_by_scheme(scheme, netloc)  # type: ignore[attr-defined,no-any-return]


def lakehouse_from_settings(settings: Settings | StorageSettings) -> Lakehouse:
    """The warehouse the settings name, for commands that run outside Dagster."""
    return open_lakehouse(
        settings.warehouse_location, settings.catalog_uri, settings.object_storage
    )


@functools.cache
def open_lakehouse(
    location: str, catalog_uri: str, storage: ObjectStorage | None = None
) -> Lakehouse:
    """One Lakehouse (one catalog connection pool) per warehouse and process.

    `storage` is the S3 endpoint, region and keys of an s3:// warehouse (Settings).
    """
    return Lakehouse(location, catalog_uri, (storage or ObjectStorage()).properties())


class _S3Files(ArrowFSWrapper):  # type: ignore[misc]
    """The warehouse's Arrow S3 filesystem, offered to DuckDB under the `s3://` scheme."""

    protocol = "s3"


def _sql_string(text: str) -> str:
    return "'" + text.replace("'", "''") + "'"


def view_select(spec: TableSpec, files: list[str], guard: str | None = None) -> str:
    """The select of a table's view: its data files read by DuckDB, typed as the contract says.

    JSON gets its JSON type back from its text; a table with no file yet is an empty,
    typed relation. `guard` is a condition every read must pass.
    """
    if not files:
        typed_nulls = ", ".join(
            f"null::{column.duckdb_type} as {column.name}" for column in spec.columns
        )
        return f"select {typed_nulls} where false"
    listed = ", ".join(_sql_string(path.removeprefix("file://")) for path in files)
    # qualified: a macro argument of the same name (agent_analytics' agent_id) would
    # otherwise replace a bare column name when the view is expanded inside the macro
    columns = ", ".join(
        f"stored.{column.name}::json as {column.name}"
        if column.duckdb_type == "JSON"
        else f"stored.{column.name}"
        for column in spec.columns
    )
    where = f" where {guard}" if guard else ""
    return f"select {columns} from read_parquet([{listed}], union_by_name = true) as stored{where}"
