"""Retention jobs, launched by hand from the UI or `dagster job execute`; all default to a dry run.

`retire_raw_lake` deletes raw `events` partitions older than ANALYTICS_RAW_RETENTION_DAYS
(the daily tables and insights are kept). `expire_snapshots` drops snapshots older than
ANALYTICS_SNAPSHOT_RETENTION_DAYS (time travel reaches that far back) and deletes the
files nothing references any more. `prune_source` is opt-in: it needs its own writable
DSN in ANALYTICS_PRUNE_DSN and deletes source rows older than
ANALYTICS_SOURCE_RETENTION_DAYS, only for days whose lake partition reconciles.
"""

import datetime as dt

from dagster import (
    Config,
    Failure,
    JobDefinition,
    MetadataValue,
    OpExecutionContext,
    Output,
    job,
    op,
)

from assets.resources import LakehouseResource, PruneDatabase, RetentionResource
from warehouse.retention import (
    delete_files,
    expire_snapshots,
    expired_lake_days,
    orphan_files,
    prune_source_day,
    reconcile_day,
    source_days_before,
)
from warehouse.storage.writing import delete_partitions
from warehouse.tables import EVENTS
from warehouse.views import publish_views


class RetentionConfig(Config):  # type: ignore[misc]
    """Set `dry_run: false` to delete; a dry run only lists and counts what it would delete."""

    dry_run: bool = True


def _now() -> dt.datetime:
    return dt.datetime.now(dt.UTC)


def build_retention_jobs() -> list[JobDefinition]:
    """The retention jobs; their keeps are the `retention` resource's."""

    @op
    def delete_expired_lake_partitions(
        context: OpExecutionContext,
        config: RetentionConfig,
        lakehouse: LakehouseResource,
        retention: RetentionResource,
    ) -> Output[list[str]]:
        keep_days = retention.raw_days
        warehouse = lakehouse.open()
        expired = expired_lake_days(warehouse, _now().date(), keep_days)
        days = [day.isoformat() for day in expired]
        verb = "Would delete" if config.dry_run else "Deleting"
        context.log.info(
            f"{verb} {len(days)} raw lake partitions older than {keep_days} days: {days}"
        )
        if not config.dry_run and expired:
            delete_partitions(warehouse, EVENTS, expired)
            publish_views(warehouse, lakehouse.local_path, [EVENTS])
        return Output(
            days,
            metadata={
                "dry_run": config.dry_run,
                "keep_days": keep_days,
                "partitions": MetadataValue.int(len(days)),
                "days": MetadataValue.json(days),
            },
        )

    @op
    def expire_old_snapshots(
        context: OpExecutionContext,
        config: RetentionConfig,
        lakehouse: LakehouseResource,
        retention: RetentionResource,
    ) -> Output[int]:
        keep_days = retention.snapshot_days
        warehouse = lakehouse.open()
        now = _now()
        expired = {} if config.dry_run else expire_snapshots(warehouse, now, keep_days)
        orphans = orphan_files(warehouse, now)
        verb = "Would delete" if config.dry_run else "Deleting"
        context.log.info(f"{verb} {len(orphans)} files no snapshot references")
        if not config.dry_run:
            delete_files(warehouse, orphans)
        return Output(
            len(orphans),
            metadata={
                "dry_run": config.dry_run,
                "keep_days": keep_days,
                "expired_snapshots": MetadataValue.json(expired),
                "orphan_files": MetadataValue.int(len(orphans)),
            },
        )

    @op
    def prune_reconciled_source_days(
        context: OpExecutionContext,
        config: RetentionConfig,
        prune_database: PruneDatabase,
        lakehouse: LakehouseResource,
        retention: RetentionResource,
    ) -> Output[dict[str, int]]:
        """Prunes day by day, oldest first; fails at the end if any day refused to reconcile.

        A day whose source holds fewer rows than the lake had rows arrive after it was
        pruned: re-extracting it would shrink the lake (the shrink guard refuses), so
        those late rows are reported and left in the source, and the job does not fail.
        """
        dsn = prune_database.conninfo
        if not dsn:
            raise Failure(
                description=(
                    "ANALYTICS_PRUNE_DSN is not set: prune_source is off until it names a role "
                    "that may delete from the source table"
                ),
                allow_retries=False,
            )
        keep_days = retention.source_days
        warehouse = lakehouse.open()
        cutoff = _now().date() - dt.timedelta(days=keep_days)
        pruned: dict[str, int] = {}
        refused: dict[str, dict[str, int | None]] = {}
        late_after_prune: dict[str, dict[str, int | None]] = {}
        for day in source_days_before(dsn, prune_database.table, cutoff):
            counts = reconcile_day(dsn, prune_database.table, warehouse, day)
            if counts.source_rows == 0:
                continue
            if counts.lake_rows is not None and counts.source_rows < counts.lake_rows:
                context.log.warning(
                    f"{day}: {counts.source_rows} rows reached the source after the day was "
                    f"pruned; the lake keeps its {counts.lake_rows} rows and the late rows stay "
                    "in the source (re-extracting the day would shrink the lake, so it is refused)"
                )
                late_after_prune[day.isoformat()] = {
                    "source": counts.source_rows,
                    "lake": counts.lake_rows,
                }
                continue
            if not counts.reconciles:
                context.log.warning(
                    f"{day}: refused, the source has {counts.source_rows} rows and the lake "
                    f"{'no partition' if counts.lake_rows is None else counts.lake_rows}"
                )
                refused[day.isoformat()] = {
                    "source": counts.source_rows,
                    "lake": counts.lake_rows,
                }
                continue
            if config.dry_run:
                deleted = counts.source_rows
            else:
                deleted = prune_source_day(dsn, prune_database.table, warehouse, day)
            verb = "would delete" if config.dry_run else "deleted"
            context.log.info(f"{day}: {verb} {deleted} rows")
            pruned[day.isoformat()] = deleted
        metadata = {
            "dry_run": config.dry_run,
            "keep_days": keep_days,
            "rows": MetadataValue.int(sum(pruned.values())),
            "rows_per_day": MetadataValue.json(pruned),
            "refused_days": MetadataValue.json(refused),
            "late_rows_after_prune": MetadataValue.json(late_after_prune),
        }
        if refused:
            raise Failure(
                description=(
                    f"{len(refused)} days have rows the lake lacks and were left in the source: "
                    "materialise them (the lake only grows), then prune again."
                ),
                metadata=metadata,
                allow_retries=False,
            )
        return Output(pruned, metadata=metadata)

    @job(description="Deletes raw lake partitions older than ANALYTICS_RAW_RETENTION_DAYS.")
    def retire_raw_lake() -> None:
        delete_expired_lake_partitions()

    @job(
        name="expire_snapshots",
        description=(
            "Expires snapshots older than ANALYTICS_SNAPSHOT_RETENTION_DAYS and deletes the "
            "files no snapshot references."
        ),
    )
    def expire_snapshots_job() -> None:
        expire_old_snapshots()

    @job(
        description=(
            "Opt-in: deletes source rows older than ANALYTICS_SOURCE_RETENTION_DAYS, through "
            "ANALYTICS_PRUNE_DSN, for days whose lake partition reconciles."
        )
    )
    def prune_source() -> None:
        prune_reconciled_source_days()

    return [retire_raw_lake, expire_snapshots_job, prune_source]
