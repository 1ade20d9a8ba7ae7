"""The only module that touches pyiceberg's internals, and why each one is needed.

Everything else of `warehouse/storage/` uses pyiceberg's public API: `catalog.load_table`,
`Table.refresh`, `Table.scan().plan_files()`, `Table.transaction()`, `set_properties`,
`update_snapshot(...).overwrite()` with `delete_data_file`/`append_data_file`. Two
behaviours of pyiceberg 0.12 make a table published every day slower every day, so the
commit goes through the two classes below instead of the public `overwrite()`:

1. `CachedMetadataTransaction`: pyiceberg rebuilds and deep-copies the whole table
   metadata, every snapshot it lists, on each read of `Transaction.table_metadata`, and a
   commit reads it dozens of times. A one-day commit took 26 ms with 10 snapshots held and
   625 ms with 400; with the metadata kept until the staged updates or the table change,
   18 and 72 ms (`bench/commits.py`; apache/iceberg-python pull request 3784 does the same).
   Internals: overrides the `table_metadata` property, reads `_table` and `_updates`.
2. `ManifestsKeptFew`: an overwrite writes a manifest of the files it deletes and pyiceberg
   carries it into every later snapshot, though it lists no file a reader needs, and it
   never merges the manifests of the files each commit adds (Java's Iceberg does both). A
   table published daily for a year was listed from 363 manifests in 313 ms; keeping a
   deletes-only manifest in its own snapshot only and merging a calendar month's manifests
   once there are more than MANIFESTS_PER_MONTH, from 19 in 24 ms (`bench/commits.py`).
   Internals: subclasses `_OverwriteFiles`, overrides `_process_manifests`, reuses
   `_ManifestMergeManager._create_manifest` (pyiceberg's own merge of a group) and reads
   `_written_manifests`, `_io` and `_transaction`.

Upgrading pyiceberg: run `tests/storage/test_pyiceberg_patches.py` against the new version, add
it to TESTED_VERSIONS and widen the pin in `pyproject.toml`; nothing else changes.
"""

from __future__ import annotations

import contextlib
import datetime as dt
from collections import defaultdict

import pyiceberg
from pyiceberg.conversions import from_bytes
from pyiceberg.manifest import ManifestContent, ManifestFile
from pyiceberg.table import Table, Transaction
from pyiceberg.table.metadata import TableMetadata
from pyiceberg.table.snapshots import Operation
from pyiceberg.table.update import update_table_metadata
from pyiceberg.table.update.snapshot import _ManifestMergeManager, _OverwriteFiles
from pyiceberg.types import DateType
from pyiceberg.utils.datetime import days_to_date

# The pyiceberg releases the internals above were read in and tested with.
TESTED_VERSIONS = ("0.12.0",)
# A month's manifests are merged into one once they are more than this.
MANIFESTS_PER_MONTH = 2


class UntestedPyiceberg(RuntimeError):
    """The installed pyiceberg is not one this module was tested with."""


def require_tested_pyiceberg(version: str = pyiceberg.__version__) -> None:
    """Refuses, in one sentence, a pyiceberg whose internals this module has not read."""
    if version not in TESTED_VERSIONS:
        raise UntestedPyiceberg(
            f"pyiceberg {version} is installed, but warehouse/storage/pyiceberg_patches.py was "
            f"tested with {', '.join(TESTED_VERSIONS)} only: install one of those, or run "
            "tests/storage/test_pyiceberg_patches.py with it and add it to TESTED_VERSIONS"
        )


class CachedMetadataTransaction(Transaction):
    """A Transaction whose staged metadata is computed once per staged change."""

    _staged: tuple[TableMetadata, tuple[object, ...], TableMetadata] | None = None

    @property
    def table_metadata(self) -> TableMetadata:
        base, updates = self._table.metadata, self._updates
        if self._staged is None or self._staged[0] is not base or self._staged[1] is not updates:
            self._staged = (base, updates, update_table_metadata(base, updates))
        return self._staged[2]


class ManifestsKeptFew(_OverwriteFiles):
    """An OVERWRITE (or first APPEND) snapshot that keeps the table's manifests few."""

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
        """One manifest of the group's files; the group's manifests this commit wrote are
        deleted, as no snapshot lists them."""
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


def overwrite_transaction(table: Table) -> CachedMetadataTransaction:
    """`table.transaction()`, with its staged metadata cached."""
    return CachedMetadataTransaction(table)


def overwrite_files(
    transaction: Transaction, table: Table, snapshot_properties: dict[str, str]
) -> ManifestsKeptFew:
    """What `transaction.update_snapshot(snapshot_properties).overwrite()` returns, with the
    table's manifests kept few."""
    first = transaction.table_metadata.current_snapshot() is None
    return ManifestsKeptFew(
        Operation.APPEND if first else Operation.OVERWRITE,
        transaction,
        table.io,
        snapshot_properties=snapshot_properties,
    )
