"""The one daily partitioning every daily asset shares, and how a run names its days.

A single `DailyPartitionsDefinition` object is used by every partitioned asset: assets
with different start dates make Dagster split single-run backfills into chunks (dagster
issue 19625). The definitions build it once from `ANALYTICS_START_DATE` and hand it to
every asset factory.
"""

from __future__ import annotations

import datetime as dt

from dagster import AssetExecutionContext, DailyPartitionsDefinition

RANGE_START_TAG = "dagster/asset_partition_range_start"
RANGE_END_TAG = "dagster/asset_partition_range_end"


def daily_partitions(start_date: dt.date) -> DailyPartitionsDefinition:
    return DailyPartitionsDefinition(start_date=start_date.isoformat(), timezone="UTC")


def partition_days(context: AssetExecutionContext) -> list[dt.date]:
    """The UTC days this run covers: one, or a whole range in a single-run backfill."""
    return [dt.date.fromisoformat(key) for key in context.partition_keys]


def partition_range_tags(first: dt.date | str, last: dt.date | str) -> dict[str, str]:
    """Run tags that hand one run the whole range [first, last] (a single-run backfill)."""
    return {RANGE_START_TAG: str(first), RANGE_END_TAG: str(last)}
