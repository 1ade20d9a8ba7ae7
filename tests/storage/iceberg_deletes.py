"""Write Iceberg v2 delete files into a pyiceberg ``Table``, the way merge-on-read engines do.

pyiceberg 0.12 can *read* position deletes but cannot *write* delete files. Tests that
need a table carrying delete files (as Spark / Trino / Flink leave behind with
``write.delete.mode=merge-on-read``) can use :func:`add_position_deletes` and
:func:`add_equality_deletes`. Both write a Parquet delete file, describe it as a
``DataFile`` with delete content, put it in a new delete manifest
(``ManifestContent.DELETES``) and commit a ``delete`` snapshot whose manifest list is the
new delete manifest followed by the parent's live manifests -- what Java's ``RowDelta``
produces for a delete-only commit.

Sequence numbers are left to inheritance, as Java does: the manifest entry is written with
a null (data and file) sequence number, and the manifest list writer stamps the manifest
with the new snapshot's sequence number, so the delete file's data sequence number is the
new snapshot's sequence number. That makes it apply to all older data files (position
deletes: ``data_seq <= delete_seq``; equality deletes: ``data_seq < delete_seq``).
"""

from __future__ import annotations

import uuid
from typing import Any, cast

import pyarrow as pa
import pyarrow.parquet as pq
from pyiceberg.avro.codecs import AvroCompressionCodec
from pyiceberg.exceptions import CommitFailedException
from pyiceberg.io.pyarrow import (
    compute_statistics_plan,
    data_file_statistics_from_parquet_metadata,
    parquet_path_to_id_mapping,
    schema_to_pyarrow,
)
from pyiceberg.manifest import (
    DataFile,
    DataFileContent,
    FileFormat,
    ManifestContent,
    ManifestEntry,
    ManifestEntryStatus,
    ManifestFile,
    ManifestWriterV2,
    write_manifest_list,
)
from pyiceberg.partitioning import PartitionFieldValue, PartitionKey, PartitionSpec
from pyiceberg.schema import Schema
from pyiceberg.table import Table, TableProperties
from pyiceberg.table.refs import MAIN_BRANCH, SnapshotRefType
from pyiceberg.table.snapshots import (
    Operation,
    Snapshot,
    SnapshotSummaryCollector,
    Summary,
    update_snapshot_summaries,
)
from pyiceberg.table.update import (
    AddSnapshotUpdate,
    AssertRefSnapshotId,
    AssertTableUUID,
    SetSnapshotRefUpdate,
)
from pyiceberg.typedef import Record
from pyiceberg.types import LongType, NestedField, StringType

__all__ = ["POSITION_DELETE_SCHEMA", "add_equality_deletes", "add_position_deletes"]

# Reserved field ids from the Iceberg spec ("Position Delete Files").
POSITION_DELETE_SCHEMA = Schema(
    NestedField(2147483546, "file_path", StringType(), required=True),
    NestedField(2147483545, "pos", LongType(), required=True),
)
# Java (MetricsConfig.forPositionDelete) always keeps full bounds for these two columns.
# With the default truncate(16) the file_path bounds would be cut, and readers could no
# longer tell that a delete file targets exactly one data file.
_POSITION_DELETE_METRICS = {
    f"{TableProperties.METRICS_MODE_COLUMN_CONF_PREFIX}.file_path": "full",
    f"{TableProperties.METRICS_MODE_COLUMN_CONF_PREFIX}.pos": "full",
}


class _DeleteManifestWriter(ManifestWriterV2):
    """A v2 manifest writer for delete files.

    pyiceberg only ships data-manifest writers: ``ManifestWriterV2.content()`` is hard-wired
    to DATA and its Avro header says ``content=data``. Both must say "deletes" or readers
    treat the delete file as a data file.
    """

    def content(self) -> ManifestContent:
        return ManifestContent.DELETES

    @property
    def _meta(self) -> dict[str, str]:
        return {**super()._meta, "content": "deletes"}


