"""The lakehouse: every table an Apache Iceberg table in the namespace `analytics`.

Tables live under `ANALYTICS_WAREHOUSE_DIR` (a local folder or `s3://bucket/prefix`),
registered in an Iceberg SQL catalog (the JDBC catalog's layout, so Spark, Trino and
Flink can share it) at `ANALYTICS_CATALOG_URI`. Each table is partitioned by identity on
its date column, and a partition is only ever replaced by one `overwrite` commit with a
row filter on that column (a small table, the price list, is replaced whole the same
way): a reader sees the old rows or the new ones, never a mix or none. pyiceberg
retries a commit that lost a race with another writer (the table properties below give
it room for several parallel runs), so runs writing different days of one table all
land.

Readers go through the table format too: `listing()` gives the data files of the
current (or a past) snapshot, never a folder, so files an overwrite removed are never
read.
"""

from __future__ import annotations

import contextlib
import datetime as dt
import functools
import uuid
from collections import defaultdict
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from functools import cached_property
from pathlib import Path

import duckdb
import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.parquet as pq
from cachetools import LRUCache
from fsspec.implementations.arrow import ArrowFSWrapper
from pyarrow import fs as pafs
from pyiceberg.catalog.sql import IcebergTables, SqlCatalog
from pyiceberg.conversions import from_bytes
from pyiceberg.exceptions import (
    CommitFailedException,
    NoSuchTableError,
    TableAlreadyExistsError,
    ValidationException,
)
from pyiceberg.expressions import (
    AlwaysTrue,
    And,
    BooleanExpression,
    EqualTo,
    GreaterThanOrEqual,
    In,
    LessThanOrEqual,
)
from pyiceberg.io.pyarrow import PyArrowFileIO, parquet_file_to_data_file, schema_to_pyarrow
from pyiceberg.manifest import ManifestContent, ManifestFile
from pyiceberg.partitioning import PartitionField, PartitionSpec
from pyiceberg.schema import Schema
from pyiceberg.table import FileScanTask, Table, Transaction
from pyiceberg.table.metadata import TableMetadata
from pyiceberg.table.snapshots import Operation
from pyiceberg.table.update import update_table_metadata
from pyiceberg.table.update.snapshot import _ManifestMergeManager, _OverwriteFiles
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
from pyiceberg.utils.datetime import days_to_date
from sqlalchemy import select
from sqlalchemy.exc import IntegrityError, SQLAlchemyError
from sqlalchemy.orm import Session
from tenacity import Retrying, retry_if_exception, stop_after_attempt, wait_incrementing

from warehouse.settings import ObjectStorage, Settings, StorageSettings, is_s3
from warehouse.tables import LAKE_TABLES, TableSpec

NAMESPACE = "analytics"
# Rows a staged partition keeps in memory for its preview in the Dagster UI.
HEAD_ROWS = 10
CATALOG_NAME = "analytics"
# Runs started together on a new warehouse race to create the catalog; losers retry.
CATALOG_OPEN_ATTEMPTS = 5
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
# How a view reads a column the Parquet files store as another type (JSON as its text)
_STORED_TYPES = {"JSON": "VARCHAR"}
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
# A month's manifests are merged into one once they are more than this (see _Overwrite).
MANIFESTS_PER_MONTH = 2
# Planned scans kept per Lakehouse: a step re-plans the same snapshot and days a few times
PLANS_KEPT = 64
# Manifests whose files a Lakehouse keeps listed: every manifest of a year's tables
MANIFESTS_KEPT = 8192


@dataclass(frozen=True)
class StagedPartition:
    """A day's rows in a data file of the table that no snapshot lists yet."""

    day: dt.date
    path: str | None  # None: the day has no rows, and committing it empties the partition
    num_rows: int
    head: pa.Table  # the first HEAD_ROWS rows, for a preview
    # the table as the staging loaded it: the commit starts from it, saving a catalog load
    table: Table = field(repr=False, compare=False)


