"""Publishing a step's days: audit each day's rows, commit it, then refresh the views.

Every asset produces, one day at a time, the rows of each of its tables for that day with
their audits. A day is committed only when the blocking audits of all the step's tables
pass (the daily tables, computed together, publish a day together or not at all); the
first that fails stops the step with one sentence naming the table, the day and the
check, leaving earlier days published and that day and later ones as they were. The
views are refreshed once, when the step ends.
"""

from __future__ import annotations

import datetime as dt
from collections import defaultdict
from collections.abc import Iterable, Iterator, Mapping, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field

import pyarrow as pa
from dagster import AssetExecutionContext, Failure

from assets.metadata import partition_metadata
from assets.resources import Warehouse
from warehouse.audits import Audit, AuditFailed, audit_rows, require
from warehouse.lakehouse import LakehouseError, StagedPartition
from warehouse.tables import TableSpec
from warehouse.views import ViewsNotBuilt, duckdb_path, publish_views

# A day's rows in memory, or already staged (the extraction streams the day to its file)
Rows = pa.Table | StagedPartition
DayRows = tuple[dt.date, Rows, list[Audit]]
TableRows = tuple[TableSpec, Rows, list[Audit]]


@dataclass
class PublishedDays:
    rows_per_day: dict[str, int] = field(default_factory=dict)
    audits: list[Audit] = field(default_factory=list)
    changed: bool = False  # whether any day made a snapshot


class Publisher:
    """Publishes the days of a step's tables; `publishing()` refreshes the views after."""

    def __init__(self, context: AssetExecutionContext, warehouse: Warehouse) -> None:
        self._context = context
        self._lakehouse = warehouse.lakehouse()
        self.published: defaultdict[TableSpec, PublishedDays] = defaultdict(PublishedDays)

    def publish(self, day: dt.date, tables: Sequence[TableRows]) -> None:
        """Commits the day of every table, once all their blocking audits pass."""
        try:
            for spec, _, audits in tables:
                require(spec, audits)
        except AuditFailed as error:
            for _, rows, _ in tables:
                if isinstance(rows, StagedPartition):
                    self._lakehouse.discard(rows)
            raise Failure(description=str(error), allow_retries=False) from None
        for spec, rows, audits in tables:
            self._commit(spec, day, rows, audits)

    def publish_computed(self, day: dt.date, computed: Mapping[TableSpec, pa.Table]) -> None:
        """Publishes the day of tables computed from the lake, audited by their rows."""
        self.publish(
            day, [(spec, rows, audit_rows(spec, day, rows)) for spec, rows in computed.items()]
        )

    def _commit(self, spec: TableSpec, day: dt.date, rows: Rows, audits: list[Audit]) -> None:
        published = self.published[spec]
        staged = (
            rows
            if isinstance(rows, StagedPartition)
            else self._lakehouse.stage_partition(spec, day, rows)
        )
        published.changed |= self._lakehouse.commit_partition(spec, staged)
        self._context.log.info(f"{spec.name} {day}: {staged.num_rows} rows published")
        self._context.add_asset_metadata(
            partition_metadata(staged), asset_key=spec.name, partition_key=day.isoformat()
        )
        published.rows_per_day[day.isoformat()] = staged.num_rows
        published.audits.extend(audits)


@contextmanager
def publishing(context: AssetExecutionContext, warehouse: Warehouse) -> Iterator[Publisher]:
    """A Publisher for the step; when the step ends, even failing, the views of what it
    published are refreshed. An unchanged table keeps its views, unless none were ever
    published; a step that published no day (it failed first) leaves them as they were.
    A lakehouse that cannot be used fails the step with its one sentence."""
    publisher = Publisher(context, warehouse)
    try:
        yield publisher
    except LakehouseError as error:
        raise Failure(description=str(error), allow_retries=False) from None
    finally:
        views_missing = not duckdb_path(warehouse.local_path).exists()
        refreshed = [
            spec
            for spec, published in publisher.published.items()
            if published.rows_per_day and (published.changed or views_missing)
        ]
        if refreshed:
            refresh_views(context, warehouse, refreshed)


def publish_days(
    context: AssetExecutionContext, warehouse: Warehouse, spec: TableSpec, days: Iterable[DayRows]
) -> PublishedDays:
    """Publishes the days of a step with one table."""
    with publishing(context, warehouse) as publisher:
        for day, rows, audits in days:
            publisher.publish(day, [(spec, rows, audits)])
    return publisher.published[spec]


def refresh_views(
    context: AssetExecutionContext, warehouse: Warehouse, tables: list[TableSpec]
) -> None:
    """Refreshes analytics.duckdb over the new snapshots (a warning where it cannot be)."""
    try:
        publish_views(warehouse.lakehouse(), warehouse.local_path, tables)
    except ViewsNotBuilt as error:
        context.log.warning(str(error))