def add_position_deletes(table: Table, data_file_path: str, positions: list[int]) -> None:
    """Delete rows ``positions`` (0-based row numbers) of one data file with a position-delete file.

    ``data_file_path`` must be the data file's location exactly as the manifests store it
    (e.g. ``file:///...``): readers match the delete file's ``file_path`` column against it
    by plain string equality. The delete file is "file-scoped" (one referenced data file,
    Spark's default delete granularity) and lands in that data file's partition.
    """
    _require_v2(table)
    data_file = _find_live_data_file(table, data_file_path)
    rows = sorted(set(positions))
    if not rows:
        raise ValueError("positions must not be empty")
    if rows[0] < 0 or rows[-1] >= data_file.record_count:
        raise ValueError(f"positions must be in [0, {data_file.record_count}) for {data_file_path}")

    arrow = pa.table(
        {
            "file_path": [data_file_path] * len(rows),
            "pos": rows,
        },  # already sorted by (file_path, pos)
        schema=schema_to_pyarrow(POSITION_DELETE_SCHEMA),
    )
    spec = table.specs()[data_file.spec_id]
    delete_file = _write_delete_file(
        table,
        arrow,
        POSITION_DELETE_SCHEMA,
        spec,
        data_file.partition,
        content=DataFileContent.POSITION_DELETES,
        metrics={**table.properties, **_POSITION_DELETE_METRICS},
    )
    _commit_delete_file(table, delete_file, spec)


def add_equality_deletes(
    table: Table, partition_day: Any, rows: pa.Table, equality_field_names: list[str]
) -> None:
    """Delete every row whose ``equality_field_names`` columns equal one of ``rows``.

    The file holds only the equality columns (as Flink upsert writes them), with the
    table's field ids; ``equality_ids`` lists those ids. ``partition_day`` is the value of
    the table's single identity partition field (e.g. a ``datetime.date``), or ``None`` for
    an unpartitioned table. Equality deletes only apply within their partition and only to
    data files with a *strictly lower* data sequence number.

    Note: pyiceberg 0.12 cannot read equality deletes; planning such a table raises.
    """
    _require_v2(table)
    schema = table.schema()
    delete_schema = schema.select(*equality_field_names)
    if not all(field.field_type.is_primitive for field in delete_schema.fields):
        raise ValueError(f"Equality delete columns must be primitive: {equality_field_names}")
    arrow = rows.select(equality_field_names).cast(schema_to_pyarrow(delete_schema))

    spec = table.spec()
    if partition_day is None:
        if not spec.is_unpartitioned():
            raise ValueError("partition_day is required for a partitioned table")
        partition = Record()
    else:
        if len(spec.fields) != 1:
            raise ValueError(f"Expected exactly one partition field, got {spec}")
        key = PartitionKey([PartitionFieldValue(spec.fields[0], partition_day)], spec, schema)
        partition = key.partition

    delete_file = _write_delete_file(
        table,
        arrow,
        delete_schema,
        spec,
        partition,
        content=DataFileContent.EQUALITY_DELETES,
        metrics=dict(table.properties),
        equality_ids=[field.field_id for field in delete_schema.fields],
    )
    _commit_delete_file(table, delete_file, spec)


def _require_v2(table: Table) -> None:
    # v1 has no delete files; v3 replaces position-delete files with deletion vectors.
    if table.format_version != 2:
        raise ValueError(f"Only format v2 tables are supported, got v{table.format_version}")


def _find_live_data_file(table: Table, data_file_path: str) -> DataFile:
    """The current snapshot's ``DataFile`` at ``data_file_path`` (its partition and spec id)."""
    snapshot = table.current_snapshot()
    if snapshot is not None:
        for manifest in snapshot.manifests(table.io):
            if manifest.content != ManifestContent.DATA:
                continue
            for entry in manifest.fetch_manifest_entry(table.io, discard_deleted=True):
                if entry.data_file.file_path == data_file_path:
                    return entry.data_file
    raise ValueError(f"{data_file_path} is not a live data file of {table.name()}")


def _write_delete_file(
    table: Table,
    arrow: pa.Table,
    file_schema: Schema,
    spec: PartitionSpec,
    partition: Record,
    content: DataFileContent,
    metrics: dict[str, str],
    equality_ids: list[int] | None = None,
) -> DataFile:
    """Writes ``arrow`` as Parquet into the partition's folder, described as a ``DataFile``.

    Statistics are taken from the Parquet footer with pyiceberg's own helpers, the same way
    pyiceberg does for data files, so bounds are serialized exactly as the readers expect.
    """
    key = PartitionKey(
        [PartitionFieldValue(field, partition[pos]) for pos, field in enumerate(spec.fields)],
        spec,
        table.schema(),
    )
    name = f"00000-0-{uuid.uuid4()}-00001-deletes.parquet"  # Spark's naming for delete files
    path = table.location_provider().new_data_location(name, key if spec.fields else None)

    codec = table.properties.get(
        TableProperties.PARQUET_COMPRESSION, TableProperties.PARQUET_COMPRESSION_DEFAULT
    )
    with table.io.new_output(path).create(overwrite=False) as stream:
        pq.write_table(arrow, stream, compression="none" if codec == "uncompressed" else codec)

    input_file = table.io.new_input(path)
    with input_file.open() as stream:
        parquet_metadata = pq.read_metadata(stream)
    statistics = data_file_statistics_from_parquet_metadata(
        parquet_metadata=parquet_metadata,
        stats_columns=compute_statistics_plan(file_schema, metrics),
        parquet_column_mapping=parquet_path_to_id_mapping(file_schema),
    )
    return DataFile.from_args(
        content=content,
        file_path=path,
        file_format=FileFormat.PARQUET,
        partition=partition,
        file_size_in_bytes=len(input_file),
        sort_order_id=None,
        spec_id=spec.spec_id,
        equality_ids=equality_ids,
        key_metadata=None,
        **statistics.to_serialized_dict(),
    )


