"""`analytics-warehouse materialize`: the selection, the range and the settings checked
first, then the same Dagster job.

`dagster asset materialize` reports a bad selection, a bad range, an unset DSN or a
missing source table as a stack trace from inside Dagster. This command checks them
first, in that order, and says what is wrong in one sentence (exit code 2), then runs the
range as one single-run backfill on the persistent instance (`DAGSTER_HOME`, default
`.dagster/`), exactly as the UI's backfill or `dagster asset materialize
--partition-range` would; a failed run exits 1 with each failed step's sentence.
"""

from __future__ import annotations

import datetime as dt
import difflib
import os
import re
import sys
from collections.abc import Collection
from pathlib import Path
from typing import Any

from dagster import AssetKey, AssetSelection, DagsterInstance, Definitions
from dagster._core.errors import DagsterError

from assets.partitions import partition_range_tags
from pipelines.configuration import Configuration, environment
from pipelines.dagster_home import prepare_dagster_home
from pipelines.definitions import build_definitions
from pipelines.progress import PROGRESS_LOGGERS
from warehouse.provenance import ZONE_TABLES, first_zone_change
from warehouse.settings import ConfigurationError, checked_date
from warehouse.source import check_source_table
from warehouse.storage.reading import published_days
from warehouse.tables import LOCAL_TABLES, ORGANIZATION_TIMEZONES

# Words of Dagster's selection syntax that are not asset names.
_SELECTION_WORDS = frozenset(
    {
        "and",
        "or",
        "not",
        "key",
        "group",
        "tag",
        "kind",
        "owner",
        "code_location",
        "status",
        "column",
        "table_name",
        "column_tag",
        "changed_in_branch",
        "sinks",
        "roots",
    }
)


class RunFailed(RuntimeError):
    """The run started and failed; the message holds each failed step's sentence."""


def checked_selection(text: str, asset_names: Collection[str], defs: Definitions) -> list[AssetKey]:
    """The assets `--select` names, or one sentence naming what is wrong with it."""
    if not text.strip():
        raise ConfigurationError(
            "--select is empty: name the assets to materialise, e.g. 'events+' "
            "(leave --select out to materialise every asset)"
        )
    unknown = [
        word
        for word in re.findall(r"[A-Za-z_][A-Za-z0-9_]*", text)
        if word not in asset_names and word.lower() not in _SELECTION_WORDS
    ]
    if unknown:
        nearest = difflib.get_close_matches(unknown[0], sorted(asset_names), n=3, cutoff=0)
        hint = f"; the nearest are {', '.join(nearest)}" if nearest else ""
        raise ConfigurationError(
            f"--select names {unknown[0]!r}, which is no asset of the warehouse{hint} "
            "(analytics-warehouse status lists them all)"
        )
    try:
        selected = AssetSelection.from_string(text).resolve(defs.resolve_asset_graph())
    except DagsterError as error:
        reason = str(error).strip().splitlines()[0]
        raise ConfigurationError(f"--select {text!r} is not an asset selection: {reason}") from None
    if not selected:
        raise ConfigurationError(f"--select {text!r} selects no asset")
    return sorted(selected)


def validate_range(
    start: str, end: str, first_partition: dt.date, today: dt.date
) -> tuple[dt.date, dt.date]:
    """The closed range of complete UTC days [start, end]; one sentence for anything else."""
    first, last = checked_date(start, "--start"), checked_date(end, "--end")
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
    home = prepare_dagster_home(environment())
    os.environ["DAGSTER_HOME"] = str(home)
    return home


def materialise_range(
    defs: Definitions,
    first: dt.date,
    last: dt.date,
    selection: list[AssetKey] | None = None,
    run_config: dict[str, Any] | None = None,
) -> None:
    """Runs the selected assets (all by default) over [first, last] as one run, here.

    The command shows the run's progress (pipelines/progress.py), not Dagster's console
    log: the run's full log is the instance's, as every run's.
    """
    job = defs.resolve_implicit_global_asset_job_def().with_logger_defs(PROGRESS_LOGGERS)
    result = job.execute_in_process(
        instance=DagsterInstance.get(),
        tags=partition_range_tags(first, last),
        asset_selection=selection,
        run_config={
            **(run_config or {}),
            "loggers": {"progress": {"config": {"interactive": sys.stderr.isatty()}}},
        },
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


def zone_change_config(selection: list[AssetKey] | None) -> dict[str, Any]:
    """The run config that lets a run replace days computed with another zone setting:
    the config of the zone steps it runs (`assets/timezones.py`)."""
    steps = {"events": [ORGANIZATION_TIMEZONES], "local_tables": list(LOCAL_TABLES)}
    allowed = {"config": {"allow_timezone_change": True}}
    return {
        "ops": {
            step: allowed
            for step, tables in steps.items()
            if selection is None or any(AssetKey(spec.name) in selection for spec in tables)
        }
    }


def refuse_zone_change(
    configuration: Configuration, selection: list[AssetKey] | None, first: dt.date, last: dt.date
) -> None:
    """Refuses, before any run, a range whose published days another zone setting shaped
    (the run would stop at the check `zone_setting_unchanged`)."""
    lakehouse = configuration.lakehouse.open()
    published = {
        spec: published_days(lakehouse, spec)
        for spec in ZONE_TABLES
        if (selection is None or AssetKey(spec.name) in selection) and lakehouse.exists(spec)
    }
    change = first_zone_change(published, first, last, configuration.source.timezones_table)
    if change is not None:
        raise ConfigurationError(change.failure or change.check)


def materialize(
    configuration: Configuration,
    start: str,
    end: str,
    selection: str | None,
    today: dt.date,
    allow_timezone_change: bool = False,
) -> Path:
    """Checks everything a run needs, then runs it; returns the instance it ran on."""
    defs = build_definitions(configuration)
    names = {key.to_user_string() for key in defs.resolve_asset_graph().get_all_asset_keys()}
    keys = None if selection is None else checked_selection(selection, names, defs)
    first, last = validate_range(start, end, configuration.settings.start_date, today)
    check_source_table(configuration.source.conninfo, configuration.source.table)
    if not allow_timezone_change:
        refuse_zone_change(configuration, keys, first, last)
    home = use_persistent_instance()
    run_config = zone_change_config(keys) if allow_timezone_change else None
    materialise_range(defs, first, last, keys, run_config=run_config)
    return home
