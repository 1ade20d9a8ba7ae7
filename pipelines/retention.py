"""Retention jobs, launched by hand from the UI or `dagster job execute`; both default to a dry run.

`retire_raw_lake` deletes raw `events` partitions older than ANALYTICS_RAW_RETENTION_DAYS
(the daily tables and insights are kept). `prune_source` is opt-in: it needs its own
writable DSN in ANALYTICS_PRUNE_DSN and deletes source rows older than
ANALYTICS_SOURCE_RETENTION_DAYS, only for days whose lake partition reconciles.
"""

import datetime as dt

from dagster import Config, Failure, MetadataValue, OpExecutionContext, Output, job, op

from pipelines.resources import PruneDatabase, Warehouse
from pipelines.settings import Settings
from warehouse.catalog import publish_catalog
from warehouse.retention import (
    expired_lake_partitions,
    prune_source_day,
    reconcile_day,
    source_days_before,
)


class RetentionConfig(Config):  # type: ignore[misc]
    """Set `dry_run: false` to delete; a dry run only lists and counts what it would delete."""

    dry_run: bool = True


def _today() -> dt.date:
    return dt.datetime.now(dt.UTC).date()


@op
def delete_expired_lake_partitions(
    context: OpExecutionContext, config: RetentionConfig, warehouse: Warehouse
) -> Output[list[str]]:
    keep_days = Settings.from_environment().raw_retention_days
    expired = expired_lake_partitions(warehouse.path, _today(), keep_days)
    days = [path.stem for path in expired]
    verb = "Would delete" if config.dry_run else "Deleting"
    context.log.info(
        f"{verb} {len(expired)} raw lake partitions older than {keep_days} days: {days}"
    )
    if not config.dry_run:
        for path in expired:
            path.unlink()
        publish_catalog(warehouse.path)
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
def prune_reconciled_source_days(
    context: OpExecutionContext,
    config: RetentionConfig,
    prune_database: PruneDatabase,
    warehouse: Warehouse,
) -> Output[dict[str, int]]:
    """Prunes day by day, oldest first; fails at the end if any day refused to reconcile."""
    keep_days = Settings.from_environment().source_retention_days
    cutoff = _today() - dt.timedelta(days=keep_days)
    pruned: dict[str, int] = {}
    refused: dict[str, dict[str, int | None]] = {}
    for day in source_days_before(prune_database.dsn, prune_database.table, cutoff):
        counts = reconcile_day(prune_database.dsn, prune_database.table, warehouse.path, day)
        if counts.source_rows == 0:
            continue
        if not counts.reconciles:
            context.log.warning(
                f"{day}: refused, the source has {counts.source_rows} rows and the lake "
                f"{'no partition' if counts.lake_rows is None else counts.lake_rows}"
            )
            refused[day.isoformat()] = {"source": counts.source_rows, "lake": counts.lake_rows}
            continue
        if config.dry_run:
            deleted = counts.source_rows
        else:
            deleted = prune_source_day(
                prune_database.dsn, prune_database.table, warehouse.path, day
            )
        context.log.info(f"{day}: {'would delete' if config.dry_run else 'deleted'} {deleted} rows")
        pruned[day.isoformat()] = deleted
    metadata = {
        "dry_run": config.dry_run,
        "keep_days": keep_days,
        "rows": MetadataValue.int(sum(pruned.values())),
        "rows_per_day": MetadataValue.json(pruned),
        "refused_days": MetadataValue.json(refused),
    }
    if refused:
        raise Failure(
            description=(
                f"{len(refused)} days do not reconcile with the lake and were left in the "
                "source: re-materialise them, then prune again."
            ),
            metadata=metadata,
            allow_retries=False,
        )
    return Output(pruned, metadata=metadata)


@job(description="Deletes raw lake partitions older than ANALYTICS_RAW_RETENTION_DAYS.")
def retire_raw_lake() -> None:
    delete_expired_lake_partitions()


@job(
    description=(
        "Opt-in: deletes source rows older than ANALYTICS_SOURCE_RETENTION_DAYS, through "
        "ANALYTICS_PRUNE_DSN, for days whose lake partition reconciles."
    )
)
def prune_source() -> None:
    prune_reconciled_source_days()


retention_jobs = [retire_raw_lake, prune_source]
