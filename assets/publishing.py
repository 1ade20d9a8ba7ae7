"""Publishing a step's days: audit each day's rows, commit it, then refresh the views.

Every asset produces `(day, rows, audits)` for each day of its run, one day at a time.
A day is committed only when its blocking audits pass; the first that fails stops the
step with one sentence naming the table, the day and the check, leaving earlier days
published and that day and later ones as they were.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable
from dataclasses import dataclass, field

import pyarrow as pa
from dagster import AssetExecutionContext, Failure

from assets.metadata import partition_metadata
from assets.resources import Warehouse
from warehouse.audits import Audit, AuditFailed, require
from warehouse.lakehouse import LakehouseError, StagedPartition
from warehouse.tables import TableSpec
from warehouse.views import ViewsNotBuilt, duckdb_path, publish_views

# A day's rows in memory, or already staged (the extraction streams the day to its file)
DayRows = tuple[dt.date, pa.Table | StagedPartition, list[Audit]]


@dataclass
class PublishedDays:
    rows_per_day: dict[str, int] = field(default_factory=dict)
    audits: list[Audit] = field(default_factory=list)
    changed: bool = False  # whether any day made a snapshot


def publish_days(
    context: AssetExecutionContext, warehouse: Warehouse, spec: TableSpec, days: Iterable[DayRows]
) -> PublishedDays:
    lakehouse = warehouse.lakehouse()
    published = PublishedDays()
    try:
        for day, rows, audits in days:
            try:
                require(spec, audits)
            except AuditFailed:
                if isinstance(rows, StagedPartition):
                    lakehouse.discard(rows)
                raise
            staged = (
                rows
                if isinstance(rows, StagedPartition)
                else lakehouse.stage_partition(spec, day, rows)
            )
            published.changed |= lakehouse.commit_partition(spec, staged)
            context.log.info(f"{spec.name} {day}: {staged.num_rows} rows published")
            context.add_asset_metadata(partition_metadata(staged), partition_key=day.isoformat())
            published.rows_per_day[day.isoformat()] = staged.num_rows
            published.audits.extend(audits)
    except (AuditFailed, LakehouseError) as error:
        raise Failure(description=str(error), allow_retries=False) from None
    finally:
        # an unchanged table keeps its views, unless none were ever published; a step
        # that published no day (it failed first) leaves them as they were
        views_missing = not duckdb_path(warehouse.local_path).exists()
        if published.rows_per_day and (published.changed or views_missing):
            refresh_views(context, warehouse, [spec])
    return published


def refresh_views(
    context: AssetExecutionContext, warehouse: Warehouse, tables: list[TableSpec]
) -> None:
    """Refreshes analytics.duckdb over the new snapshots (a warning where it cannot be)."""
    try:
        publish_views(warehouse.lakehouse(), warehouse.local_path, tables)
    except ViewsNotBuilt as error:
        context.log.warning(str(error))
