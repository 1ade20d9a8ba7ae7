"""`analytics-warehouse materialize`: a range checked first, then the same Dagster job.

`dagster asset materialize` reports a bad range, an unset DSN or a missing source table
as a stack trace from inside Dagster. This command checks them first and says what is
wrong in one sentence (exit code 2), then runs the range as one single-run backfill on
the persistent instance (`DAGSTER_HOME`, default `.dagster/`), exactly as the UI's
backfill or `dagster asset materialize --partition-range` would; a failed run exits 1
with each failed step's sentence.
"""

from __future__ import annotations

import datetime as dt
import os
from pathlib import Path
from typing import Any

from warehouse.settings import PROJECT_ROOT, ConfigurationError, Settings, parse_date
from warehouse.source import check_source_table

DEFAULT_DAGSTER_HOME = PROJECT_ROOT / ".dagster"
INSTANCE_SETTINGS = PROJECT_ROOT / "deploy" / "dagster.yaml"


class RunFailed(RuntimeError):
    """The run started and failed; the message holds each failed step's sentence."""


def validate_range(
    start: str, end: str, first_partition: dt.date, today: dt.date
) -> tuple[dt.date, dt.date]:
    """The closed range of complete UTC days [start, end]; one sentence for anything else."""
    first, last = parse_date(start, "--start"), parse_date(end, "--end")
    if first > last:
        raise ConfigurationError(f"--start {first} is after --end {last}")
    if last >= today:
        raise ConfigurationError(
            f"--end {last} is not a complete UTC day yet: the last complete day is "
            f"{today - dt.timedelta(days=1)}"
        )
    if first < first_partition:
        raise ConfigurationError(
            f"--start {first} is before ANALYTICS_START_DATE {first_partition}, the first partition"
        )
    return first, last


def use_persistent_instance() -> Path:
    """DAGSTER_HOME, made ready: the project's `.dagster/` unless set, with its settings."""
    home = Path(os.environ.setdefault("DAGSTER_HOME", str(DEFAULT_DAGSTER_HOME)))
    home.mkdir(parents=True, exist_ok=True)
    settings_file = home / "dagster.yaml"
    if not settings_file.exists():
        settings_file.write_text(INSTANCE_SETTINGS.read_text())
    return home


def materialise_range(
    first: dt.date, last: dt.date, selection: str | None = None, log_level: str = "INFO"
) -> None:
    """Runs the selected assets (all by default) over [first, last] as one run, here.

    At INFO the console shows one line per table and day published, nothing of Dagster's
    own bookkeeping (logged at DEBUG).
    """
    from dagster import AssetSelection, DagsterInstance

    from assets.partitions import partition_range_tags
    from pipelines.definitions import defs

    job = defs.resolve_implicit_global_asset_job_def()
    asset_selection = None
    if selection:
        asset_selection = list(
            AssetSelection.from_string(selection).resolve(defs.resolve_asset_graph())
        )
    result = job.execute_in_process(
        instance=DagsterInstance.get(),
        tags=partition_range_tags(first, last),
        asset_selection=asset_selection,
        run_config={"loggers": {"console": {"config": {"log_level": log_level}}}},
        raise_on_error=False,
    )
    if not result.success:
        failures = [
            f"{event.step_key}: {_failure_sentence(event.event_specific_data)}"
            for event in result.all_events
            if event.is_step_failure
        ]
        raise RunFailed("the run failed: " + "; ".join(failures))


def _failure_sentence(failure: Any) -> str:
    """A step's own sentence (a dagster Failure's description), else the error's first line."""
    if failure.user_failure_data is not None:
        return str(failure.user_failure_data.description)
    return str(failure.error.message).strip().splitlines()[0]


def materialize(start: str, end: str, selection: str | None, today: dt.date) -> Path:
    """Checks everything a run needs, then runs it; returns the instance it ran on."""
    settings = Settings.from_environment()
    first, last = validate_range(start, end, settings.start_date, today)
    check_source_table(os.environ.get("ANALYTICS_SOURCE_DSN", ""), settings.source_table)
    home = use_persistent_instance()
    materialise_range(first, last, selection)
    return home
