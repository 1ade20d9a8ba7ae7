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
    MaterializeResult,
    TimeWindowPartitionMapping,
    asset,
)

from assets.metadata import OWNERS, definition_metadata, materialization_metadata
from pipelines.partitions import daily_partitions, partition_days
from pipelines.resources import Warehouse
from warehouse.catalog import publish_catalog
from warehouse.insights import write_insight_partitions
from warehouse.lake import partition_path, read_preview
from warehouse.tables import (
    AGENT_METRICS,
    DAILY_ACTIVE_USERS,
    DAILY_MEASUREMENTS,
    DAILY_METRICS,
    PERIOD_COMPARISON,
    TOP_AGENTS,
    TableSpec,
)

LONGEST_COMPARISON_DAYS = 2 * 30
TOP_AGENTS_DAYS = 30


def _trailing_days(days: int) -> TimeWindowPartitionMapping:
    return TimeWindowPartitionMapping(
        start_offset=-(days - 1), end_offset=0, allow_nonexistent_upstream_partitions=True
    )


def build_insight_asset(
    spec: TableSpec, upstream: tuple[TableSpec, ...], trailing_days: int
) -> AssetsDefinition:
    """One asset per insight table; they differ in their SQL, inputs and window."""

    @asset(
        name=spec.name,
        group_name="insights",
        description=spec.description,
        partitions_def=daily_partitions,
        backfill_policy=BackfillPolicy.single_run(),
        deps=[
            AssetDep(table.name, partition_mapping=_trailing_days(trailing_days))
            for table in upstream
        ],
        kinds={"duckdb", "parquet"},
        owners=OWNERS,
        metadata=definition_metadata(spec),
    )
    def insight(context: AssetExecutionContext, warehouse: Warehouse) -> MaterializeResult:
        as_of_dates = partition_days(context)
        rows = write_insight_partitions(warehouse.path, spec, as_of_dates)
        publish_catalog(warehouse.path)
        preview = read_preview(partition_path(warehouse.path, spec.name, as_of_dates[-1]))
        return MaterializeResult(metadata=materialization_metadata(rows, preview))

    return insight


period_comparison = build_insight_asset(
    PERIOD_COMPARISON,
    upstream=(DAILY_METRICS, DAILY_ACTIVE_USERS, AGENT_METRICS, DAILY_MEASUREMENTS),
    trailing_days=LONGEST_COMPARISON_DAYS,
)
top_agents = build_insight_asset(
    TOP_AGENTS, upstream=(AGENT_METRICS, DAILY_MEASUREMENTS), trailing_days=TOP_AGENTS_DAYS
)
insight_assets = [period_comparison, top_agents]
