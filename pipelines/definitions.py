"""The code location: every asset, resource and schedule of the warehouse in one `Definitions`.

Loaded by `dagster dev -w workspace.yaml` and by `dagster asset materialize -m
pipelines.definitions`. The settings are read here, once, and reach the assets through
the shared partitioning and the resources. Steps run in one process, one after the
other: each step already uses both cores through DuckDB, and a subprocess per step
would cost more than most steps take.
"""

from __future__ import annotations

import os

from dagster import Definitions, EnvVar, in_process_executor

from assets.costs import build_model_prices_asset
from assets.daily_tables import build_daily_tables_asset
from assets.insights import build_insight_assets
from assets.monitors import build_monitor_asset
from assets.partitions import daily_partitions
from assets.raw_events import build_events_asset
from assets.reports import build_reports_asset
from assets.resources import PruneDatabase, SourceDatabase, Warehouse
from assets.timezones import build_timezone_assets
from pipelines.freshness import build_freshness_checks, build_freshness_sensor
from pipelines.retention import build_retention_jobs
from pipelines.schedules import build_daily_job, build_daily_schedule
from warehouse.costs import prices_version
from warehouse.settings import Settings


def secret_variable(name: str) -> EnvVar | str:
    """A secret by variable name (its value never shows in the UI); "" when unset, so the
    step that needs it fails with its own sentence instead of Dagster's config trace."""
    return EnvVar(name) if os.environ.get(name) else ""


settings = Settings.from_environment()
partitions = daily_partitions(settings.start_date)
# the price file's digest: editing it marks the cost tables stale (reload the code location)
price_list_version = prices_version(settings.model_prices)
daily_tables = build_daily_tables_asset(partitions, price_list_version)
freshness_checks = build_freshness_checks(settings, [daily_tables])
daily_job = build_daily_job()

defs = Definitions(
    assets=[
        build_events_asset(partitions),
        build_model_prices_asset(price_list_version),
        daily_tables,
        *build_insight_assets(partitions),
        build_monitor_asset(partitions),
        *build_timezone_assets(partitions, price_list_version),
        build_reports_asset(partitions),
    ],
    resources={
        "source": SourceDatabase(
            dsn=secret_variable("ANALYTICS_SOURCE_DSN"),
            table=settings.source_table,
            retries=settings.source_retries,
            timezones_table=settings.org_timezones_table,
        ),
        "warehouse": Warehouse.from_settings(settings),
        "prune_database": PruneDatabase(
            dsn=secret_variable("ANALYTICS_PRUNE_DSN"), table=settings.source_table
        ),
    },
    asset_checks=freshness_checks,
    jobs=[daily_job, *build_retention_jobs(settings)],
    schedules=[build_daily_schedule(settings, daily_job)],
    sensors=[build_freshness_sensor(freshness_checks)],
    executor=in_process_executor,
)