@dataclass(frozen=True)
class TableFiles:
    """A version of a table as a view reads it: its data files, its columns' field ids."""

    files: list[str]
    field_ids: dict[str, int]


NO_FILES = TableFiles([], {})


class _Transaction(Transaction):
    """pyiceberg's Transaction, with its staged metadata computed once per staged change.

    pyiceberg 0.12 rebuilds and deep-copies the whole table metadata, every snapshot it
    lists, on each read of `table_metadata`, and a commit reads it dozens of times: a
    one-day commit took 26 ms with 10 snapshots and 625 ms with 400 (issue 13). The
    metadata only changes when an update is staged (`_updates` is a tuple, rebound on each
    change) or the table is refreshed for a retry, so it is kept until either object
    changes: the cache of apache/iceberg-python pull request 3784.
    """

    _staged: tuple[TableMetadata, tuple[object, ...], TableMetadata] | None = None

    @property
    def table_metadata(self) -> TableMetadata:
        base, updates = self._table.metadata, self._updates
        if self._staged is None or self._staged[0] is not base or self._staged[1] is not updates:
            self._staged = (base, updates, update_table_metadata(base, updates))
        return self._staged[2]


class _Overwrite(_OverwriteFiles):
    """pyiceberg's OVERWRITE snapshot, with its manifests kept few.

    pyiceberg writes a manifest of the files an overwrite deletes and carries it into
    every later snapshot, though it lists no file a reader needs: a table re-run every
    day piled up one per commit, and every scan and commit read them all (a one-day
    commit's cost grew with the commits before it). A manifest with neither added nor
    existing files is kept only by the snapshot that wrote it, as Java's Iceberg does.

    Each commit also writes a manifest of the files it adds, and pyiceberg never merges
    them on an overwrite (Java's Iceberg does, on every snapshot): a table published
    daily kept one more each day, and listing it, which the views do after every step,
    read them all. A calendar month's manifests (by the month of their first partition)
    are merged into one once there are more than MANIFESTS_PER_MONTH of them: a table
    published daily for a year is listed from 19 manifests in 24 ms, not 363 in 313 ms
    (bench/commits.py), and a day's files are still found in its month's manifests alone.
    """

    def _process_manifests(self, manifests: list[ManifestFile]) -> list[ManifestFile]:
        live: list[ManifestFile] = []
        deletes_only: list[ManifestFile] = []
        for manifest in manifests:
            if manifest.has_added_files() or manifest.has_existing_files():
                live.append(manifest)
            elif manifest.added_snapshot_id == self.snapshot_id:
                deletes_only.append(manifest)
        return self._merged_by_month(live) + deletes_only

    def _merged_by_month(self, manifests: list[ManifestFile]) -> list[ManifestFile]:
        months: dict[tuple[int, dt.date] | None, list[ManifestFile]] = defaultdict(list)
        for manifest in manifests:
            months[self._month_of(manifest)].append(manifest)
        kept: list[ManifestFile] = []
        for month, group in months.items():
            if month is not None and len(group) > MANIFESTS_PER_MONTH:
                kept.append(self._merge(month[0], group))
            else:
                kept.extend(group)
        return kept

    def _merge(self, spec_id: int, group: list[ManifestFile]) -> ManifestFile:
        """One manifest of the group's files, by pyiceberg's own merge (its thresholds
        unused); the group's manifests this commit wrote are deleted, as no snapshot
        lists them."""
        merged = _ManifestMergeManager(0, 0, True, self)._create_manifest(spec_id, group)
        for manifest in group:
            if manifest.manifest_path in self._written_manifests:
                self._written_manifests.remove(manifest.manifest_path)
                # a file left behind is unread, never worth failing the commit for
                with contextlib.suppress(OSError):
                    self._io.delete(manifest.manifest_path)
        return merged

    def _month_of(self, manifest: ManifestFile) -> tuple[int, dt.date] | None:
        """The partition spec and first month of a data manifest's days; None if unknown."""
        metadata = self._transaction.table_metadata
        spec = metadata.specs()[manifest.partition_spec_id]
        summaries = manifest.partitions or []
        if manifest.content != ManifestContent.DATA or len(spec.fields) != 1 or not summaries:
            return None
        source = metadata.schema().find_field(spec.fields[0].source_id)
        lower = summaries[0].lower_bound
        if not isinstance(source.field_type, DateType) or lower is None:
            return None
        first_day = days_to_date(from_bytes(source.field_type, lower))
        return manifest.partition_spec_id, first_day.replace(day=1)


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


