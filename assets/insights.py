"""Insight tables published for every as-of date: period comparison and top agents.

Each as-of date depends on a trailing window of daily partitions, declared with
`TimeWindowPartitionMapping`, so the UI shows what a date depends on and a re-run of
daily partitions after late events marks the affected as-of dates stale.
"""

from dagster import (
    AssetDep,
    AssetExecutionContext,
    AssetsDefinition,
    BackfillPolicy,
    DailyPartitionsDefinition,
    MaterializeResult,
    TimeWindowPartitionMapping,
    asset,
)

from assets.metadata import OWNERS, definition_metadata
from assets.partitions import partition_days
from assets.publishing import publish_days
from assets.resources import Warehouse
from warehouse.insights import INSIGHTS, Insight, compute_insight_partitions


def trailing_days(days: int) -> TimeWindowPartitionMapping:
    return TimeWindowPartitionMapping(
        start_offset=-(days - 1), end_offset=0, allow_nonexistent_upstream_partitions=True
    )


def build_insight_asset(
    insight: Insight, partitions: DailyPartitionsDefinition
) -> AssetsDefinition:
    """One asset per insight table; they differ in their SQL, inputs and window."""
    spec = insight.spec

    @asset(
        name=spec.name,
        group_name="insights",
        description=spec.description,
        partitions_def=partitions,
        backfill_policy=BackfillPolicy.single_run(),
        deps=[
            AssetDep(table.name, partition_mapping=trailing_days(insight.window_days))
            for table in insight.reads
        ],
        kinds={"duckdb", "iceberg"},
        owners=OWNERS,
        metadata=definition_metadata(spec),
    )
    def compute(context: AssetExecutionContext, warehouse: Warehouse) -> MaterializeResult:
        computed = compute_insight_partitions(
            warehouse.lakehouse(), insight, partition_days(context)
        )
        days = ((as_of_date, rows, []) for as_of_date, rows in computed)
        publish_days(context, warehouse, spec, days)
        return MaterializeResult()

    return compute


def build_insight_assets(partitions: DailyPartitionsDefinition) -> list[AssetsDefinition]:
    return [build_insight_asset(insight, partitions) for insight in INSIGHTS]
