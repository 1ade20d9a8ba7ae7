"""The monitors: `metric_anomalies` for every UTC day, and their alerts to the webhook.

Each day depends on the 28 days of `daily_metrics` before it and on itself, declared with
a `TimeWindowPartitionMapping`, so late events that change a day mark the following 28
days of anomalies stale. After publishing, the step posts the anomalies of the alert
window that were never delivered (`warehouse/monitors.py`); a webhook that fails never
fails the step: the `alerts_delivered` check warns with the count, and the next run
posts them again.
"""

import datetime as dt
from collections.abc import Iterator

from dagster import (
    AssetCheckResult,
    AssetCheckSeverity,
    AssetCheckSpec,
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

from assets.checks import check_results, check_specs
from assets.metadata import OWNERS, definition_metadata
from assets.partitions import partition_days
from assets.publishing import DayRows, publish_days
from assets.resources import Warehouse
from warehouse.audits import audit_rows
from warehouse.lakehouse import Lakehouse
from warehouse.monitors import BASELINE_DAYS, compute_anomalies, send_alerts
from warehouse.tables import DAILY_METRICS, METRIC_ANOMALIES

ALERTS_CHECK = "alerts_delivered"


def _scored_days(lakehouse: Lakehouse, days: list[dt.date], threshold: float) -> Iterator[DayRows]:
    for day in days:
        rows = compute_anomalies(lakehouse, day, threshold)
        yield day, rows, audit_rows(METRIC_ANOMALIES, day, rows)


def _alerts_result(context: AssetExecutionContext, warehouse: Warehouse) -> AssetCheckResult:
    url = warehouse.webhook_url()
    if url is None:
        return AssetCheckResult(
            check_name=ALERTS_CHECK,
            asset_key=METRIC_ANOMALIES.name,
            passed=True,
            metadata={"webhook": MetadataValue.text("ANALYTICS_ALERT_WEBHOOK_URL is not set")},
        )
    outcome = send_alerts(warehouse.lakehouse(), url, dt.datetime.now(dt.UTC), warehouse.alert_days)
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


def build_monitor_asset(partitions: DailyPartitionsDefinition) -> AssetsDefinition:
    @asset(
        name=METRIC_ANOMALIES.name,
        group_name="monitors",
        description=METRIC_ANOMALIES.description,
        partitions_def=partitions,
        backfill_policy=BackfillPolicy.single_run(),
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
        kinds={"duckdb", "iceberg"},
        owners=OWNERS,
        metadata=definition_metadata(METRIC_ANOMALIES),
        check_specs=[
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
    def metric_anomalies(context: AssetExecutionContext, warehouse: Warehouse) -> MaterializeResult:
        lakehouse = warehouse.lakehouse()
        days = partition_days(context)
        scored = _scored_days(lakehouse, days, warehouse.anomaly_threshold)
        published = publish_days(context, warehouse, METRIC_ANOMALIES, scored)
        results = check_results(METRIC_ANOMALIES, published.audits)
        results.append(_alerts_result(context, warehouse))
        return MaterializeResult(check_results=results)

    return metric_anomalies
