import datetime as dt
import os

import pytest
from dagster import AssetKey, RunRequest, SkipReason, build_schedule_context

from assets.partitions import RANGE_END_TAG, RANGE_START_TAG, daily_partitioning
from pipelines.configuration import CodeLocationSettings, load_configuration
from pipelines.schedules import build_daily_job, build_daily_schedule
from tests.e2e.support import defs

SETTINGS = load_configuration(os.environ).settings.model_copy(
    update={"start_date": dt.date(2024, 1, 1), "late_days": 3}
)
daily_job = build_daily_job()
# the shared daily partitioning of the definitions (the raw events' own)
partitions = defs.resolve_assets_def(AssetKey("events")).partitions_def


def evaluate(at: str, settings: CodeLocationSettings = SETTINGS) -> RunRequest | SkipReason:
    schedule = build_daily_schedule(settings, daily_job)
    context = build_schedule_context(scheduled_execution_time=dt.datetime.fromisoformat(at))
    result = schedule.evaluate_tick(context)
    if result.skip_message:
        return SkipReason(result.skip_message)
    (request,) = result.run_requests
    return request


def requested_range(request: RunRequest) -> tuple[str, str]:
    return request.tags[RANGE_START_TAG], request.tags[RANGE_END_TAG]


@pytest.mark.parametrize(
    ("tick", "first", "last"),
    [
        ("2025-03-10T00:00:30+00:00", "2025-03-06", "2025-03-09"),
        ("2025-03-10T01:00:00+00:00", "2025-03-06", "2025-03-09"),
        ("2025-03-01T01:00:00+00:00", "2025-02-25", "2025-02-28"),
        ("2024-03-01T01:00:00+00:00", "2024-02-26", "2024-02-29"),
        ("2026-01-01T01:00:00+00:00", "2025-12-28", "2025-12-31"),
        ("2026-01-02T01:00:00+00:00", "2025-12-29", "2026-01-01"),
        # 00:30 in Paris is still the previous UTC day.
        ("2025-03-10T00:30:00+01:00", "2025-03-05", "2025-03-08"),
    ],
)
def test_a_tick_requests_yesterday_and_the_late_days_as_one_range(tick, first, last):
    assert requested_range(evaluate(tick)) == (first, last)


def test_the_late_window_follows_the_setting():
    settings = SETTINGS.model_copy(update={"late_days": 0})
    assert requested_range(evaluate("2025-03-10T01:00:00+00:00", settings)) == (
        "2025-03-09",
        "2025-03-09",
    )


def test_the_same_tick_always_gets_the_same_run_key():
    keys = {evaluate("2025-03-10T01:00:00+00:00").run_key for _ in range(3)}
    assert len(keys) == 1
    assert evaluate("2025-03-11T01:00:00+00:00").run_key not in keys


@pytest.mark.parametrize(
    ("tick", "first", "last"),
    [
        ("2024-01-02T01:00:00+00:00", "2024-01-01", "2024-01-01"),
        ("2024-01-03T01:00:00+00:00", "2024-01-01", "2024-01-02"),
        ("2024-01-05T01:00:00+00:00", "2024-01-01", "2024-01-04"),
        ("2024-01-06T01:00:00+00:00", "2024-01-02", "2024-01-05"),
    ],
)
def test_the_range_never_starts_before_the_first_partition(tick, first, last):
    assert requested_range(evaluate(tick)) == (first, last)


def test_a_tick_before_the_first_complete_day_skips():
    assert isinstance(evaluate("2024-01-01T01:00:00+00:00"), SkipReason)


def test_the_requested_range_is_made_of_partition_keys():
    first, last = requested_range(evaluate("2025-03-10T01:00:00+00:00"))
    keys = daily_partitioning(SETTINGS.start_date).partitions.get_partition_keys()
    assert first in keys
    assert last in keys


def test_the_job_runs_every_daily_partitioned_asset():
    job = defs.resolve_job_def(daily_job.name)
    partitioned = {
        key
        for asset in defs.resolve_asset_graph().assets_defs
        for key in asset.keys
        if asset.partitions_def is partitions
    }
    assert partitioned
    assert partitioned <= set(job.asset_layer.selected_asset_keys)


def test_the_schedule_is_wired_into_the_definitions():
    schedule = defs.resolve_schedule_def("daily_schedule")
    assert schedule.cron_schedule == SETTINGS.schedule_cron
    assert schedule.execution_timezone == "UTC"
