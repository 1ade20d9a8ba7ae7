"""The one daily partitioning every daily asset shares.

A single `DailyPartitionsDefinition` object is used by every partitioned asset: assets
with different start dates make Dagster split single-run backfills into chunks (dagster
issue 19625). Its start date is structural, so it is read from `ANALYTICS_START_DATE`
when the code location loads.
"""

from __future__ import annotations

import datetime as dt

from dagster import AssetExecutionContext, DailyPartitionsDefinition

from pipelines.settings import Settings

daily_partitions = DailyPartitionsDefinition(
    start_date=Settings.from_environment().start_date.isoformat(), timezone="UTC"
)


def partition_days(context: AssetExecutionContext) -> list[dt.date]:
    """The UTC days this run covers: one, or a whole range in a single-run backfill."""
    return [dt.date.fromisoformat(key) for key in context.partition_keys]
