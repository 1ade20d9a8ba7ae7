"""The benchmark's measurements, each timing one way of moving one UTC day out of PostgreSQL.

Every function returns seconds for a single run; the runner takes medians. Dagster runs
are timed by the run duration the Dagster instance records (run start to run success),
so process start-up and import time are not counted.
"""

from __future__ import annotations

import datetime as dt
import functools
import sys
import tempfile
import time
from pathlib import Path

import psycopg
from dagster import DagsterInstance, Definitions, materialize

from assets.partitions import partition_range_tags
from assets.resources import LakehouseResource, SourceResource
from bench.dagster_cli import peak_rss_of
from pipelines.configuration import Configuration, load_configuration
from pipelines.definitions import build_definitions
from warehouse.source import (
    extract_events_for_day,
    quoted_table,
    read_only_conninfo,
    utc_day_window,
)
from warehouse.sql_files import load_sql
from warehouse.storage.reading import listing
from warehouse.storage.writing import commit_partitions, stage_partition
from warehouse.tables import EVENTS

# Dagster's console logger writes every step event; the benchmark prints only its table.
_QUIET_RUN_CONFIG = {"loggers": {"console": {"config": {"log_level": "ERROR"}}}}


def copy_limit(dsn: str, qualified_table: str, day: dt.date) -> float:
    """Seconds for PostgreSQL's binary COPY of the day's rows, drained and discarded.

    No client can read the day faster than the server produces and sends it. The COPY
    runs the extraction's own select with its window bound the same way, so the server
    does the same work with the same plan (literal bounds would let the planner pick a
    sequential scan where the extraction gets a bitmap scan, and flatter the ratio).
    """
    select = load_sql("extract/select_events_for_day").format(
        source_table=quoted_table(qualified_table)
    )
    window = tuple(bound.isoformat() for bound in utc_day_window(day))
    started = time.perf_counter()
    with psycopg.connect(read_only_conninfo(dsn)) as connection:
        connection.execute(
            "select set_config('analytics.window_start', %s, true),"
            " set_config('analytics.window_end', %s, true)",
            window,
        )
        with (
            connection.cursor() as cursor,
            cursor.copy(f"copy ({select}) to stdout (format binary)") as copy,
        ):
            for _ in copy:
                pass
    return time.perf_counter() - started


@functools.cache
def default_configuration() -> Configuration:
    """Every setting at its default: the runs get their source and warehouse as resources."""
    return load_configuration({})


@functools.cache
def warehouse_definitions() -> Definitions:
    """The code location the runs are built from, as `pipelines.definitions` loads it."""
    return build_definitions(default_configuration())


def local_warehouse(folder: Path) -> LakehouseResource:
    """The lakehouse resource of a local warehouse in `folder`, with its SQLite catalog."""
    location = str(folder)
    return LakehouseResource(location=location, local_dir=location)


def extraction(dsn: str, qualified_table: str, day: dt.date) -> tuple[float, int, int]:
    """Seconds to extract the day and commit it as its `events` partition, with its rows and bytes.

    The same two steps as the events asset (`extract_events_for_day` streaming into
    `stage_partition`, then `commit_partitions`) into a fresh warehouse, without
    Dagster and the audits.
    """
    with tempfile.TemporaryDirectory(prefix="bench-extract-") as folder:
        lakehouse = local_warehouse(Path(folder)).open()
        lakehouse.table(EVENTS)  # the catalog and the empty table, as a daily run finds them
        started = time.perf_counter()
        extracted = extract_events_for_day(
            dsn,
            qualified_table,
            day,
            write=functools.partial(stage_partition, lakehouse, EVENTS, day, record={}),
        )
        commit_partitions(lakehouse, EVENTS, [extracted.rows], {})
        seconds = time.perf_counter() - started
        files = listing(lakehouse, EVENTS, day, day).data_files
        size = sum(Path(path.removeprefix("file://")).stat().st_size for path in files)
        return seconds, extracted.rows.num_rows, size


