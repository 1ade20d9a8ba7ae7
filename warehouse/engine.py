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

# With Python, pyarrow and Dagster (~300 MiB) the process stays under 1 GiB.
COMPUTE_MEMORY_LIMIT = "512MiB"
SPILL_DIRECTORY = Path(tempfile.gettempdir()) / "analytics-warehouse-duckdb-spill"


def compute_connection(**config: Any) -> duckdb.DuckDBPyConnection:
    """A new in-memory DuckDB with the pipeline's memory cap, plus any `config` given."""
    return duckdb.connect(
        config={
            "memory_limit": COMPUTE_MEMORY_LIMIT,
            "temp_directory": str(SPILL_DIRECTORY),
            "arrow_lossless_conversion": True,
            **config,
        }
    )
