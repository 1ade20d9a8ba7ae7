"""Writing the lakehouse: a day's rows staged in a data file, then committed in one snapshot.

A partition is only ever replaced by one OVERWRITE snapshot that drops the day's files
and adds the new ones, with the day's record (`partition_records.py`) set in the same
transaction: a reader sees the old rows or the new ones, never a mix or none, and time
travel never lands on a version without them (`Table.overwrite` would commit a delete and
an append snapshot). pyiceberg retries a commit that lost a race with another run's
commit of other days; a race over the same days is replanned from the table as it now
is, the last writer winning.
"""

from __future__ import annotations

import contextlib
import datetime as dt
import uuid
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass

import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.parquet as pq
from pyiceberg.exceptions import CommitFailedException, ValidationException
from pyiceberg.expressions import AlwaysTrue, BooleanExpression, In
from pyiceberg.io.pyarrow import parquet_file_to_data_file, schema_to_pyarrow
from pyiceberg.table import Table

from warehouse.storage.catalog import (
    NAMESPACE,
    Lakehouse,
    LakehouseError,
    days_filter,
    partition_day,
    stores_uuid_ids,
)
from warehouse.storage.partition_records import (
    PartitionRecord,
    encode_record,
    partition_records,
    record_property,
)
from warehouse.storage.pyiceberg_patches import overwrite_files, overwrite_transaction
from warehouse.tables import TableSpec

# Rows a staged partition keeps in memory for its preview in the Dagster UI.
HEAD_ROWS = 10
# Replans of a commit another run's commit got in the way of.
COMMIT_REPLANS = 3


@dataclass(frozen=True)
class StagedPartition:
    """A day's rows in a data file of the table that no snapshot lists yet, and the
    settings that shaped them."""

    day: dt.date
    path: str | None  # None: the day has no rows, and committing it empties the partition
    num_rows: int
    head: pa.Table  # the first HEAD_ROWS rows, for a preview
    record: PartitionRecord


def stage_partition(
    lakehouse: Lakehouse,
    spec: TableSpec,
    day: dt.date,
    rows: pa.Table | pa.RecordBatchReader,
    record: PartitionRecord,
) -> StagedPartition:
    """Writes the day's rows to a new data file of the table, batch by batch, uncommitted.

    No reader sees the file until `commit_partitions` adds it to a snapshot, so the rows
    can be audited first; a stream is written as it arrives (the extraction overlaps
    PostgreSQL's COPY, and memory holds a batch, not the day). Arrow's Parquet writer
    writes it with the columns' Iceberg field ids, rather than pyiceberg's table writer,
    which copies a table twice to split it by partition: a day is one partition. A failed
    write leaves no file.
    """
    table = lakehouse.table(spec)
    if stores_uuid_ids(table):
        raise LakehouseError(
            f"{NAMESPACE}.{spec.name} stores its ids as Iceberg uuid, as the third release "
            "wrote them: run `analytics-warehouse upgrade` once, which rewrites them as text "
            "(the type every engine can compare with a string), then run again"
        )
    target = schema_to_pyarrow(table.schema(), include_field_ids=True)
    if isinstance(rows, pa.Table) and not rows.num_rows:
        return StagedPartition(day, None, 0, target.empty_table(), record)
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
    return StagedPartition(day, path if num_rows else None, num_rows, head, record)


def discard(lakehouse: Lakehouse, spec: TableSpec, staged: StagedPartition) -> None:
    """Deletes a staged file that will not be committed (its audit or its commit failed)."""
    if staged.path:
        _delete_quietly(lakehouse.table(spec), staged.path)


def commit_partitions(
    lakehouse: Lakehouse,
    spec: TableSpec,
    staged: Sequence[StagedPartition],
    summary: Mapping[str, str],
) -> bool:
    """Makes the staged days the table's partitions of those days, with their records, in
    one atomic commit and one snapshot; `summary` goes into the snapshot's summary.

    Days whose files and record are already as staged (an empty day published empty
    again) commit nothing: returns whether anything changed. A commit that fails deletes
    the staged files, unless a snapshot lists them after all.
    """
    days = sorted(part.day for part in staged)
    records = {record_property(part.day): encode_record(part.record) for part in staged}
    properties = {
        **_shared_settings(staged),
        **summary,
        "analytics.partitions": ",".join(day.isoformat() for day in days),
    }
    try:
        for replan in range(COMMIT_REPLANS):
            try:
                return _commit_files(lakehouse, spec, days, staged, records, properties)
            except (CommitFailedException, ValidationException):
                # another run replaced one of these days meanwhile, or committed while the
                # catalog swapped in a commit pyiceberg does not retry itself (one that only
                # records settings, with no file to add or delete): replan from its version
                if replan == COMMIT_REPLANS - 1:
                    raise
                lakehouse.reload(spec)
    except Exception:
        for part in staged:
            _discard_unless_published(lakehouse, spec, part)
        raise
    raise AssertionError("unreachable")  # pragma: no cover


