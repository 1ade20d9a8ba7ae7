"""The added cost of the local tables (docs/contract.md, section 7), as a ratio to the UTC tables.

Seeds N demo events a day for three UTC days, with the demo's organisation time zones,
loads them into a scratch lakehouse, then times, for the middle day, each of the five daily
tables that have a local twin (`compute_daily_tables`, one read of the UTC day) against
its twin (`compute_local_tables`, one read of the three UTC days), and the five together
as the pipeline computes them: each timing opens a compute connection and registers the
lake's tables in it as the step does for a day (`assets/daily_tables.py`,
`assets/timezones.py`). Median of R runs.

    .venv/bin/python -m bench.timezones --events-per-day 200000 --repeat 3
"""

from __future__ import annotations

import argparse
import datetime as dt
import statistics
import tempfile
import time
import uuid
from collections.abc import Sequence
from pathlib import Path

import psycopg
import pyarrow as pa

from assets.resources import LakehouseResource
from warehouse.daily_tables import compute_daily_tables
from warehouse.demo_events import create_demo_timezones, create_events_table, seed_demo_events
from warehouse.embedded_postgres import local_or_embedded_postgres
from warehouse.engine import compute_connection
from warehouse.source import extract_events_for_day
from warehouse.storage.catalog import Lakehouse
from warehouse.storage.reading import register_tables
from warehouse.storage.writing import commit_partitions, stage_partition
from warehouse.tables import EVENTS, LOCAL_TWINS, MODEL_PRICES, ORGANIZATION_TIMEZONES, TableSpec
from warehouse.timezones import (
    compute_local_tables,
    compute_organization_timezones,
    configured_zones,
    read_org_timezones,
)

FIRST_DAY = dt.date(2025, 3, 8)
_ONE_DAY = dt.timedelta(days=1)


def replace_partition(lakehouse: Lakehouse, spec: TableSpec, day: dt.date, rows: pa.Table) -> None:
    """Publishes `rows` as the table's partition `day`, staged then committed (no settings)."""
    commit_partitions(lakehouse, spec, [stage_partition(lakehouse, spec, day, rows, {})], {})


def organization_timezones(lakehouse: Lakehouse, day: dt.date, zones: pa.Table) -> pa.Table:
    """The zones of the organisations with events on `day`, as the step computes them."""
    with compute_connection() as connection:
        register_tables(lakehouse, connection, [EVENTS], day, day)
        connection.register("configured_zones", zones)
        return compute_organization_timezones(connection, day)


def utc_tables(lakehouse: Lakehouse, specs: Sequence[TableSpec], day: dt.date) -> None:
    """The daily tables of UTC day `day`, from the lake as the daily_tables step reads it."""
    with compute_connection() as connection:
        register_tables(lakehouse, connection, [EVENTS, ORGANIZATION_TIMEZONES], day, day)
        register_tables(lakehouse, connection, [MODEL_PRICES])
        compute_daily_tables(connection, specs, day)


def local_tables(lakehouse: Lakehouse, specs: Sequence[TableSpec], day: dt.date) -> None:
    """The local tables of local day `day`, from the lake's UTC days day-1 .. day+1 as the
    local_tables step reads them."""
    with compute_connection() as connection:
        register_tables(
            lakehouse, connection, [EVENTS, ORGANIZATION_TIMEZONES], day - _ONE_DAY, day + _ONE_DAY
        )
        register_tables(lakehouse, connection, [MODEL_PRICES])
        compute_local_tables(connection, specs, day)


def _median_seconds(run: object, repeat: int) -> float:
    timings = []
    for _ in range(repeat):
        start = time.perf_counter()
        run()  # type: ignore[operator]
        timings.append(time.perf_counter() - start)
    return statistics.median(timings)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--events-per-day", type=int, default=200_000)
    parser.add_argument("--repeat", type=int, default=3)
    options = parser.parse_args()
    with tempfile.TemporaryDirectory() as scratch:
        dsn = local_or_embedded_postgres(Path(scratch) / "postgres")
        schema = f"bench_{uuid.uuid4().hex[:12]}"
        table = f"{schema}.analytics_events"
        try:
            create_events_table(dsn, table)
            seed_demo_events(dsn, table, FIRST_DAY, 3, options.events_per_day)
            zones = configured_zones(read_org_timezones(dsn, create_demo_timezones(dsn, table)))
            lakehouse = LakehouseResource(location=str(Path(scratch) / "warehouse")).open()
            days = [FIRST_DAY + dt.timedelta(days=offset) for offset in range(3)]
            for day in days:
                extracted = extract_events_for_day(dsn, table, day)
                replace_partition(lakehouse, EVENTS, day, extracted.rows)
                replace_partition(
                    lakehouse,
                    ORGANIZATION_TIMEZONES,
                    day,
                    organization_timezones(lakehouse, day, zones),
                )
            day = days[1]
            print(
                f"{options.events_per_day:,} events a day; local day {day}, median of "
                f"{options.repeat}"
            )
            print("| table | UTC s | local s | local / UTC |\n|---|---|---|---|")
            rows = [(local.name, [utc], [local]) for local, utc in LOCAL_TWINS.items()]
            rows.append(("all five, one step", list(LOCAL_TWINS.values()), list(LOCAL_TWINS)))
            for name, utc_specs, local_specs in rows:
                utc_seconds = _median_seconds(
                    lambda utc_specs=utc_specs: utc_tables(lakehouse, utc_specs, day),
                    options.repeat,
                )
                local_seconds = _median_seconds(
                    lambda local_specs=local_specs: local_tables(lakehouse, local_specs, day),
                    options.repeat,
                )
                print(
                    f"| {name} | {utc_seconds:.2f} | {local_seconds:.2f} |"
                    f" {local_seconds / utc_seconds:.1f} |"
                )
        finally:
            with psycopg.connect(dsn, autocommit=True) as connection:
                connection.execute(f"drop schema if exists {schema} cascade")


if __name__ == "__main__":
    main()
