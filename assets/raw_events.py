"""The raw lake: each UTC day of `analytics_events`, copied from PostgreSQL into `events`."""

import functools
from collections.abc import Iterator

from dagster import (
    AssetExecutionContext,
    AssetsDefinition,
    BackfillPolicy,
    Config,
    DailyPartitionsDefinition,
    Failure,
    MaterializeResult,
    asset,
)

from assets.checks import check_results, check_specs
from assets.metadata import OWNERS, definition_metadata
from assets.partitions import partition_days
from assets.publishing import DayRows, publish_days
from assets.resources import SourceDatabase, Warehouse
from warehouse.audits import audit_extraction
from warehouse.lakehouse import Lakehouse
from warehouse.source import SourceError, check_source_table, extract_events_for_day
from warehouse.tables import EVENTS


class EventsConfig(Config):  # type: ignore[misc]
    """`allow_shrink: true` publishes a day with fewer rows than the lake holds.

    Only for a deletion that is wanted (a privacy erasure in the source): otherwise a
    source that lost rows, or a day already pruned from it, would shrink the raw lake.
    """

    allow_shrink: bool = False


def _extracted_days(
    context: AssetExecutionContext,
    source: SourceDatabase,
    lakehouse: Lakehouse,
    allow_shrink: bool,
) -> Iterator[DayRows]:
    check_source_table(source.dsn, source.table)
    for day in partition_days(context):
        extracted = extract_events_for_day(
            source.dsn,
            source.table,
            day,
            write=functools.partial(lakehouse.stage_partition, EVENTS, day),
            retries=source.retries,
            on_retry=lambda retried_day, attempt, cause: context.log.warning(
                f"Reading {source.table} for {retried_day} failed on attempt {attempt} of "
                f"{source.retries + 1}, retrying: {cause}"
            ),
        )
        audits = audit_extraction(
            day,
            extracted.source_rows,
            extracted.rows.num_rows,
            lakehouse.published_rows(EVENTS, day),
            allow_shrink,
        )
        yield day, extracted.rows, audits


def build_events_asset(partitions: DailyPartitionsDefinition) -> AssetsDefinition:
    @asset(
        name=EVENTS.name,
        group_name="raw",
        description=EVENTS.description,
        partitions_def=partitions,
        backfill_policy=BackfillPolicy.single_run(),
        kinds={"postgres", "iceberg"},
        owners=OWNERS,
        metadata=definition_metadata(EVENTS),
        check_specs=check_specs(EVENTS),
    )
    def events(
        context: AssetExecutionContext,
        config: EventsConfig,
        source: SourceDatabase,
        warehouse: Warehouse,
    ) -> MaterializeResult:
        """Copies the run's days one at a time, so a long backfill holds one day in memory."""
        days = _extracted_days(context, source, warehouse.lakehouse(), config.allow_shrink)
        try:
            published = publish_days(context, warehouse, EVENTS, days)
        except SourceError as error:
            raise Failure(description=str(error), allow_retries=False) from None
        return MaterializeResult(check_results=check_results(EVENTS, published.audits))

    return events
