"""The peer: dlt's `sql_database` source loading the same day to local Parquet.

dlt is the common off-the-shelf way to copy a PostgreSQL table to a lake, so it is
the yardstick for whether our extraction is worth its own code. It is an optional
dependency (`pip install -e '.[bench]'`); without it the peer is reported as not installed.
"""

from __future__ import annotations

import datetime as dt
import importlib.util
import os
import tempfile
import time
from pathlib import Path

from psycopg.conninfo import conninfo_to_dict

from warehouse.settings import parse_qualified_table


def peer_installed() -> bool:
    return importlib.util.find_spec("dlt") is not None


def sqlalchemy_url(dsn: str) -> str:
    """The libpq DSN as the SQLAlchemy URL dlt wants (psycopg2 driver)."""
    from sqlalchemy.engine import URL

    params = conninfo_to_dict(dsn)
    return URL.create(
        "postgresql+psycopg2",
        username=params.get("user"),
        password=params.get("password"),
        host=params.get("host"),
        port=int(params["port"]) if params.get("port") else None,
        database=params.get("dbname"),
    ).render_as_string(hide_password=False)


def load_day_with_dlt(dsn: str, qualified_table: str, day: dt.date) -> float:
    """Seconds dlt takes to load the day's events (half-open window) into Parquet files."""
    import dlt
    from dlt.destinations import filesystem
    from dlt.sources.sql_database import sql_database

    # dlt warns on every run that it serialises jsonb in Python; the table says so once.
    os.environ.setdefault("RUNTIME__LOG_LEVEL", "ERROR")
    schema, table = parse_qualified_table(qualified_table)
    window = dlt.sources.incremental(
        "created_at",
        initial_value=dt.datetime.combine(day, dt.time()),
        end_value=dt.datetime.combine(day + dt.timedelta(days=1), dt.time()),
        range_start="closed",
        range_end="open",
    )
    with tempfile.TemporaryDirectory(prefix="bench-dlt-") as folder:
        started = time.perf_counter()
        source = sql_database(
            sqlalchemy_url(dsn), schema=schema, table_names=[table], backend="pyarrow"
        )
        getattr(source, table).apply_hints(incremental=window)
        pipeline = dlt.pipeline(
            pipeline_name="bench_peer",
            pipelines_dir=str(Path(folder) / "pipelines"),
            destination=filesystem(bucket_url=str(Path(folder) / "lake")),
            dataset_name="events",
        )
        pipeline.run(source, loader_file_format="parquet")
        return time.perf_counter() - started
