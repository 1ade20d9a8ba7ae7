"""The one daily partitioning every daily asset shares, and how a run names its days.

A single `DailyPartitionsDefinition` object is used by every partitioned asset: assets
with different start dates make Dagster split single-run backfills into chunks (dagster
issue 19625). The definitions build it once from `ANALYTICS_START_DATE`, with the backfill policy of
`ANALYTICS_BACKFILL_DAYS_PER_RUN`, and hand it to every asset factory.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

from dagster import AssetExecutionContext, BackfillPolicy, DailyPartitionsDefinition

RANGE_START_TAG = "dagster/asset_partition_range_start"
RANGE_END_TAG = "dagster/asset_partition_range_end"


@dataclass(frozen=True)
class Partitioning:
    """How every daily step is partitioned and backfilled: the shared partitions, and a
    backfill in one run, or split into parallel runs of `days_per_run` days."""

    partitions: DailyPartitionsDefinition
    days_per_run: int | None = None

    @property
    def backfill_policy(self) -> BackfillPolicy:
        if self.days_per_run is None:
            return BackfillPolicy.single_run()
        return BackfillPolicy.multi_run(max_partitions_per_run=self.days_per_run)


def daily_partitioning(start_date: dt.date, days_per_run: int | None = None) -> Partitioning:
    return Partitioning(
        DailyPartitionsDefinition(start_date=start_date.isoformat(), timezone="UTC"),
        days_per_run,
    )


def partition_days(context: AssetExecutionContext) -> list[dt.date]:
    """The UTC days this run covers: one, or a whole range in a single-run backfill."""
    return [dt.date.fromisoformat(key) for key in context.partition_keys]


def partition_range_tags(first: dt.date | str, last: dt.date | str) -> dict[str, str]:
    """Run tags that hand one run the whole range [first, last] (a single-run backfill)."""
    return {RANGE_START_TAG: str(first), RANGE_END_TAG: str(last)}
