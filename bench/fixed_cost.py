"""A day through the command line: the fixed cost of a run, and the day's data cost.

Issue 13 measures both with `dagster asset materialize -m pipelines.definitions --select
'*' --partition DAY`, wall time of the process:

- fixed cost: a run of an empty day (no events) against Dagster's floor, the same
  command materialising one no-op partitioned asset (`bench/floor_definitions.py`);
- the whole day's data cost: a day's run minus an empty day's run.

Both days are run once in-process first (one range), so the timed runs find the
warehouse, its catalog and tables there, and re-run their day, as `whole day` does.
`profile_table` shows where the seconds of an empty day and of a day of events go:
imports, loading the definitions, each step, and before and after the run.
"""

from __future__ import annotations

import datetime as dt
import statistics
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

from bench import measure
from bench.dagster_cli import (
    FLOOR_MODULE,
    CliRun,
    DagsterCli,
    ImportProfile,
    project_and_libraries,
)
from bench.report import Row, at_most, ratio_of, table

FIXED_COST_TARGET = 1.15  # an empty day's run against Dagster's floor
DATA_COST_TARGET = 2.0  # a day's run minus an empty day's, against the COPY limit
TOP_LIBRARIES = 6


@dataclass(frozen=True)
class CliDays:
    """Timed runs of the floor, an empty day and a day of events; both code locations' load."""

    floor: list[CliRun]
    empty: list[CliRun]
    day: list[CliRun]
    floor_profile: ImportProfile
    empty_profile: ImportProfile

    @property
    def floor_seconds(self) -> float:
        return statistics.median(run.wall for run in self.floor)

    @property
    def empty_seconds(self) -> float:
        return statistics.median(run.wall for run in self.empty)

    @property
    def day_seconds(self) -> float:
        return statistics.median(run.wall for run in self.day)

    @property
    def data_cost(self) -> float:
        return self.day_seconds - self.empty_seconds


def warehouse_settings(dsn: str, qualified_table: str, warehouse: Path) -> dict[str, str]:
    """The ANALYTICS_* variables of a run reading `qualified_table` into `warehouse`."""
    return {
        "ANALYTICS_SOURCE_DSN": dsn,
        "ANALYTICS_SOURCE_TABLE": qualified_table,
        "ANALYTICS_WAREHOUSE_DIR": str(warehouse),
    }


def cli_days(dsn: str, qualified_table: str, day: dt.date, repeat: int, scratch: Path) -> CliDays:
    """`repeat` runs each of the floor, the empty day before `day`, and `day`, interleaved."""
    empty_day = day - dt.timedelta(days=1)
    warehouse = scratch.resolve() / "warehouse"
    cli = DagsterCli(
        scratch / "home", warehouse_settings(dsn, qualified_table, warehouse), scratch / "logs"
    )
    measure.pipeline_run(dsn, qualified_table, warehouse, empty_day, day)
    floor, empty, days = [], [], []
    for _ in range(repeat):
        floor.append(cli.materialize(empty_day, module=FLOOR_MODULE))
        empty.append(cli.materialize(empty_day))
        days.append(cli.materialize(day))
    return CliDays(floor, empty, days, cli.import_profile(FLOOR_MODULE), cli.import_profile())


def rows(days: CliDays, limit: float) -> list[Row]:
    """The data cost (against the limit), the fixed cost (against the floor) and the floor."""
    fixed = days.empty_seconds / days.floor_seconds
    data_ratio = ratio_of(days.data_cost, limit)
    return [
        Row(
            "whole day's data cost: a day's run minus an empty day's, CLI",
            f"{days.data_cost:.2f} s",
            days.data_cost,
            f"{days.day_seconds:.2f} s - {days.empty_seconds:.2f} s,"
            " wall time of dagster asset materialize",
            f"<= {DATA_COST_TARGET:.2f}x limit",
            # a tiny day's data costs less than the runs' noise
            at_most(data_ratio, DATA_COST_TARGET) if days.data_cost > 0 else "- (below the noise)",
        ),
        Row(
            "fixed cost: an empty day's run, CLI",
            f"{days.empty_seconds:.2f} s",
            note=f"{fixed:.2f}x the floor; profile below",
            target=f"<= {FIXED_COST_TARGET:.2f}x floor",
            verdict=at_most(fixed, FIXED_COST_TARGET),
        ),
        Row(
            "floor: one no-op partitioned asset, same CLI",
            f"{days.floor_seconds:.2f} s",
            note="bench/floor_definitions.py, in-process executor",
        ),
    ]


