"""Retention: drop raw lake partitions past their keep, and prune source rows the lake holds.

The lake side only deletes `events` partitions; aggregates and insights are kept.

The source side is the one place the project writes to the platform's database, so it
is deliberately narrow: a day is pruned only when its lake partition holds exactly the
source's row count for that day, and only the ids read from that partition are deleted,
within the day's window, in bounded batches. An event that arrived after the day was
extracted is therefore never deleted: it makes the day refuse until it is re-extracted.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import duckdb
import psycopg
from psycopg.conninfo import make_conninfo

from warehouse.lake import partition_path, row_count, table_dir
from warehouse.source import utc_day_window
from warehouse.sql_files import load_sql, source_statement
from warehouse.tables import EVENTS

DELETE_BATCH_ROWS = 10_000


def expired_lake_partitions(warehouse_dir: Path, today: dt.date, keep_days: int) -> list[Path]:
    """The `events` partitions of days before `today - keep_days`, oldest first."""
    cutoff = today - dt.timedelta(days=keep_days)
    directory = table_dir(warehouse_dir, EVENTS.name)
    partitions = sorted(directory.glob("*.parquet")) if directory.is_dir() else []
    return [path for path in partitions if dt.date.fromisoformat(path.stem) < cutoff]


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
    dsn: str, qualified_table: str, warehouse_dir: Path, day: dt.date
) -> DayReconciliation:
    """The source's and the lake's row counts for `day` (no lake partition: None)."""
    with psycopg.connect(_writable_conninfo(dsn)) as connection:
        row = connection.execute(
            source_statement("source/count_events_in_window", qualified_table), utc_day_window(day)
        ).fetchone()
    lake_file = partition_path(warehouse_dir, EVENTS.name, day)
    return DayReconciliation(
        day=day,
        source_rows=int(row[0]) if row else 0,
        lake_rows=row_count(lake_file) if lake_file.exists() else None,
    )


def prune_source_day(
    dsn: str,
    qualified_table: str,
    warehouse_dir: Path,
    day: dt.date,
    batch_rows: int = DELETE_BATCH_ROWS,
) -> int:
    """Deletes the day's source rows whose ids are in its lake partition; returns how many.

    Each batch is its own transaction, so locks stay short on a busy table.
    """
    lake_file = partition_path(warehouse_dir, EVENTS.name, day)
    with duckdb.connect() as lake:
        ids = [
            row[0]
            for row in lake.execute(
                load_sql("retention/list_lake_ids"), {"path": str(lake_file)}
            ).fetchall()
        ]
    statement = source_statement("retention/delete_events_by_id", qualified_table)
    deleted = 0
    with psycopg.connect(_writable_conninfo(dsn), autocommit=True) as connection:
        for first in range(0, len(ids), batch_rows):
            cursor = connection.execute(
                statement, (*utc_day_window(day), ids[first : first + batch_rows])
            )
            deleted += cursor.rowcount
    return deleted