def replace_table(
    lakehouse: Lakehouse, spec: TableSpec, rows: pa.Table, summary: Mapping[str, str]
) -> bool:
    """Replaces every row of a small table with `rows`, in one commit and one snapshot.

    The rows are staged as partitions are, a file per partition value, and committed from
    the table as this Lakehouse read it: if another writer changed the rows since, the
    commit fails (CommitFailedException or ValidationException, which guarantee it did not
    land; its files are deleted) and the caller re-reads the table to decide.
    """
    dates = rows.column(spec.date_column)
    staged = [
        stage_partition(lakehouse, spec, day, rows.filter(pc.equal(dates, day)), {})
        for day in sorted(set(dates.to_pylist()))
    ]
    try:
        return _commit_files(lakehouse, spec, None, staged, {}, dict(summary))
    except (CommitFailedException, ValidationException):
        for part in staged:
            discard(lakehouse, spec, part)
        raise


def delete_partitions(lakehouse: Lakehouse, spec: TableSpec, days: Iterable[dt.date]) -> None:
    """Deletes whole partitions and their records in one commit (retention)."""
    days = sorted(days)
    if not days:
        return
    table = lakehouse.table(spec)
    with table.transaction() as transaction:
        transaction.delete(days_filter(spec, days[0], days[-1]))
        recorded = [
            record_property(day) for day in days if record_property(day) in table.properties
        ]
        if recorded:
            transaction.remove_properties(*recorded)


def _commit_files(
    lakehouse: Lakehouse,
    spec: TableSpec,
    days: list[dt.date] | None,
    staged: Sequence[StagedPartition],
    records: Mapping[str, str],
    snapshot_properties: dict[str, str],
) -> bool:
    """Replaces the table's files of `days` (every file: None) by the staged files and sets
    the records, in one transaction.

    Identity partitioning makes the files of a day exactly its partition's files. A retry
    after another writer's commit is validated against the days: a change within them
    fails with ValidationException.
    """
    table = lakehouse.table(spec)
    if days is None:
        scope: BooleanExpression = AlwaysTrue()
        replaced = [task.file for task in lakehouse.planned(spec)]
    else:
        scope = In(spec.date_column, [day.isoformat() for day in days])
        wanted = set(days)
        replaced = [
            task.file
            for task in lakehouse.planned(spec, days[0], days[-1])
            if partition_day(task.file) in wanted
        ]
    paths = [part.path for part in staged if part.path]
    if days is not None and not partition_records(table):
        # the table's first recorded commit: the days it held before, settings unknown
        records = {
            **{record_property(day): encode_record({}) for day in lakehouse.file_days(spec)},
            **records,
        }
    unrecorded = {
        key: value for key, value in records.items() if table.properties.get(key) != value
    }
    if not replaced and not paths and not unrecorded:
        return False
    with overwrite_transaction(table) as transaction:
        if unrecorded:
            transaction.set_properties(unrecorded)
        if replaced or paths:
            metadata = transaction.table_metadata
            with overwrite_files(transaction, table, snapshot_properties) as overwrite:
                overwrite.delete_by_predicate(scope)
                for data_file in replaced:
                    overwrite.delete_data_file(data_file)
                for path in paths:
                    overwrite.append_data_file(parquet_file_to_data_file(table.io, metadata, path))
    return True


def _shared_settings(staged: Sequence[StagedPartition]) -> dict[str, str]:
    """The settings every staged day was computed with, for the snapshot's summary."""
    if not staged:
        return {}
    shared = set(staged[0].record.items())
    for part in staged[1:]:
        shared &= set(part.record.items())
    return {f"analytics.{name}": value for name, value in sorted(shared)}


def _discard_unless_published(
    lakehouse: Lakehouse, spec: TableSpec, staged: StagedPartition
) -> None:
    """Deletes the staged file of a failed commit that did not land. When the table cannot
    be read either, the file stays for `expire_snapshots`' orphan-file cleanup."""
    with contextlib.suppress(Exception):  # the commit's own error is the one to raise
        listed = {task.file.file_path for task in lakehouse.planned(spec, staged.day, staged.day)}
        if staged.path and staged.path not in listed:
            discard(lakehouse, spec, staged)


def _delete_quietly(table: Table, path: str) -> None:
    with contextlib.suppress(FileNotFoundError):
        table.io.delete(path)
