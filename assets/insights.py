"""Insight tables published for every as-of date: period comparison and top agents.

Each as-of date depends on a trailing window of daily partitions, declared with
`TimeWindowPartitionMapping`, so the UI shows what a date depends on and a re-run of
daily partitions after late events marks the affected as-of dates stale.
"""

from dagster import (
    AssetDep,
    AssetExecutionContext,
    AssetsDefinition,
    MaterializeResult,
    MetadataValue,
    TimeWindowPartitionMapping,
)

from assets.partitions import Partitioning, partition_days
from assets.publishing import TableDay, publishing
from assets.resources import LakehouseResource
from assets.steps import table_asset
from warehouse.insights import (
    INSIGHTS,
    Insight,
    as_of_chunks,
    compute_insight,
    lookback_start,
)
from warehouse.views import connect


def trailing_days(days: int) -> TimeWindowPartitionMapping:
    return TimeWindowPartitionMapping(
        start_offset=-(days - 1), end_offset=0, allow_nonexistent_upstream_partitions=True
    )


def build_insight_asset(insight: Insight, partitioning: Partitioning) -> AssetsDefinition:
    """One asset per insight table; they differ in their SQL, inputs and window."""
    spec = insight.spec

    @table_asset(
        spec,
        "insights",
        partitioning,
        kinds={"duckdb", "iceberg"},
        deps=[
            AssetDep(table.name, partition_mapping=trailing_days(insight.window_days))
            for table in insight.reads
        ],
        checks=[],
    )
    def compute(context: AssetExecutionContext, lakehouse: LakehouseResource) -> MaterializeResult:
        """A week of as-of dates per query, each reading only its own lookback; an as-of
        date whose periods are not complete is left out, and named in the metadata."""
        warehouse = lakehouse.open()
        skipped: list[str] = []
        with publishing(context, warehouse, lakehouse.local_path) as publisher:
            for chunk in as_of_chunks(partition_days(context)):
                first, last = chunk[0], chunk[-1]
                with connect(
                    warehouse,
                    lookback_start(insight, first),
                    last,
                    tables=insight.reads,
                ) as connection:
                    computed = compute_insight(connection, insight, first, last)
                for as_of_date, rows in computed.items():
                    publisher.publish(as_of_date, [TableDay(spec, rows, [])])
                skipped += [day.isoformat() for day in chunk if day not in computed]
        if skipped:
            context.log.warning(
                f"{spec.name}: {len(skipped)} as-of dates left out, their periods are not "
                f"complete: {', '.join(skipped)}"
            )
        return MaterializeResult(metadata={"skipped_as_of_dates": MetadataValue.json(skipped)})

    return compute


def build_insight_assets(partitioning: Partitioning) -> list[AssetsDefinition]:
    return [build_insight_asset(insight, partitioning) for insight in INSIGHTS]