def _lost_a_creation_race(error: BaseException) -> bool:
    """Whether `error` says another run created a catalog table or row first.

    pyiceberg checks, then creates (the catalog's tables, then the namespace): a run that
    loses the race between the two gets the database's error, not pyiceberg's.
    """
    if not isinstance(error, SQLAlchemyError):
        return False
    return isinstance(error, IntegrityError) or "already exists" in str(error)


class Lakehouse:
    """One warehouse: its catalog, its tables and their files."""

    def __init__(
        self, location: str, catalog_uri: str, storage_properties: dict[str, str] | None = None
    ) -> None:
        self.location = location
        self.catalog_uri = catalog_uri
        self.storage_properties = storage_properties or {}
        # Tables by metadata file, and planned files by snapshot: both immutable,
        # so neither can be stale (see `table` and `_planned`).
        self._loaded: LRUCache[str, Table] = LRUCache(maxsize=len(LAKE_TABLES))
        self._plans: LRUCache[tuple[str, int, str], list[FileScanTask]] = LRUCache(
            maxsize=PLANS_KEPT
        )
        self._manifest_files: LRUCache[str, tuple[str, ...]] = LRUCache(maxsize=MANIFESTS_KEPT)

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

    def table(self, spec: TableSpec) -> Table:
        """The table as last committed, created (empty) on first use.

        A table created before the contract added a column gains it by schema evolution
        (`add_column`, appended last): its files and snapshots stay as they are, and
        their rows read the new column as NULL.

        Each call is one catalog query for the table's current metadata file; the file is
        read and parsed only when it is new to this Lakehouse (a day's run asks for its
        tables some fifty times, and the file grows with the snapshots it lists). Every
        call returns a Table of its own: a commit through it does not move anyone else's.
        """
        identifier = (NAMESPACE, spec.name)
        try:
            table = self._evolve(self._load(spec), spec)
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

    def _load(self, spec: TableSpec) -> Table:
        """`catalog.load_table`, with the metadata file parsed once per version."""
        with Session(self.catalog.engine) as session:
            location = session.scalar(
                select(IcebergTables.metadata_location).where(
                    IcebergTables.catalog_name == CATALOG_NAME,
                    IcebergTables.table_namespace == NAMESPACE,
                    IcebergTables.table_name == spec.name,
                )
            )
        loaded = self._loaded.get(location) if location else None
        if loaded is None:
            loaded = self.catalog.load_table((NAMESPACE, spec.name))
            self._loaded[loaded.metadata_location] = loaded
        return Table(
            loaded.name(),
            metadata=loaded.metadata,
            metadata_location=loaded.metadata_location,
            io=loaded.io,
            catalog=self.catalog,
        )

    def _planned(
        self,
        table: Table,
        row_filter: BooleanExpression,
        snapshot_id: int | None = None,
    ) -> list[FileScanTask]:
        """The files `table.scan(row_filter, snapshot_id)` plans, planned once per snapshot."""
        snapshot = (
            table.current_snapshot() if snapshot_id is None else table.snapshot_by_id(snapshot_id)
        )
        if snapshot is None:
            return []
        key = (str(table.metadata.table_uuid), snapshot.snapshot_id, repr(row_filter))
        tasks = self._plans.get(key)
        if tasks is None:
            scan = table.scan(row_filter=row_filter, snapshot_id=snapshot.snapshot_id)
            tasks = self._plans[key] = list(scan.plan_files())
        return tasks

    def _evolve(self, table: Table, spec: TableSpec) -> Table:
        present = {field.name for field in table.schema().fields}
        missing = [column for column in spec.columns if column.name not in present]
        if not missing:
            return table
        try:
            with table.update_schema() as update:
                for column in missing:
                    update.add_column(column.name, _ICEBERG_TYPES[column.duckdb_type])
        except (CommitFailedException, ValueError):
            pass  # another process added them first
        return self._load(spec)

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
        """Replaces the partition `day` with `rows`: staged, then committed."""
        self.commit_partitions(spec, [self.stage_partition(spec, day, rows)])

    def stage_partition(
        self,
        spec: TableSpec,
        day: dt.date,
        rows: pa.Table | pa.RecordBatchReader,
        table: Table | None = None,
    ) -> StagedPartition:
        """Writes the day's rows to a new data file of the table, batch by batch, uncommitted.

        No reader sees the file until `commit_partitions` adds it to a snapshot, so the
        rows can be audited first; a stream is written as it arrives (the extraction
        overlaps PostgreSQL's COPY, and memory holds a batch, not the day). The file is
        written by Arrow's Parquet writer with the columns' Iceberg field ids, rather than
        by pyiceberg's table writer, which copies a table twice to split it by partition:
        a day is one partition. A failed write leaves no file. `table` is the table already
        loaded (`replace_table` stages each of its partitions from one load).
        """
        table = self.table(spec) if table is None else table
        target = schema_to_pyarrow(table.schema(), include_field_ids=True)
        if isinstance(rows, pa.Table) and not rows.num_rows:
            return StagedPartition(day, None, 0, target.empty_table(), table)
        batches = rows.to_reader() if isinstance(rows, pa.Table) else rows
        folder = f"{table.location()}/data/{spec.date_column}={day.isoformat()}"
        path = f"{folder}/{uuid.uuid4()}.parquet"
        num_rows, head = 0, target.empty_table()
        try:
            with (
                table.io.new_output(path).create() as stream,
                pq.ParquetWriter(stream, target, compression="zstd") as writer,
            ):
                for batch in batches:
                    typed = pa.Table.from_batches([batch]).select(target.names).cast(target)
                    writer.write_table(typed)
                    if num_rows < HEAD_ROWS:
                        head = pa.concat_tables([head, typed.slice(0, HEAD_ROWS - num_rows)])
                    num_rows += typed.num_rows
        except BaseException:
            _delete_quietly(table, path)
            raise
        if not num_rows:
            _delete_quietly(table, path)
        return StagedPartition(day, path if num_rows else None, num_rows, head, table)

    def discard(self, staged: StagedPartition) -> None:
        """Deletes a staged file that will not be committed (its audit or its commit failed)."""
        if staged.path:
            _delete_quietly(staged.table, staged.path)

    def commit_partitions(self, spec: TableSpec, staged: Sequence[StagedPartition]) -> bool:
        """Makes the staged days the table's partitions of those days, in one atomic commit
        and one snapshot.

        A run commits its days a few at a time (`assets/publishing.py`): every commit
        writes a metadata file listing all the table's snapshots, so a commit's cost grows
        with the snapshots piling up (a one-day commit: 14 ms with 10 snapshots, 62 ms
        with 400, `bench/commits.py`).

        The commit starts from the table as the last staging loaded it (no second catalog
        load): when another run committed other days since, pyiceberg retries on the new
        snapshot; when it replaced one of these days, the validation of that retry fails,
        and the days are replaced again as the table now is, the last writer winning as
        with a fresh load. Empty days over empty partitions commit nothing (returns
        False). A commit that fails deletes the staged files, unless a snapshot lists
        them after all.
        """
        days = [part.day.isoformat() for part in staged]
        scope = In(spec.date_column, days)  # EqualTo when there is one day
        properties = {"analytics.partitions": ",".join(days)}
        try:
            try:
                return self._commit_files(staged[-1].table, scope, staged, properties)
            except ValidationException:
                return self._commit_files(self.table(spec), scope, staged, properties)
        except Exception:
            for part in staged:
                self._discard_unless_published(spec, part)
            raise

    def _discard_unless_published(self, spec: TableSpec, staged: StagedPartition) -> None:
        """Deletes the staged file of a failed commit that did not land. When the table
        cannot be read either, the file stays for `expire_snapshots`' orphan-file cleanup."""
        with contextlib.suppress(Exception):  # the commit's own error is the one to raise
            if staged.path and staged.path not in self.data_files(spec, staged.day, staged.day):
                self.discard(staged)

    def replace_table(self, spec: TableSpec, rows: pa.Table, table: Table) -> bool:
        """Replaces every row of a small table with `rows`, in one commit and one snapshot.

        The rows are staged as partitions are, a file per partition value, and committed
        from `table` as the caller read it: if another writer changed the rows since, the
        commit fails (CommitFailedException or ValidationException, which guarantee it did
        not land; its files are deleted) and the caller re-reads the table to decide.
        """
        dates = rows.column(spec.date_column)
        staged = [
            self.stage_partition(spec, day, rows.filter(pc.equal(dates, day)), table)
            for day in sorted(set(dates.to_pylist()))
        ]
        try:
            return self._commit_files(table, AlwaysTrue(), staged, {})
        except (CommitFailedException, ValidationException):
            for part in staged:
                self.discard(part)
            raise

    def delete_partitions(self, spec: TableSpec, days: Iterable[dt.date]) -> None:
        """Deletes whole partitions in one commit (retention)."""
        days = sorted(days)
        if days:
            self.table(spec).delete(days_filter(spec, days[0], days[-1]))

    def published_rows(self, spec: TableSpec, day: dt.date) -> int | None:
        """Rows of partition `day` in the current snapshot; None when it was never written."""
        tasks = self._planned(self.table(spec), days_filter(spec, day, day))
        return sum(task.file.record_count for task in tasks) if tasks else None

    def data_files(
        self,
        spec: TableSpec,
        first: dt.date | None = None,
        last: dt.date | None = None,
        snapshot_id: int | None = None,
    ) -> list[str]:
        """The data files of the current (or a past) snapshot, within [first, last] if given."""
        return self._files(self.table(spec), spec, first, last, snapshot_id)

    def listing(
        self,
        spec: TableSpec,
        first: dt.date | None = None,
        last: dt.date | None = None,
        as_of: dt.datetime | None = None,
    ) -> TableFiles:
        """What a view of the table reads: the current snapshot's files (or those of the
        snapshot current at `as_of`, none if the table was empty then), within [first,
        last] if given, from one load of the table."""
        table = self.table(spec)
        snapshot_id = None
        if as_of is not None:
            snapshot = table.snapshot_as_of_timestamp(int(as_of.timestamp() * 1000))
            if snapshot is None:
                return NO_FILES
            snapshot_id = snapshot.snapshot_id
        field_ids = {field.name: field.field_id for field in table.schema().fields}
        return TableFiles(self._files(table, spec, first, last, snapshot_id), field_ids)

    def _files(
        self,
        table: Table,
        spec: TableSpec,
        first: dt.date | None,
        last: dt.date | None,
        snapshot_id: int | None,
    ) -> list[str]:
        """The snapshot's data files, within [first, last] if given.

        A whole table is listed from its manifests' entries, each manifest read once per
        Lakehouse (a manifest never changes), not by planning a scan: a table published
        again after a commit costs the manifests that commit wrote, where planning read
        every manifest of the table's history again (the views are listed after every
        step).
        """
        if first and last:
            tasks = self._planned(table, days_filter(spec, first, last), snapshot_id)
            return sorted(task.file.file_path for task in tasks)
        snapshot = (
            table.current_snapshot() if snapshot_id is None else table.snapshot_by_id(snapshot_id)
        )
        if snapshot is None:
            return []
        files: list[str] = []
        for manifest in snapshot.manifests(table.io):
            if manifest.content != ManifestContent.DATA:
                continue
            listed = self._manifest_files.get(manifest.manifest_path)
            if listed is None:
                entries = manifest.fetch_manifest_entry(table.io, discard_deleted=True)
                listed = tuple(entry.data_file.file_path for entry in entries)
                self._manifest_files[manifest.manifest_path] = listed
            files.extend(listed)
        return sorted(files)

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
        # registered once per connection (a second `register` call adds more views)
        if is_s3(self.location) and _S3Files.protocol not in connection.list_filesystems():
            connection.register_filesystem(_S3Files(self._s3_filesystem()))
        for spec in tables:
            listed = self.listing(spec, first, last, as_of)
            connection.execute(
                f"create or replace temp view {spec.name} as {view_select(spec, listed)}"
            )
        return connection

    def _commit_files(
        self,
        table: Table,
        scope: BooleanExpression,
        staged: Sequence[StagedPartition],
        properties: dict[str, str],
    ) -> bool:
        """Replaces the table's files within `scope` by the staged files, in one snapshot.

        `Table.overwrite` would commit a delete snapshot and an append snapshot together: the
        table's history would then hold a version without those rows, which time travel
        (`snapshot_as_of`, any engine's `AS OF`) could land on. One OVERWRITE snapshot drops
        the scope's files and adds the new ones, so every version has the old rows or the new
        ones. Identity partitioning makes the files the scope plans exactly its partitions'
        files. Nothing to drop and nothing to add commits nothing (returns False): no empty
        snapshots pile up. A retry after another writer's commit is validated against
        `scope`: a change within it fails the commit with ValidationException.
        """
        replaced = [task.file for task in self._planned(table, scope)]
        paths = [part.path for part in staged if part.path]
        if not replaced and not paths:
            return False
        with _Transaction(table) as transaction:
            metadata = transaction.table_metadata
            first = metadata.current_snapshot() is None
            with _Overwrite(
                Operation.APPEND if first else Operation.OVERWRITE,
                transaction,
                table.io,
                snapshot_properties=properties,
            ) as overwrite:
                overwrite.delete_by_predicate(scope)
                for data_file in replaced:
                    overwrite.delete_data_file(data_file)
                for path in paths:
                    overwrite.append_data_file(parquet_file_to_data_file(table.io, metadata, path))
        return True

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


