"""HTML reports per as-of date: one self-contained page per organisation, and an index.

A report reads the insight tables of its as-of date and the daily tables of its
trailing window, declared with `TimeWindowPartitionMapping` as in `assets/insights.py`,
so a re-run of a daily partition marks the reports that show it stale.
"""

import base64

from dagster import (
    AssetDep,
    AssetExecutionContext,
    AssetsDefinition,
    BackfillPolicy,
    DailyPartitionsDefinition,
    MaterializeResult,
    MetadataValue,
    TimeWindowPartitionMapping,
    asset,
)

from assets.insights import trailing_days
from assets.metadata import OWNERS
from assets.partitions import partition_days
from assets.resources import Warehouse
from warehouse.report_png import line_chart_png
from warehouse.reports import REPORT_DAYS, ReportFolder, write_reports
from warehouse.tables import (
    DAILY_METRICS,
    DATA_QUALITY,
    EVENT_COUNTS,
    PERIOD_COMPARISON,
    TOP_AGENTS,
)

_SAME_AS_OF_DATE = TimeWindowPartitionMapping()


def _preview(folder: ReportFolder) -> str:
    """Messages per day of the busiest organisation's report, as Markdown with a PNG."""
    busiest = max(folder.reports, key=lambda report: sum(d["total_messages"] for d in report.days))
    messages = [day["total_messages"] for day in busiest.days]
    image = base64.b64encode(line_chart_png([messages])).decode()
    return (
        f"**Messages per day**, organisation `{busiest.organization_id}`,"
        f" {busiest.days[0]['date']} to {folder.as_of_date} (0 to {max(messages):,})\n\n"
        f"![messages per day](data:image/png;base64,{image})"
    )


def _metadata(folder: ReportFolder) -> dict[str, MetadataValue]:
    sizes = "\n".join(
        f"| {name} | {size / 1024:,.1f} KB |" for name, size in sorted(folder.sizes.items())
    )
    metadata = {
        "path": MetadataValue.path(str(folder.path)),
        "report_count": MetadataValue.int(len(folder.reports)),
        "total_bytes": MetadataValue.int(sum(folder.sizes.values())),
        "report_sizes": MetadataValue.md(f"| file | size |\n|---|---|\n{sizes}"),
    }
    if folder.reports:
        metadata["preview"] = MetadataValue.md(_preview(folder))
    return metadata


def build_reports_asset(partitions: DailyPartitionsDefinition) -> AssetsDefinition:
    @asset(
        group_name="reports",
        description=(
            f"For every as-of date: `reports/<date>/`, one offline HTML page per organisation "
            f"over the trailing {REPORT_DAYS} days (period comparison, usage, response times, "
            "top agents, event mix, failures, data quality) and an index page."
        ),
        partitions_def=partitions,
        backfill_policy=BackfillPolicy.single_run(),
        deps=[
            *(
                AssetDep(table.name, partition_mapping=_SAME_AS_OF_DATE)
                for table in (PERIOD_COMPARISON, TOP_AGENTS)
            ),
            *(
                AssetDep(table.name, partition_mapping=trailing_days(REPORT_DAYS))
                for table in (DAILY_METRICS, EVENT_COUNTS, DATA_QUALITY)
            ),
        ],
        kinds={"duckdb", "html"},
        owners=OWNERS,
    )
    def reports(context: AssetExecutionContext, warehouse: Warehouse) -> MaterializeResult:
        folders = write_reports(
            warehouse.lakehouse(), warehouse.local_path, partition_days(context)
        )
        context.log.info(f"wrote {len(folders)} report folders under {folders[-1].path.parent}")
        return MaterializeResult(metadata=_metadata(folders[-1]))

    return reports
