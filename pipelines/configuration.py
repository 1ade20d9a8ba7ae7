"""The warehouse's configuration, read once: the code location's settings and its resources.

`load_configuration` reads the environment with the `.env` file of the working
directory over it (the demo writes its settings there, and Dagster's own processes read
the same file the same way), checks every value through the settings or resource that
owns it, and fails with one sentence naming the first bad variable. It runs when the
code location loads (the `@definitions` function of `pipelines/definitions.py`) and once
per command, never when a module is imported.
"""

from __future__ import annotations

import datetime as dt
import os
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from dotenv import dotenv_values
from pydantic import Field, field_validator

from assets.resources import (
    ChecksResource,
    EnvironmentSettings,
    LakehouseResource,
    MonitorsResource,
    PriceListResource,
    PruneDatabase,
    RetentionResource,
    SourceResource,
)
from warehouse.settings import ConfigurationError, parse_cron, parse_date, parse_whole_number

ENV_FILE = ".env"


class CodeLocationSettings(EnvironmentSettings):
    """What the definitions themselves are built from: the partitions' first day, the
    schedule's late window and the crons."""

    start_date: dt.date = Field(default=dt.date(2024, 1, 1))
    late_days: int = 3
    schedule_cron: str = "0 1 * * *"
    freshness_cron: str = "0 3 * * *"
    # None: a backfill is one run; N: split into parallel runs of N days each
    backfill_days_per_run: int | None = None

    @classmethod
    def variables(cls) -> dict[str, str]:
        return {
            "start_date": "ANALYTICS_START_DATE",
            "late_days": "ANALYTICS_LATE_DAYS",
            "schedule_cron": "ANALYTICS_SCHEDULE_CRON",
            "freshness_cron": "ANALYTICS_FRESHNESS_CRON",
            "backfill_days_per_run": "ANALYTICS_BACKFILL_DAYS_PER_RUN",
        }

    @field_validator("start_date", mode="before")
    @classmethod
    def _date(cls, value: str | dt.date) -> dt.date:
        return parse_date(value)

    @field_validator("late_days", mode="before")
    @classmethod
    def _days(cls, value: str | int) -> int:
        return parse_whole_number(value, "days")

    @field_validator("backfill_days_per_run", mode="before")
    @classmethod
    def _days_per_run(cls, value: str | int | None) -> int | None:
        if value is None:
            return None
        days = parse_whole_number(value, "days")
        if days < 1:
            raise ValueError(f"must be a whole number of days from 1 on, got {value!r}")
        return days

    @field_validator("schedule_cron", "freshness_cron", mode="before")
    @classmethod
    def _cron(cls, value: str) -> str:
        return parse_cron(value)


@dataclass(frozen=True)
class Configuration:
    settings: CodeLocationSettings
    source: SourceResource
    lakehouse: LakehouseResource
    prices: PriceListResource
    checks: ChecksResource
    monitors: MonitorsResource
    retention: RetentionResource
    prune_database: PruneDatabase

    def resources(self) -> dict[str, Any]:
        """The resources by the names the assets and jobs ask for."""
        return {
            "source": self.source,
            "lakehouse": self.lakehouse,
            "prices": self.prices,
            "checks": self.checks,
            "monitors": self.monitors,
            "retention": self.retention,
            "prune_database": self.prune_database,
        }


def environment(working_dir: Path | None = None) -> dict[str, str]:
    """The process's environment with the `.env` file of the working directory over it.

    The file wins, as it does in Dagster's own processes (`dagster dev`, the daemon, code
    servers and runs copy it over the environment), so a command and the UI started in
    one folder never run with different settings.
    """
    env_file = (working_dir or Path.cwd()) / ENV_FILE
    from_file = dotenv_values(env_file) if env_file.is_file() else {}
    return {**os.environ, **{key: value for key, value in from_file.items() if value is not None}}


def load_configuration(env: Mapping[str, str] | None = None) -> Configuration:
    """Every setting, checked; raises ConfigurationError naming the first bad variable."""
    env = environment() if env is None else env
    settings = CodeLocationSettings.from_environment(env)
    retention = RetentionResource.from_environment(env)
    for variable, days in (
        ("ANALYTICS_RAW_RETENTION_DAYS", retention.raw_days),
        ("ANALYTICS_SOURCE_RETENTION_DAYS", retention.source_days),
    ):
        if days <= settings.late_days:
            # the schedule re-reads the late window, so it must never be pruned
            raise ConfigurationError(
                f"{variable} ({days}) must exceed ANALYTICS_LATE_DAYS ({settings.late_days})"
            )
    return Configuration(
        settings=settings,
        source=SourceResource.from_environment(env),
        lakehouse=LakehouseResource.from_environment(env),
        prices=PriceListResource.from_environment(env),
        checks=ChecksResource.from_environment(env),
        monitors=MonitorsResource.from_environment(env, alert_days=settings.late_days + 1),
        retention=retention,
        prune_database=PruneDatabase.from_environment(env),
    )
