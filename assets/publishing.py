"""Publishing a step's days: audit each day's rows, commit the days, then refresh the views.

Every asset produces, one day at a time, the rows of each of its tables for that day with
their audits. A day is staged (its files written, no snapshot lists them) only when the
blocking audits of all the step's tables pass (the daily tables, computed together,
publish a day together or not at all); the first that fails stops the step with one
sentence naming the table, the day and the check. The staged days are committed
DAYS_PER_COMMIT at a time, one snapshot per table, and when the step ends, even
failing: the days before a failed one are published, that day and later ones stay as
they were. A range therefore adds a snapshot per week instead of per day (a commit's
cost grows with the snapshots it lists); a run killed mid-range loses at most the week it
was in, which a re-run redoes. Each day is published with the settings that shaped it
(`warehouse/provenance.py`). The views are refreshed once, when the step ends.
"""

from __future__ import annotations

import datetime as dt
from collections import defaultdict
from collections.abc import Iterator, Mapping, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path

import pyarrow as pa
from dagster import AssetExecutionContext, Failure

from assets.metadata import partition_metadata
from assets.partitions import partition_days
from warehouse.audits import Audit, AuditFailed, audit_rows, require
from warehouse.engine import release_compute_memory
from warehouse.provenance import ZONE_TABLES, Provenance, audit_zone_setting, code_version
from warehouse.storage.catalog import Lakehouse, LakehouseError
from warehouse.storage.reading import published_days
from warehouse.storage.writing import StagedPartition, commit_partitions, discard, stage_partition
from warehouse.tables import TableSpec
from warehouse.views import ViewsNotBuilt, duckdb_path, publish_views

# Days a run commits at once: a snapshot per table per week of a range
DAYS_PER_COMMIT = 7
# How a step reports the days it has done (pipelines/progress.py shows them)
PROGRESS = "progress: {done}/{total} days"


@dataclass(frozen=True)
class TableDay:
    """One day of one table, computed (rows in memory) or already staged (the extraction
    streams the day to its file), with its audits."""

    spec: TableSpec
    rows: pa.Table | StagedPartition
    audits: list[Audit]


@dataclass
class PublishedDays:
    rows_per_day: dict[str, int] = field(default_factory=dict)
    audits: list[Audit] = field(default_factory=list)
    changed: bool = False  # whether any day made a commit


class Publisher:
    """Publishes the days of a step's tables; `publishing()` commits the last ones and
    refreshes the views after."""

    def __init__(
        self,
        context: AssetExecutionContext,
        lakehouse: Lakehouse,
        provenance: Provenance,
        allow_timezone_change: bool = False,
    ) -> None:
        self._context = context
        self._lakehouse = lakehouse
        self.provenance = provenance
        self._allow_timezone_change = allow_timezone_change
        self._summary = {"dagster-run-id": context.run_id, "analytics.code-version": code_version()}
        self._days = sorted(partition_days(context))
        self.published: defaultdict[TableSpec, PublishedDays] = defaultdict(PublishedDays)
        self._staged: defaultdict[TableSpec, list[tuple[StagedPartition, list[Audit]]]] = (
            defaultdict(list)
        )

    def publish(
        self, day: dt.date, tables: Sequence[TableDay], utc_days: Sequence[dt.date] = ()
    ) -> None:
        """Stages the day of every table once all their blocking audits pass; commits the
        staged days when DAYS_PER_COMMIT are waiting. `utc_days`: the UTC days a local day
        was computed from."""
        records = {table.spec: self.provenance.record(table.spec, utc_days) for table in tables}
        audits = {
            table.spec: [*table.audits, *self._zone_audits(table.spec, day, records[table.spec])]
            for table in tables
        }
        try:
            for spec, spec_audits in audits.items():
                require(spec, spec_audits)
        except AuditFailed as error:
            for table in tables:
                if isinstance(table.rows, StagedPartition):
                    discard(self._lakehouse, table.spec, table.rows)
            raise Failure(description=str(error), allow_retries=False) from None
        for table in tables:
            staged = (
                table.rows
                if isinstance(table.rows, StagedPartition)
                else stage_partition(
                    self._lakehouse, table.spec, day, table.rows, records[table.spec]
                )
            )
            self._staged[table.spec].append((staged, audits[table.spec]))
        staged_days = {staged.day for days in self._staged.values() for staged, _ in days}
        if len(staged_days) >= DAYS_PER_COMMIT:
            self.commit()
        if day in self._days:
            done = self._days.index(day) + 1
            self._context.log.info(PROGRESS.format(done=done, total=len(self._days)))
        # the day's databases are closed (its rows are computed): a range's days would
        # otherwise each add to what DuckDB keeps, and its peak would grow with its length
        release_compute_memory()

    def publish_computed(
        self,
        day: dt.date,
        computed: Mapping[TableSpec, pa.Table],
        utc_days: Sequence[dt.date] = (),
    ) -> None:
        """Publishes the day of tables computed from the lake, audited by their rows."""
        self.publish(
            day,
            [TableDay(spec, rows, audit_rows(spec, day, rows)) for spec, rows in computed.items()],
            utc_days,
        )

    def _zone_audits(self, spec: TableSpec, day: dt.date, record: dict[str, str]) -> list[Audit]:
        if spec not in ZONE_TABLES:
            return []
        published = published_days(self._lakehouse, spec).get(day)
        return [audit_zone_setting(spec, day, published, record, self._allow_timezone_change)]

    def commit(self) -> None:
        """Commits the staged days, one snapshot per table."""
        staged_tables, self._staged = self._staged, defaultdict(list)
        for spec, days in staged_tables.items():
            published = self.published[spec]
            published.changed |= commit_partitions(
                self._lakehouse, spec, [staged for staged, _ in days], self._summary
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
def publishing(
    context: AssetExecutionContext,
    lakehouse: Lakehouse,
    local_dir: Path,
    provenance: Provenance | None = None,
    allow_timezone_change: bool = False,
) -> Iterator[Publisher]:
    """A Publisher for the step; when the step ends, even failing, the views of what it
    published are refreshed and the DuckDB memory the step grew the process by is given
    back (`release_compute_memory`, also when it starts and after each day). An unchanged
    table keeps its views, unless none were ever published; a step that published no day
    (it failed first) leaves them as they were. A lakehouse that cannot be used fails the
    step with its one sentence."""
    # also what an earlier step used after its own publishing (daily_tables' invalid
    # share, metric_anomalies' alerts)
    release_compute_memory()
    publisher = Publisher(context, lakehouse, provenance or Provenance(), allow_timezone_change)
    try:
        try:
            yield publisher
        finally:
            publisher.commit()  # the days staged before a failure too
    except LakehouseError as error:
        raise Failure(description=str(error), allow_retries=False) from None
    finally:
        views_missing = not duckdb_path(local_dir).exists()
        refreshed = [
            spec
            for spec, published in publisher.published.items()
            if published.rows_per_day and (published.changed or views_missing)
        ]
        if refreshed:
            refresh_views(context, lakehouse, local_dir, refreshed)
        release_compute_memory()


def refresh_views(
    context: AssetExecutionContext, lakehouse: Lakehouse, local_dir: Path, tables: list[TableSpec]
) -> None:
    """Refreshes analytics.duckdb over the new snapshots (a warning where it cannot be)."""
    try:
        publish_views(lakehouse, local_dir, tables)
    except ViewsNotBuilt as error:
        context.log.warning(str(error))
