"""The daily run: yesterday's partition and the trailing late days, as one single-run range.

Late events (a `created_at` in a day already processed) are picked up by re-extracting
the last `ANALYTICS_LATE_DAYS` days along with yesterday. Every daily-partitioned asset
has a single-run backfill policy, so the whole window is one run over a partition range
rather than one run per day: the run key names the range, so a tick retried after a
daemon crash launches nothing twice.
"""

from __future__ import annotations

import datetime as dt
from typing import TYPE_CHECKING

from dagster import (
    AssetSelection,
    DefaultScheduleStatus,
    RunRequest,
    ScheduleDefinition,
    ScheduleEvaluationContext,
    SkipReason,
    define_asset_job,
    schedule,
)

from assets.partitions import partition_range_tags

if TYPE_CHECKING:  # Dagster does not export the type define_asset_job returns
    from dagster._core.definitions.unresolved_asset_job_definition import (
        UnresolvedAssetJobDefinition,
    )
from pipelines.configuration import CodeLocationSettings


def build_daily_job() -> UnresolvedAssetJobDefinition:
    """Every asset on the shared daily partitioning (they all accept a range run) and the prices."""
    return define_asset_job(
        "daily_job",
        # and the price list, so every run prices with the current file
        selection=AssetSelection.from_string('partitions:"time"')
        | AssetSelection.assets("model_prices"),
        description="Extracts and computes a range of UTC days in one run.",
    )


def scheduled_days(
    execution_time: dt.datetime, late_days: int, start_date: dt.date
) -> tuple[dt.date, dt.date] | None:
    """The closed range of days a tick at `execution_time` (re)processes, or None if none exist.

    The last day is yesterday in UTC; the first is `late_days` earlier, but never before
    the first partition.
    """
    last = execution_time.astimezone(dt.UTC).date() - dt.timedelta(days=1)
    if last < start_date:
        return None
    return max(last - dt.timedelta(days=late_days), start_date), last


def build_daily_schedule(
    settings: CodeLocationSettings, daily_job: UnresolvedAssetJobDefinition
) -> ScheduleDefinition:
    """The schedule, with its cron and late window read from the settings."""

    @schedule(
        name="daily_schedule",
        job=daily_job,
        cron_schedule=settings.schedule_cron,
        execution_timezone="UTC",
        default_status=DefaultScheduleStatus.RUNNING,
        description=(
            f"Yesterday's partition and the {settings.late_days} days before it, in one run."
        ),
    )
    def daily_schedule(context: ScheduleEvaluationContext) -> RunRequest | SkipReason:
        execution_time = context.scheduled_execution_time or dt.datetime.now(dt.UTC)
        days = scheduled_days(execution_time, settings.late_days, settings.start_date)
        if days is None:
            return SkipReason(f"No complete day since ANALYTICS_START_DATE {settings.start_date}.")
        first, last = (day.isoformat() for day in days)
        return RunRequest(
            run_key=f"daily-{first}-{last}",
            tags=partition_range_tags(first, last),
        )

    return daily_schedule
