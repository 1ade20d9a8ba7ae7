"""Computes one UTC day of a daily table from that day's lake file, with DuckDB."""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import duckdb

from warehouse.lake import copy_query_to_partition, partition_path
from warehouse.sql_files import load_sql
from warehouse.tables import EVENTS


class MissingEventsError(RuntimeError):
    """The day's raw events are not in the lake yet."""


def write_daily_table(
    connection: duckdb.DuckDBPyConnection, table: str, day: dt.date, warehouse_dir: Path
) -> int:
    """Runs `sql/daily/<table>.sql` for `day` into its lake partition; returns the row count."""
    events_file = partition_path(warehouse_dir, EVENTS.name, day)
    if not events_file.exists():
        raise MissingEventsError(f"No events extracted for {day}: materialise `events` first.")
    return copy_query_to_partition(
        connection,
        load_sql(f"daily/{table}"),
        {"day": day, "events_file": str(events_file)},
        partition_path(warehouse_dir, table, day),
    )
