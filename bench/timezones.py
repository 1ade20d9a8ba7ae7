"""The added cost of the local tables (metrics.md, section 7), as a ratio to the UTC tables.

Seeds N demo events a day for three UTC days, with the demo's organisation time zones,
loads them into a scratch lakehouse, then times, for the middle day, each of the five daily
tables that have a local twin (`compute_daily_tables`, one read of the UTC day) against
its twin (`compute_local_tables`, one read of the three UTC days), and the five together
as the pipeline computes them. Median of R runs.

    .venv/bin/python -m bench.timezones --events-per-day 200000 --repeat 3
"""

from __future__ import annotations

import argparse
import datetime as dt
import statistics
import tempfile
import time
import uuid
from pathlib import Path

import psycopg

from pipelines.demo import local_or_embedded_postgres
from warehouse.daily_tables import compute_daily_tables
from warehouse.demo_events import create_demo_timezones, create_events_table, seed_demo_events
from warehouse.lakehouse import Lakehouse
from warehouse.settings import default_catalog_uri
from warehouse.source import extract_events_for_day
from warehouse.tables import EVENTS, LOCAL_TWINS, ORGANIZATION_TIMEZONES
from warehouse.timezones import (
    compute_local_tables,
    compute_organization_timezones,
    configured_zones,
    read_org_timezones,
)

FIRST_DAY = dt.date(2025, 3, 8)


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
            location = str(Path(scratch) / "warehouse")
            lakehouse = Lakehouse(location, default_catalog_uri(location), {})
            days = [FIRST_DAY + dt.timedelta(days=offset) for offset in range(3)]
            for day in days:
                lakehouse.replace_partition(
                    EVENTS, day, extract_events_for_day(dsn, table, day).rows
                )
                lakehouse.replace_partition(
                    ORGANIZATION_TIMEZONES,
                    day,
                    compute_organization_timezones(lakehouse, day, zones),
                )
            day = days[1]
            print(
                f"{options.events_per_day:,} events a day; local day {day}, median of "
                f"{options.repeat}"
            )
            print("| table | UTC s | local s | local / UTC |\n|---|---|---|---|")
            rows = [(local.name, [utc], [local]) for local, utc in LOCAL_TWINS.items()]
            rows.append(("all five, one step", list(LOCAL_TWINS.values()), list(LOCAL_TWINS)))
            for name, utc_tables, local_tables in rows:
                utc_seconds = _median_seconds(
                    lambda utc_tables=utc_tables: compute_daily_tables(lakehouse, utc_tables, day),
                    options.repeat,
                )
                local_seconds = _median_seconds(
                    lambda local_tables=local_tables: compute_local_tables(
                        lakehouse, local_tables, day
                    ),
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