def pipeline_run(
    dsn: str, qualified_table: str, warehouse_dir: Path, first_day: dt.date, last_day: dt.date
) -> float:
    """Dagster's recorded duration of one run of every asset over [first_day, last_day].

    One day is a plain partitioned run; several days are a single-run backfill, as the
    Dagster UI launches it for assets with `BackfillPolicy.single_run()`.
    """
    instance = DagsterInstance.ephemeral()
    defs = warehouse_definitions()
    resources = {
        **default_configuration().resources(),
        "source": SourceResource(dsn=dsn, table=qualified_table),
        "lakehouse": local_warehouse(warehouse_dir),
    }
    if first_day == last_day:
        selection = {"partition_key": first_day.isoformat()}
    else:
        selection = {"tags": partition_range_tags(first_day, last_day)}
    result = materialize(
        list(defs.assets or []),
        resources=resources,
        instance=instance,
        run_config=_QUIET_RUN_CONFIG,
        **selection,  # type: ignore[arg-type]
    )
    stats = instance.get_run_stats(result.run_id)
    if stats.start_time is None or stats.end_time is None:
        raise RuntimeError(f"Dagster recorded no start or end for run {result.run_id}")
    return stats.end_time - stats.start_time


def whole_day(
    dsn: str, qualified_table: str, day: dt.date, warehouse_dir: Path | None = None
) -> float:
    """Dagster's duration of the day's run, in `warehouse_dir` or else a fresh warehouse.

    A daily run normally finds the warehouse and its catalog already there; the first run
    into a fresh one also builds the catalog once per new table.
    """
    if warehouse_dir is not None:
        return pipeline_run(dsn, qualified_table, warehouse_dir, day, day)
    with tempfile.TemporaryDirectory(prefix="bench-warehouse-") as folder:
        return pipeline_run(dsn, qualified_table, Path(folder), day, day)


def repeated_whole_day(dsn: str, qualified_table: str, day: dt.date, repeat: int) -> list[float]:
    """Durations of `repeat` runs of the same day into one warehouse (a re-run replaces it)."""
    with tempfile.TemporaryDirectory(prefix="bench-warehouse-") as folder:
        return [whole_day(dsn, qualified_table, day, Path(folder)) for _ in range(repeat)]


def day_range(dsn: str, qualified_table: str, first_day: dt.date, days: int) -> tuple[float, float]:
    """Seconds for `days` days as one single-run backfill, and as that many one-day runs."""
    last_day = first_day + dt.timedelta(days=days - 1)
    with tempfile.TemporaryDirectory(prefix="bench-warehouse-") as folder:
        ranged = pipeline_run(dsn, qualified_table, Path(folder), first_day, last_day)
    with tempfile.TemporaryDirectory(prefix="bench-warehouse-") as folder:
        singles = sum(
            pipeline_run(dsn, qualified_table, Path(folder), day, day)
            for day in (first_day + dt.timedelta(days=offset) for offset in range(days))
        )
    return ranged, singles


def whole_day_peak_rss(dsn: str, qualified_table: str, day: dt.date) -> int:
    """Peak resident memory in bytes of a fresh process that runs the whole day.

    A child process, so the seeding and earlier measurements in this one do not count;
    its own rusage (`os.wait4`), since `RUSAGE_CHILDREN` would hold the largest of every
    child waited for, the command-line runs included.
    """
    script = (
        "import datetime, sys; from bench.measure import whole_day;"
        " whole_day(sys.argv[1], sys.argv[2], datetime.date.fromisoformat(sys.argv[3]))"
    )
    with tempfile.TemporaryDirectory(prefix="bench-rss-") as folder:
        log = Path(folder) / "whole-day.log"
        return peak_rss_of([sys.executable, "-c", script, dsn, qualified_table, str(day)], log)