def _median_run(runs: Sequence[CliRun]) -> CliRun:
    middle = statistics.median(run.wall for run in runs)
    return min(runs, key=lambda run: abs(run.wall - middle))


def _line(part: str, seconds: Sequence[float | None], note: str) -> tuple[str, ...]:
    cells = ("-" if value is None else f"{value:.2f}" for value in seconds)
    return (part, *cells, note)


def _packages(load: ImportProfile, names: Sequence[str]) -> dict[str, float]:
    """Import seconds of the project, of each named library, and of every other module."""
    project = dict(project_and_libraries(load.packages, 0))["project modules"]
    named = {name: load.packages.get(name, 0.0) for name in names}
    other = sum(load.packages.values()) - project - sum(named.values())
    return {"project modules": project, **named, "other modules": other}


def profile_table(days: CliDays) -> str:
    """Where the seconds of an empty day, of a day of events and of the floor go.

    One run of each (the median). The day's column beside the empty day's shows which
    steps make the data cost; its imports and loading are the empty day's.
    """
    empty, day, floor = (_median_run(runs) for runs in (days.empty, days.day, days.floor))
    load, floor_load = days.empty_profile, days.floor_profile
    libraries = [name for name, _ in project_and_libraries(load.packages, TOP_LIBRARIES)[1:-1]]
    packages, floor_packages = _packages(load, libraries), _packages(floor_load, libraries)
    notes = {
        "project modules": "pipelines, assets, warehouse: the code location's own modules",
        "other modules": "every other package",
    }
    runs = (empty, day, floor)
    steps = sorted(
        set().union(*(run.steps for run in runs)),
        key=lambda key: -max(run.steps.get(key, 0.0) for run in runs),
    )
    lines = [
        _line("wall time of the command", [run.wall for run in runs], "process start to exit"),
        _line(
            "imports of the code location",
            [load.imports, None, floor_load.imports],
            "importing the module, in a child with python -X importtime",
        ),
        *(
            _line(
                f"- {name}",
                [seconds, None, floor_packages[name]],
                notes.get(name, "its modules' own import time"),
            )
            for name, seconds in packages.items()
        ),
        _line(
            "loading the definitions",
            [load.resolution, None, floor_load.resolution],
            "the warehouse's @definitions call, repository, selection '*', implicit asset job",
        ),
        _line(
            "before the run, besides loading",
            [
                empty.before_run - load.imports - load.resolution,
                day.before_run - load.imports - load.resolution,
                floor.before_run - floor_load.imports - floor_load.resolution,
            ],
            "interpreter, instance, run and plan snapshots: process start to the run's start",
        ),
        _line(
            "the run, as Dagster records it",
            [run.duration for run in runs],
            "run start to success",
        ),
        *(
            _line(f"- step {step}", [run.steps.get(step) for run in runs], "step start to end")
            for step in steps
        ),
        _line(
            "- between the steps",
            [run.duration - sum(run.steps.values()) for run in runs],
            "the run's duration minus its steps: Dagster's own bookkeeping",
        ),
        _line(
            "after the run",
            [run.after_run for run in runs],
            "the run's success to the process's exit",
        ),
    ]
    header = ("part of the run, seconds", "empty day", "day of events", "floor", "note")
    return table(header, lines, numeric=3)
