"""The code location: every asset, resource and schedule of the warehouse in one `Definitions`.

Loaded by `dagster dev -w workspace.yaml` and by `dagster asset materialize -m
pipelines.definitions`. The configuration is read when Dagster loads the code location
(the `@definitions` function), never when the module is imported, and reaches the assets
through the shared partitioning and the resources. Steps run in one process, one after
the other: each step already uses both cores through DuckDB, and a subprocess per step
would cost more than most steps take.
"""

from __future__ import annotations

from dagster import Definitions, definitions, in_process_executor

from assets.costs import build_model_prices_asset
from assets.daily_tables import build_daily_tables_asset
from assets.insights import build_insight_assets
from assets.monitors import build_monitor_asset
from assets.partitions import daily_partitioning
from assets.raw_events import build_events_asset
from assets.reports import build_reports_asset
from assets.timezones import build_local_tables_asset
from pipelines.configuration import Configuration, load_configuration
from pipelines.freshness import build_freshness_checks, build_freshness_sensor
from pipelines.retention import build_retention_jobs
from pipelines.schedules import build_daily_job, build_daily_schedule


def build_definitions(configuration: Configuration) -> Definitions:
    """The code location of one configuration (the tests build their own)."""
    settings = configuration.settings
    partitioning = daily_partitioning(settings.start_date, settings.backfill_days_per_run)
    # the price file's digest: editing it marks the cost tables stale (reload the code location)
    price_list_version = configuration.prices.digest
    daily_tables = build_daily_tables_asset(partitioning, price_list_version)
    freshness_checks = build_freshness_checks(settings.freshness_cron, [daily_tables])
    daily_job = build_daily_job()
    return Definitions(
        assets=[
            build_events_asset(partitioning),
            build_model_prices_asset(price_list_version),
            daily_tables,
            *build_insight_assets(partitioning),
            build_monitor_asset(partitioning),
            build_local_tables_asset(partitioning, price_list_version),
            build_reports_asset(partitioning),
        ],
        resources=configuration.resources(),
        asset_checks=freshness_checks,
        jobs=[daily_job, *build_retention_jobs()],
        schedules=[build_daily_schedule(settings, daily_job)],
        sensors=[build_freshness_sensor(freshness_checks)],
        executor=in_process_executor,
    )


@definitions
def defs() -> Definitions:
    return build_definitions(load_configuration())
