"""Publishing a step's days: audit each day's rows, commit the days, then refresh the views.

Every asset produces, one day at a time, the rows of each of its tables for that day with
their audits. A day is staged (its files written, no snapshot lists them) only when the
blocking audits of all the step's tables pass (the daily tables, computed together,
publish a day together or not at all); the first that fails stops the step with one
sentence naming the table, the day and the check. The staged days are committed
DAYS_PER_COMMIT at a time, one snapshot per table, and when the step ends, even
failing: the days before a failed one are published, that day and later ones stay as
they were. A range therefore adds a snapshot per week instead of per day (a commit's
cost grows with the snapshots it lists: `Lakehouse.commit_partitions`); a run killed
mid-range loses at most the week it was in, which a re-run redoes. The views are
refreshed once, when the step ends.
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
from warehouse.engine import release_compute_memory
from warehouse.lakehouse import LakehouseError, StagedPartition
from warehouse.tables import TableSpec
from warehouse.views import ViewsNotBuilt, duckdb_path, publish_views

# A day's rows in memory, or already staged (the extraction streams the day to its file)
Rows = pa.Table | StagedPartition
DayRows = tuple[dt.date, Rows, list[Audit]]
TableRows = tuple[TableSpec, Rows, list[Audit]]
# Days a run commits at once: a snapshot per table per week of a range
DAYS_PER_COMMIT = 7


@dataclass
class PublishedDays:
    rows_per_day: dict[str, int] = field(default_factory=dict)
    audits: list[Audit] = field(default_factory=list)
    changed: bool = False  # whether any day made a snapshot


class Publisher:
    """Publishes the days of a step's tables; `publishing()` commits the last ones and
    refreshes the views after."""

    def __init__(self, context: AssetExecutionContext, warehouse: Warehouse) -> None:
        self._context = context
        self._lakehouse = warehouse.lakehouse()
        self.published: defaultdict[TableSpec, PublishedDays] = defaultdict(PublishedDays)
        self._staged: defaultdict[TableSpec, list[tuple[StagedPartition, list[Audit]]]] = (
            defaultdict(list)
        )

    def publish(self, day: dt.date, tables: Sequence[TableRows]) -> None:
        """Stages the day of every table once all their blocking audits pass; commits the
        staged days when DAYS_PER_COMMIT are waiting."""
        try:
            for spec, _, audits in tables:
                require(spec, audits)
        except AuditFailed as error:
            for _, rows, _ in tables:
                if isinstance(rows, StagedPartition):
                    self._lakehouse.discard(rows)
            raise Failure(description=str(error), allow_retries=False) from None
        for spec, rows, audits in tables:
            staged = (
                rows
                if isinstance(rows, StagedPartition)
                else self._lakehouse.stage_partition(spec, day, rows)
            )
            self._staged[spec].append((staged, audits))
        staged_days = {staged.day for days in self._staged.values() for staged, _ in days}
        if len(staged_days) >= DAYS_PER_COMMIT:
            self.commit()
        # the day's databases are closed (its rows are computed): a range's days would
        # otherwise each add to what DuckDB keeps, and its peak would grow with its length
        release_compute_memory()

    def publish_computed(self, day: dt.date, computed: Mapping[TableSpec, pa.Table]) -> None:
        """Publishes the day of tables computed from the lake, audited by their rows."""
        self.publish(
            day, [(spec, rows, audit_rows(spec, day, rows)) for spec, rows in computed.items()]
        )

    def commit(self) -> None:
        """Commits the staged days, one snapshot per table."""
        staged_tables, self._staged = self._staged, defaultdict(list)
        for spec, days in staged_tables.items():
            published = self.published[spec]
            published.changed |= self._lakehouse.commit_partitions(
                spec, [staged for staged, _ in days]
            )
            for staged, audits in days:
                self._context.log.info(
                    f"{spec.name} {staged.day}: {staged.num_rows} rows published"
                )
                self._context.add_asset_metadata(
                    partition_metadata(staged),
                    asset_key=spec.name,
                    partition_key=staged.day.isoformat(),
                )
                published.rows_per_day[staged.day.isoformat()] = staged.num_rows
                published.audits.extend(audits)


@contextmanager
def publishing(context: AssetExecutionContext, warehouse: Warehouse) -> Iterator[Publisher]:
    """A Publisher for the step; when the step ends, even failing, the views of what it
    published are refreshed and the DuckDB memory the step grew the process by is given
    back (`release_compute_memory`, also when it starts and after each day). An unchanged
    table keeps its views, unless none were ever published; a step that published no day
    (it failed first) leaves them as they were. A lakehouse that cannot be used fails the
    step with its one sentence."""
    # also what an earlier step used after its own publishing (daily_tables' invalid
    # share, metric_anomalies' alerts)
    release_compute_memory()
    publisher = Publisher(context, warehouse)
    try:
        try:
            yield publisher
        finally:
            publisher.commit()  # the days staged before a failure too
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
        release_compute_memory()


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
