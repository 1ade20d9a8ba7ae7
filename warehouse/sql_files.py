"""Loads the project's SQL, which lives in `sql/` as one file per statement."""

from __future__ import annotations

from functools import cache
from pathlib import Path

SQL_DIR = Path(__file__).resolve().parents[1] / "sql"


@cache
def load_sql(name: str) -> str:
    """Returns the text of `sql/<name>.sql`, e.g. `load_sql("daily/daily_metrics")`."""
    return (SQL_DIR / f"{name}.sql").read_text()