def _delete_quietly(table: Table, path: str) -> None:
    with contextlib.suppress(FileNotFoundError):
        table.io.delete(path)


class _S3Files(ArrowFSWrapper):  # type: ignore[misc]
    """The warehouse's Arrow S3 filesystem, offered to DuckDB under the `s3://` scheme."""

    protocol = "s3"


def sql_string(text: str) -> str:
    """`text` as a SQL string literal."""
    return "'" + text.replace("'", "''") + "'"


def view_select(spec: TableSpec, listed: TableFiles, guard: str | None = None) -> str:
    """The select of a table's view: its data files read by DuckDB, typed as the contract says.

    Columns are read by their Iceberg field ids (read_parquet's `schema`), as Iceberg
    readers do: a file written before a column was added (schema evolution) reads it as
    NULL, and binding the view opens no file, where reading by name had to read every
    listed file's footer, so a view's cost grew with the table's history. JSON gets its
    JSON type back from its text; a table with no file is an empty, typed relation.
    `guard` is a condition every read must pass.
    """
    if not listed.files:
        typed_nulls = ", ".join(
            f"null::{column.duckdb_type} as {column.name}" for column in spec.columns
        )
        return f"select {typed_nulls} where false"
    paths = ", ".join(sql_string(path.removeprefix("file://")) for path in listed.files)
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
    files_read = f"read_parquet([{paths}], schema = map {{{fields}}})"
    where = f" where {guard}" if guard else ""
    return f"select {columns} from {files_read} as stored{where}"
