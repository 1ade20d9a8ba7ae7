"""The pipeline's DuckDB: one configuration for every connection that computes a table.

Each connection is an in-memory database capped at COMPUTE_MEMORY_LIMIT, spilling what
does not fit to a temporary folder: DuckDB otherwise takes up to 80% of the machine's
memory, so a 10M-event day or the three UTC days behind a local day would set the
process's peak by the machine's size rather than by the work (issue 13: peak RSS of a
day and of a year's backfill at most 1 GiB). UUIDs leave DuckDB as Arrow's uuid type,
which the Iceberg tables store as uuid.
"""

from __future__ import annotations

import tempfile
from pathlib import Path
from typing import Any

import duckdb
import psutil

# With Python, pyarrow and Dagster (~300 MiB) the process stays under 1 GiB.
COMPUTE_MEMORY_LIMIT = "512MiB"
# Growth of the process since its databases opened beyond which a step closes them.
RETAINED_MEMORY_LIMIT = 64 * 2**20
SPILL_DIRECTORY = Path(tempfile.gettempdir()) / "analytics-warehouse-duckdb-spill"


def compute_connection(setup: str = "", **config: Any) -> duckdb.DuckDBPyConnection:
    """A new connection to the in-memory DuckDB with the pipeline's memory cap, plus any
    `config` given, where `setup` (SQL creating macros, say) has run once; the database
    stays open until `release_compute_memory` closes it.

    Opening an in-memory database costs about 20 ms and creating the catalog's macros
    70 ms more, a connection to an open one 0.2 ms, and a day's run opens some twenty. A
    connection's temporary tables, views and variables are its own and go when it
    closes; settings belong to the database, so each configuration has a database of its
    own and nobody changes them with SET.
    """
    settings = {
        "memory_limit": COMPUTE_MEMORY_LIMIT,
        "temp_directory": str(SPILL_DIRECTORY),
        # UUIDs leave as text, the type the Iceberg tables store them in
        "arrow_lossless_conversion": False,
        **config,
    }
    key = (setup, tuple(sorted(settings.items())))
    database = _DATABASES.get(key)
    if database is None:
        if not _DATABASES:
            _RESIDENT_BEFORE[0] = _resident_bytes()
        database = _DATABASES[key] = duckdb.connect(config=settings)
        if setup:
            database.execute(setup)
    return database.cursor()


def release_compute_memory() -> None:
    """Closes the process's databases if it grew by more than RETAINED_MEMORY_LIMIT since
    the first of them opened; the next connection opens them again.

    DuckDB keeps the memory a database once used until the database closes (a step
    computing a large day would leave ~500 MiB resident for every later step, and a
    range's days would pile up in one step), so every step calls this when it starts,
    after each day it publishes and when it ends: after a large day the databases close,
    and small days (an empty day's run, most steps of a day) keep them and their macros
    instead of paying ~90 ms to create them again.
    """
    if _DATABASES and _resident_bytes() - _RESIDENT_BEFORE[0] > RETAINED_MEMORY_LIMIT:
        close_compute_databases()


def close_compute_databases() -> None:
    """Closes the process's databases; the next connection opens them again."""
    while _DATABASES:
        _, database = _DATABASES.popitem()
        database.close()


def _resident_bytes() -> int:
    return int(psutil.Process().memory_info().rss)


_DATABASES: dict[tuple[str, tuple[tuple[str, Any], ...]], duckdb.DuckDBPyConnection] = {}
# the process's resident memory when the first open database was opened
_RESIDENT_BEFORE = [0]