def _commit_delete_file(table: Table, delete_file: DataFile, spec: PartitionSpec) -> None:
    """Commit a new ``delete`` snapshot on main: [new delete manifest] + parent's live manifests.

    Goes straight through ``catalog.commit_table`` with the same requirements pyiceberg's
    own snapshot producers use (table UUID, main still at the parent), so a concurrent
    commit -- or a stale ``Table`` object -- fails with ``CommitFailedException`` instead of
    silently dropping the other commit. There is no retry; the files written are removed.
    """
    metadata = table.metadata
    parent = table.current_snapshot()
    parent_id = parent.snapshot_id if parent is not None else None
    snapshot_id = metadata.new_snapshot_id()
    sequence_number = metadata.next_sequence_number()
    avro_codec = cast(
        AvroCompressionCodec,
        table.properties.get(
            TableProperties.WRITE_AVRO_COMPRESSION, TableProperties.WRITE_AVRO_COMPRESSION_DEFAULT
        ),
    )
    commit_uuid = uuid.uuid4()
    locations = table.location_provider()

    manifest_output = table.io.new_output(locations.new_metadata_location(f"{commit_uuid}-m0.avro"))
    with _DeleteManifestWriter(
        spec, table.schema(), manifest_output, snapshot_id, avro_codec
    ) as writer:
        # No sequence numbers (null): inherited from the manifest, this snapshot's number.
        writer.add(
            ManifestEntry.from_args(
                status=ManifestEntryStatus.ADDED, snapshot_id=snapshot_id, data_file=delete_file
            )
        )
    delete_manifest = writer.to_manifest_file()

    existing: list[ManifestFile] = []
    if parent is not None:
        existing = [
            m for m in parent.manifests(table.io) if m.has_added_files() or m.has_existing_files()
        ]

    manifest_list_path = locations.new_metadata_location(f"snap-{snapshot_id}-0-{commit_uuid}.avro")
    with write_manifest_list(
        format_version=2,
        output_file=table.io.new_output(manifest_list_path),
        snapshot_id=snapshot_id,
        parent_snapshot_id=parent_id,
        sequence_number=sequence_number,
        avro_compression=avro_codec,
    ) as list_writer:
        list_writer.add_manifests([delete_manifest, *existing])

    collector = SnapshotSummaryCollector(
        partition_summary_limit=int(
            table.properties.get(
                TableProperties.WRITE_PARTITION_SUMMARY_LIMIT,
                TableProperties.WRITE_PARTITION_SUMMARY_LIMIT_DEFAULT,
            )
        )
    )
    collector.add_file(delete_file, schema=table.schema(), partition_spec=spec)
    summary = update_snapshot_summaries(
        Summary(
            operation=Operation.DELETE, **collector.build()
        ),  # Java RowDelta: delete files only -> "delete"
        previous_summary=parent.summary if parent is not None else None,
    )
    snapshot = Snapshot(
        snapshot_id=snapshot_id,
        parent_snapshot_id=parent_id,
        sequence_number=sequence_number,
        manifest_list=manifest_list_path,
        summary=summary,
        schema_id=metadata.current_schema_id,
    )
    try:
        response = table.catalog.commit_table(
            table,
            requirements=(
                AssertTableUUID(uuid=metadata.table_uuid),
                AssertRefSnapshotId(snapshot_id=parent_id, ref=MAIN_BRANCH),
            ),
            updates=(
                AddSnapshotUpdate(snapshot=snapshot),
                SetSnapshotRefUpdate(
                    snapshot_id=snapshot_id,
                    parent_snapshot_id=parent_id,
                    ref_name=MAIN_BRANCH,
                    type=SnapshotRefType.BRANCH,
                ),
            ),
        )
    except CommitFailedException:
        # The commit definitely did not land: nothing references these files.
        for path in (manifest_list_path, delete_manifest.manifest_path, delete_file.file_path):
            table.io.delete(path)
        raise
    table.metadata = response.metadata
    table.metadata_location = response.metadata_location
