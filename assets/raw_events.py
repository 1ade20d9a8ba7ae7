"""The raw lake: each UTC day of `analytics_events`, copied from PostgreSQL into Parquet."""

from collections.abc import Iterator

import duckdb
from dagster import (
    AssetCheckResult,
    AssetCheckSeverity,
    AssetCheckSpec,
    AssetExecutionContext,
    BackfillPolicy,
    Failure,
    MaterializeResult,
    MetadataValue,
    asset,
)

from assets.metadata import OWNERS, definition_metadata, materialization_metadata
from pipelines.partitions import daily_partitions, partition_days
from pipelines.resources import SourceDatabase, Warehouse
from warehouse.catalog import publish_catalog
from warehouse.lake import partition_path
from warehouse.source import (
    SourceError,
    check_source_table,
    extract_events_for_day,
    first_line,
)
from warehouse.tables import EVENTS

RECONCILIATION_CHECK = "lake_rows_match_source"


@asset(
    name=EVENTS.name,
    group_name="raw",
    description=EVENTS.description,
    partitions_def=daily_partitions,
    backfill_policy=BackfillPolicy.single_run(),
    kinds={"postgres", "parquet"},
    owners=OWNERS,
    metadata=definition_metadata(EVENTS),
    check_specs=[
        AssetCheckSpec(
            RECONCILIATION_CHECK,
            asset=EVENTS.name,
            blocking=True,
            description=(
                "Each day's lake row count equals the source's count for the same half-open "
                "UTC window, read in the same snapshot. Blocks the daily tables on a short copy."
            ),
        )
    ],
)
def events(
    context: AssetExecutionContext, source: SourceDatabase, warehouse: Warehouse
) -> Iterator[MaterializeResult | AssetCheckResult]:
    """Copies the run's days one at a time, so a year-long backfill stays in bounded memory."""
    try:
        check_source_table(source.dsn, source.table)
        extracted = []
        for day in partition_days(context):
            result = extract_events_for_day(
                source.dsn, source.table, day, partition_path(warehouse.path, EVENTS.name, day)
            )
            context.log.info(f"{day}: {result.lake_rows} events copied to {result.path}")
            extracted.append(result)
    except SourceError as error:
        raise Failure(description=str(error), allow_retries=False) from None
    except (OSError, duckdb.IOException) as error:
        reason = first_line(error)
        where = f"ANALYTICS_WAREHOUSE_DIR {warehouse.path}"
        raise Failure(
            description=f"Cannot write the lake in {where}: {reason}", allow_retries=False
        ) from None
    publish_catalog(warehouse.path)

    mismatched = [day for day in extracted if day.lake_rows != day.source_rows]
    yield MaterializeResult(
        metadata={
            **materialization_metadata(sum(day.lake_rows for day in extracted), None),
            "days": MetadataValue.int(len(extracted)),
            "rows_per_day": MetadataValue.json(
                {day.day.isoformat(): day.lake_rows for day in extracted}
            ),
        }
    )
    yield AssetCheckResult(
        check_name=RECONCILIATION_CHECK,
        passed=not mismatched,
        severity=AssetCheckSeverity.ERROR,
        metadata={
            "source_rows": MetadataValue.int(sum(day.source_rows for day in extracted)),
            "lake_rows": MetadataValue.int(sum(day.lake_rows for day in extracted)),
            "mismatched_days": MetadataValue.json(
                {
                    day.day.isoformat(): {"source": day.source_rows, "lake": day.lake_rows}
                    for day in mismatched
                }
            ),
        },
    )
