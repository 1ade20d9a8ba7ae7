"""The lakehouse's catalog and tables: every table an Apache Iceberg table in `analytics`.

Tables live under the warehouse location (a local folder or `s3://bucket/prefix`),
registered in an Iceberg SQL catalog (the JDBC catalog's layout, so Spark, Trino and
Flink can share it). Each table is partitioned by identity on its date column. A
`Lakehouse` serves one step or one command: it loads each table once, through the
catalog's public `load_table`, and keeps it; its own commits move the kept table forward
(`warehouse/storage/writing.py`), and a commit that lost a race reloads it.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from functools import cached_property
from pathlib import Path

from pyarrow import fs as pafs
from pyiceberg.catalog.sql import SqlCatalog
from pyiceberg.exceptions import CommitFailedException, NoSuchTableError, TableAlreadyExistsError
from pyiceberg.expressions import (
    AlwaysTrue,
    And,
    BooleanExpression,
    EqualTo,
    GreaterThanOrEqual,
    LessThanOrEqual,
)
from pyiceberg.io.pyarrow import PyArrowFileIO
from pyiceberg.manifest import DataFile
from pyiceberg.partitioning import PartitionField, PartitionSpec
from pyiceberg.schema import Schema
from pyiceberg.table import FileScanTask, Table
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
from sqlalchemy.exc import IntegrityError, SQLAlchemyError
from tenacity import Retrying, retry_if_exception, stop_after_attempt, wait_incrementing

from warehouse.storage.pyiceberg_patches import require_tested_pyiceberg
from warehouse.tables import TableSpec

EPOCH = dt.date(1970, 1, 1)
NAMESPACE = "analytics"
CATALOG_NAME = "analytics"
# Runs started together on a new warehouse race to create the catalog; losers retry.
CATALOG_OPEN_ATTEMPTS = 5
ICEBERG_TYPES: dict[str, IcebergType] = {
    # Ids are stored as their text: Polars, Daft and pyiceberg's own filters cannot compare
    # an Iceberg uuid (Arrow's uuid extension) with a string, and a filter by id would
    # return nothing; the DuckDB views give them back their UUID type.
    "UUID": StringType(),
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
TABLE_PROPERTIES = {
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


def is_s3(location: str) -> bool:
    return location.startswith("s3://")


def warehouse_uri(location: str) -> str:
    """The warehouse as a URI, the form Iceberg metadata records paths in."""
    return location if is_s3(location) else Path(location).as_uri()


def iceberg_schema(spec: TableSpec) -> Schema:
    return Schema(
        *(
            NestedField(field_id, column.name, ICEBERG_TYPES[column.duckdb_type], required=False)
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


def days_filter(spec: TableSpec, first: dt.date | None, last: dt.date | None) -> BooleanExpression:
    """Rows of the partitions [first, last]; every row without bounds."""
    if first is None or last is None:
        return AlwaysTrue()
    if first == last:
        return EqualTo(spec.date_column, first.isoformat())
    return And(
        GreaterThanOrEqual(spec.date_column, first.isoformat()),
        LessThanOrEqual(spec.date_column, last.isoformat()),
    )


def stores_uuid_ids(table: Table) -> bool:
    """Whether the table keeps ids as Iceberg uuid, as the third release wrote them."""
    return any(isinstance(field.field_type, UUIDType) for field in table.schema().fields)


def partition_day(data_file: DataFile) -> dt.date:
    """The day of a data file's partition (identity on a date: days since 1970-01-01)."""
    return EPOCH + dt.timedelta(days=data_file.partition[0])


def _lost_a_creation_race(error: BaseException) -> bool:
    """Whether `error` says another run created a catalog table or row first.

    pyiceberg checks, then creates (the catalog's tables, then the namespace): a run that
    loses the race between the two gets the database's error, not pyiceberg's.
    """
    if not isinstance(error, SQLAlchemyError):
        return False
    return isinstance(error, IntegrityError) or "already exists" in str(error)


@dataclass(frozen=True)
class PlanKey:
    table: str
    snapshot_id: int
    first: dt.date | None
    last: dt.date | None


