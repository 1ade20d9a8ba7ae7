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

RANGE_START_TAG = "dagster/asset_partition_range_start"
RANGE_END_TAG = "dagster/asset_partition_range_end"

daily_partitions = DailyPartitionsDefinition(
    start_date=Settings.from_environment().start_date.isoformat(), timezone="UTC"
)


def partition_days(context: AssetExecutionContext) -> list[dt.date]:
    """The UTC days this run covers: one, or a whole range in a single-run backfill."""
    return [dt.date.fromisoformat(key) for key in context.partition_keys]


def partition_range_tags(first: dt.date | str, last: dt.date | str) -> dict[str, str]:
    """Run tags that hand one run the whole range [first, last] (a single-run backfill)."""
    return {RANGE_START_TAG: str(first), RANGE_END_TAG: str(last)}
