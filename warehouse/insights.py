"""Computes insight tables (keyed by as-of date) for a range of as-of dates in one pass."""

from __future__ import annotations

import datetime as dt
from pathlib import Path

from warehouse.catalog import connect_in_memory
from warehouse.lake import copy_query_to_partition, partition_path
from warehouse.sql_files import load_sql
from warehouse.tables import TableSpec


def write_insight_partitions(
    warehouse_dir: Path, spec: TableSpec, as_of_dates: list[dt.date]
) -> int:
    """Runs `sql/insights/<table>.sql` once over the whole range, then writes one file per date.

    The computation reads the lake through the same views and macros analysts use, so
    the published tables and the macros agree by construction.
    """
    rows = 0
    ordered_by = ", ".join(spec.key)
    with connect_in_memory(warehouse_dir) as connection:
        connection.execute(
            f"create temp table computed as {load_sql(f'insights/{spec.name}')}",
            {"first_as_of": min(as_of_dates), "last_as_of": max(as_of_dates)},
        )
        for as_of_date in as_of_dates:
            rows += copy_query_to_partition(
                connection,
                f"select * from computed where as_of_date = $as_of_date order by {ordered_by}",
                {"as_of_date": as_of_date},
                partition_path(warehouse_dir, spec.name, as_of_date),
            )
    return rows
