"""The monitors: `metric_anomalies` for every UTC day, and their alerts to the webhook.

Each day depends on the 28 days of `daily_metrics` before it and on itself, declared with
a `TimeWindowPartitionMapping`, so late events that change a day mark the following 28
days of anomalies stale. After publishing, the step posts the anomalies of the alert
window that were never delivered (`warehouse/monitors.py`); a webhook that fails never
fails the step: the `alerts_delivered` check warns with the count, and the next run
posts them again.
"""

import datetime as dt

from dagster import (
    AssetCheckResult,
    AssetCheckSeverity,
    AssetCheckSpec,
    AssetDep,
    AssetExecutionContext,
    AssetsDefinition,
    MaterializeResult,
    MetadataValue,
    TimeWindowPartitionMapping,
)

from assets.checks import check_results, check_specs
from assets.partitions import Partitioning, partition_days
from assets.publishing import TableDay, publishing
from assets.resources import LakehouseResource, MonitorsResource
from assets.steps import selected_checks, table_asset
from warehouse.audits import audit_rows
from warehouse.monitors import BASELINE_DAYS, baseline_start, score_day, send_alerts
from warehouse.storage.catalog import Lakehouse
from warehouse.tables import DAILY_METRICS, METRIC_ANOMALIES
from warehouse.views import connect

ALERTS_CHECK = "alerts_delivered"


def _alerts_result(
    context: AssetExecutionContext, lakehouse: Lakehouse, monitors: MonitorsResource
) -> AssetCheckResult:
    url = monitors.url
    if url is None:
        return AssetCheckResult(
            check_name=ALERTS_CHECK,
            asset_key=METRIC_ANOMALIES.name,
            passed=True,
            metadata={"webhook": MetadataValue.text("ANALYTICS_ALERT_WEBHOOK_URL is not set")},
        )
    outcome = send_alerts(lakehouse, url, dt.datetime.now(dt.UTC), monitors.alert_days)
    first, last = outcome.window
    context.log.info(f"alerts: {len(outcome.sent)} posted for {first}..{last}")
    if outcome.failed:
        context.log.warning(
            f"alerts: {len(outcome.failed)} not delivered ({outcome.failed[0][1]}); "
            "the next run posts them again"
        )
    return AssetCheckResult(
        check_name=ALERTS_CHECK,
        asset_key=METRIC_ANOMALIES.name,
        passed=not outcome.failed,
        severity=AssetCheckSeverity.WARN,
        metadata={
            "alert_window": MetadataValue.text(f"{first}..{last}"),
            "sent": MetadataValue.int(len(outcome.sent)),
            "not_delivered": MetadataValue.int(len(outcome.failed)),
            "errors": MetadataValue.json(sorted({reason for _, reason in outcome.failed})),
        },
    )


def build_monitor_asset(partitioning: Partitioning) -> AssetsDefinition:
    @table_asset(
        METRIC_ANOMALIES,
        "monitors",
        partitioning,
        kinds={"duckdb", "iceberg"},
        deps=[
            AssetDep(
                DAILY_METRICS.name,
                partition_mapping=TimeWindowPartitionMapping(
                    start_offset=-BASELINE_DAYS,
                    end_offset=0,
                    allow_nonexistent_upstream_partitions=True,
                ),
            )
        ],
        checks=[
            *check_specs(METRIC_ANOMALIES),
            AssetCheckSpec(
                ALERTS_CHECK,
                asset=METRIC_ANOMALIES.name,
                description=(
                    "Every anomaly of the alert window (the last ANALYTICS_LATE_DAYS + 1 days) "
                    "was delivered to ANALYTICS_ALERT_WEBHOOK_URL; warns with the count the "
                    "webhook refused, which the next run posts again."
                ),
            ),
        ],
    )
    def metric_anomalies(
        context: AssetExecutionContext, lakehouse: LakehouseResource, monitors: MonitorsResource
    ) -> MaterializeResult:
        warehouse = lakehouse.open()
        skipped: list[str] = []
        with publishing(context, warehouse, lakehouse.local_path) as publisher:
            for day in partition_days(context):
                with connect(
                    warehouse, baseline_start(day), day, tables=[DAILY_METRICS]
                ) as connection:
                    rows = score_day(connection, day, monitors.threshold)
                if rows is None:
                    skipped.append(day.isoformat())
                    continue
                publisher.publish(
                    day, [TableDay(METRIC_ANOMALIES, rows, audit_rows(METRIC_ANOMALIES, day, rows))]
                )
        if skipped:
            context.log.warning(
                f"metric_anomalies: incomplete days not scored: {', '.join(skipped)}"
            )
        results = check_results(METRIC_ANOMALIES, publisher.published[METRIC_ANOMALIES].audits)
        results.append(_alerts_result(context, warehouse, monitors))
        return MaterializeResult(
            check_results=selected_checks(context, results),
            metadata={"skipped_days": MetadataValue.json(skipped)},
        )

    return metric_anomalies
