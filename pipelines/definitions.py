"""The code location: every asset, resource and schedule of the warehouse in one `Definitions`.

Loaded by `dagster dev -w workspace.yaml` and by `dagster asset materialize -m
pipelines.definitions`. Steps run in one process, one after the other: each step
already uses both cores through DuckDB, and a subprocess per step would cost more than
most steps take.
"""

from __future__ import annotations

from dagster import Definitions, EnvVar, in_process_executor

from assets.daily_tables import daily_table_assets
from assets.insights import insight_assets
from assets.raw_events import events
from assets.reports import reports
from pipelines.freshness import build_freshness_checks, build_freshness_sensor
from pipelines.resources import PruneDatabase, SourceDatabase, Warehouse
from pipelines.retention import retention_jobs
from pipelines.schedules import build_daily_schedule, daily_job
from pipelines.settings import Settings

settings = Settings.from_environment()
freshness_checks = build_freshness_checks(settings, daily_table_assets)

defs = Definitions(
    assets=[events, *daily_table_assets, *insight_assets, reports],
    resources={
        "source": SourceDatabase(dsn=EnvVar("ANALYTICS_SOURCE_DSN"), table=settings.source_table),
        "warehouse": Warehouse(directory=str(settings.warehouse_dir)),
        "prune_database": PruneDatabase(
            dsn=EnvVar("ANALYTICS_PRUNE_DSN"), table=settings.source_table
        ),
    },
    asset_checks=freshness_checks,
    jobs=[daily_job, *retention_jobs],
    schedules=[build_daily_schedule(settings)],
    sensors=[build_freshness_sensor(freshness_checks)],
    executor=in_process_executor,
)