class Lakehouse:
    """One warehouse's catalog and tables, for one step or one command."""

    def __init__(
        self, location: str, catalog_uri: str, storage_properties: dict[str, str] | None = None
    ) -> None:
        require_tested_pyiceberg()
        self.location = location
        self.catalog_uri = catalog_uri
        self.storage_properties = storage_properties or {}
        self._tables: dict[str, Table] = {}
        # planned files by snapshot: a snapshot never changes, so a plan is never stale
        self._plans: dict[PlanKey, list[FileScanTask]] = {}

    @cached_property
    def catalog(self) -> SqlCatalog:
        if not is_s3(self.location):
            try:
                Path(self.location).mkdir(parents=True, exist_ok=True)
            except OSError as error:
                raise LakehouseError(
                    f"Cannot create ANALYTICS_WAREHOUSE_DIR {self.location}: {error.strerror}"
                ) from None
        opening = Retrying(
            retry=retry_if_exception(_lost_a_creation_race),
            stop=stop_after_attempt(CATALOG_OPEN_ATTEMPTS),
            wait=wait_incrementing(start=0.05, increment=0.05),  # the winner may be creating
            reraise=True,
        )
        try:
            return opening(self._open_catalog)
        except SQLAlchemyError as error:
            reason = str(error.orig if hasattr(error, "orig") else error).splitlines()[0]
            raise LakehouseError(
                f"Cannot open the Iceberg catalog at ANALYTICS_CATALOG_URI {self.catalog_uri}: "
                f"{reason}"
            ) from None

    def _open_catalog(self) -> SqlCatalog:
        catalog = SqlCatalog(
            CATALOG_NAME,
            uri=self.catalog_uri,
            warehouse=warehouse_uri(self.location),
            **self.storage_properties,
        )
        catalog.create_namespace_if_not_exists(NAMESPACE)
        return catalog

    def has_catalog(self) -> bool:
        """Whether the catalog is there already (a SQLite catalog is a file made on first
        use; any other one is a server's)."""
        if self.catalog_uri.startswith("sqlite:///"):
            return Path(self.catalog_uri.removeprefix("sqlite:///")).exists()
        return True

    def exists(self, spec: TableSpec) -> bool:
        return bool(self.catalog.table_exists((NAMESPACE, spec.name)))

    def table(self, spec: TableSpec) -> Table:
        """The table, loaded once per Lakehouse, created (empty) on first use.

        A table created before the contract added a column gains it by schema evolution
        (`add_column`, appended last): its files and snapshots stay as they are, and
        their rows read the new column as NULL.
        """
        table = self._tables.get(spec.name)
        if table is None:
            table = self._tables[spec.name] = self._load_or_create(spec)
        return table

    def forget(self, *specs: TableSpec) -> None:
        """Drops the tables this Lakehouse keeps (one dropped or renamed in the catalog)."""
        for spec in specs:
            self._tables.pop(spec.name, None)

    def reload(self, spec: TableSpec) -> Table:
        """The table as last committed by anyone (after a commit lost a race)."""
        return self.table(spec).refresh()

    def planned(
        self,
        spec: TableSpec,
        first: dt.date | None = None,
        last: dt.date | None = None,
        snapshot_id: int | None = None,
    ) -> list[FileScanTask]:
        """The files (with their delete files) a scan of [first, last] of the current (or a
        past) snapshot reads, planned once per snapshot through pyiceberg's public scan."""
        table = self.table(spec)
        snapshot = (
            table.current_snapshot() if snapshot_id is None else table.snapshot_by_id(snapshot_id)
        )
        if snapshot is None:
            return []
        key = PlanKey(spec.name, snapshot.snapshot_id, first, last)
        tasks = self._plans.get(key)
        if tasks is None:
            scan = table.scan(
                row_filter=days_filter(spec, first, last), snapshot_id=snapshot.snapshot_id
            )
            try:
                tasks = self._plans[key] = list(scan.plan_files())
            except ValueError as error:
                raise LakehouseError(
                    f"{NAMESPACE}.{spec.name} cannot be read: {error}. Another engine wrote "
                    "equality delete files into it; rewrite its data files with that engine "
                    "(Spark: CALL system.rewrite_data_files) so that no delete file is left, "
                    "then read it again"
                ) from None
        return tasks

    def file_days(self, spec: TableSpec) -> set[dt.date]:
        """The days the table's current snapshot holds files of."""
        return {partition_day(task.file) for task in self.planned(spec)}

    def s3_filesystem(self, spec: TableSpec) -> pafs.FileSystem:
        """The Arrow filesystem pyiceberg reads the table's objects with."""
        table = self.table(spec)
        scheme, netloc, _ = PyArrowFileIO.parse_location(table.location())
        return table.io.fs_by_scheme(scheme, netloc)  # type: ignore[attr-defined,no-any-return]

    def _load_or_create(self, spec: TableSpec) -> Table:
        identifier = (NAMESPACE, spec.name)
        try:
            table = self._evolve(self.catalog.load_table(identifier), spec)
        except NoSuchTableError:
            schema = iceberg_schema(spec)
            try:
                table = self.catalog.create_table(
                    identifier,
                    schema,
                    partition_spec=partition_spec(schema, spec),
                    properties=TABLE_PROPERTIES,
                )
            except TableAlreadyExistsError:
                table = self.catalog.load_table(identifier)
        self._check_location(table, spec)
        return table

    def _evolve(self, table: Table, spec: TableSpec) -> Table:
        present = {field.name for field in table.schema().fields}
        missing = [column for column in spec.columns if column.name not in present]
        if not missing:
            return table
        try:
            with table.update_schema() as update:
                for column in missing:
                    update.add_column(column.name, ICEBERG_TYPES[column.duckdb_type])
        except (CommitFailedException, ValueError):
            pass  # another process added them first
        return table.refresh()

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
