"""Retention: retire old raw partitions, expire old snapshots, prune source rows the lake holds.

The lake side deletes `events` partitions past their keep (aggregates and insights are
kept), each as one commit, and expires snapshots older than the snapshot retention, then
deletes the files no remaining snapshot references (orphans: replaced partitions, and
files of writes that never committed, once they are old enough not to be a running
commit's).

The source side is the one place the project writes to the platform's database, so it
is deliberately narrow: a day is pruned only when the lake's partition holds exactly the
source's row count for that day, and only the ids read from that partition are deleted,
within the day's window, in bounded batches. An event that arrived after the day was
extracted is therefore never deleted: it makes the day refuse until it is re-extracted.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterator
from dataclasses import dataclass

import duckdb
import psycopg
from psycopg.conninfo import make_conninfo
from pyarrow import fs as pafs
from pyiceberg.io.pyarrow import PyArrowFileIO
from pyiceberg.table import Table

from warehouse.source import utc_day_window
from warehouse.sql_files import source_statement
from warehouse.storage.catalog import Lakehouse
from warehouse.storage.reading import published_days, published_rows, register_tables
from warehouse.tables import EVENTS, LAKE_TABLES

DELETE_BATCH_ROWS = 10_000
# A file younger than this may belong to a commit still running in another process.
ORPHAN_MIN_AGE = dt.timedelta(days=1)


def expired_lake_days(lakehouse: Lakehouse, today: dt.date, keep_days: int) -> list[dt.date]:
    """The published `events` days before `today - keep_days`, oldest first."""
    cutoff = today - dt.timedelta(days=keep_days)
    return [day for day in published_days(lakehouse, EVENTS) if day < cutoff]


def expire_snapshots(lakehouse: Lakehouse, now: dt.datetime, keep_days: int) -> dict[str, int]:
    """Expires each table's snapshots older than `keep_days`; returns how many per table."""
    expired = {}
    for spec in LAKE_TABLES:
        table = lakehouse.table(spec)
        before = len(table.metadata.snapshots)
        table.maintenance.expire_snapshots().older_than(now - dt.timedelta(days=keep_days)).commit()
        expired[spec.name] = before - len(lakehouse.reload(spec).metadata.snapshots)
    return expired


def _referenced_files(table: Table) -> set[str]:
    """Every file a remaining snapshot or metadata version of `table` needs."""
    metadata = table.metadata
    files = {table.metadata_location, *(entry.metadata_file for entry in metadata.metadata_log)}
    files.update(snapshot.manifest_list for snapshot in metadata.snapshots)
    if metadata.snapshots:
        files.update(table.inspect.all_manifests()["path"].to_pylist())
        # not `inspect.all_files()`: pyiceberg 0.12 cannot put a uuid column's bounds in
        # its metrics and fails on every table with one (events)
        manifests = {
            manifest.manifest_path: manifest
            for snapshot in metadata.snapshots
            for manifest in snapshot.manifests(table.io)
        }
        files.update(
            entry.data_file.file_path
            for manifest in manifests.values()
            for entry in manifest.fetch_manifest_entry(table.io)
        )
    return files


def orphan_files(lakehouse: Lakehouse, now: dt.datetime) -> list[str]:
    """Files under the tables' folders that nothing references, older than ORPHAN_MIN_AGE."""
    orphans = []
    for spec in LAKE_TABLES:
        table = lakehouse.table(spec)
        scheme, netloc, root = PyArrowFileIO.parse_location(table.location())
        filesystem = table.io.fs_by_scheme(scheme, netloc)  # type: ignore[attr-defined]
        prefix = table.location()[: len(table.location()) - len(root)]
        referenced = {PyArrowFileIO.parse_location(path)[2] for path in _referenced_files(table)}
        listing = filesystem.get_file_info(pafs.FileSelector(root, recursive=True))
        orphans.extend(
            prefix + info.path
            for info in listing
            if info.type == pafs.FileType.File
            and info.path not in referenced
            and info.mtime is not None
            and now - info.mtime > ORPHAN_MIN_AGE
        )
    return sorted(orphans)


def delete_files(lakehouse: Lakehouse, paths: list[str]) -> None:
    io = lakehouse.table(EVENTS).io
    for path in paths:
        io.delete(path)


@dataclass(frozen=True)
class DayReconciliation:
    day: dt.date
    source_rows: int
    lake_rows: int | None

    @property
    def reconciles(self) -> bool:
        return self.lake_rows == self.source_rows


def _writable_conninfo(dsn: str) -> str:
    """The prune DSN, in UTC so `timestamp` and `timestamptz` columns cut at UTC midnight."""
    return make_conninfo(dsn, options="-c TimeZone=UTC", application_name="analytics-prune")


def source_days_before(dsn: str, qualified_table: str, cutoff: dt.date) -> Iterator[dt.date]:
    """Every day before `cutoff` from the source's oldest event on (the index serves `min`)."""
    with psycopg.connect(_writable_conninfo(dsn)) as connection:
        row = connection.execute(
            source_statement("retention/find_oldest_event", qualified_table),
            (utc_day_window(cutoff)[0],),
        ).fetchone()
    if row is None or row[0] is None:
        return
    day: dt.date = row[0].date()
    while day < cutoff:
        yield day
        day += dt.timedelta(days=1)


def reconcile_day(
    dsn: str, qualified_table: str, lakehouse: Lakehouse, day: dt.date
) -> DayReconciliation:
    """The source's and the lake's row counts for `day` (no lake partition: None)."""
    with psycopg.connect(_writable_conninfo(dsn)) as connection:
        row = connection.execute(
            source_statement("source/count_events_in_window", qualified_table), utc_day_window(day)
        ).fetchone()
    return DayReconciliation(
        day=day,
        source_rows=int(row[0]) if row else 0,
        lake_rows=published_rows(lakehouse, EVENTS, day),
    )


def prune_source_day(
    dsn: str,
    qualified_table: str,
    lakehouse: Lakehouse,
    day: dt.date,
    batch_rows: int = DELETE_BATCH_ROWS,
) -> int:
    """Deletes the day's source rows whose ids are in its lake partition; returns how many.

    Each batch is its own transaction, so locks stay short on a busy table.
    """
    with duckdb.connect() as connection:
        register_tables(lakehouse, connection, [EVENTS], day, day)
        ids = [str(row[0]) for row in connection.execute("select id from events").fetchall()]
    statement = source_statement("retention/delete_events_by_id", qualified_table)
    deleted = 0
    with psycopg.connect(_writable_conninfo(dsn), autocommit=True) as connection:
        for first in range(0, len(ids), batch_rows):
            cursor = connection.execute(
                statement, (*utc_day_window(day), ids[first : first + batch_rows])
            )
            deleted += cursor.rowcount
    return deleted
