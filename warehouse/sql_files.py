"""Loads the project's SQL, which lives in `sql/` as one file per statement."""

from __future__ import annotations

from functools import cache
from pathlib import Path

from psycopg import sql

from warehouse.settings import parse_qualified_table

SQL_DIR = Path(__file__).resolve().parents[1] / "sql"


@cache
def load_sql(name: str) -> str:
    """Returns the text of `sql/<name>.sql`, e.g. `load_sql("daily/daily_metrics")`."""
    return (SQL_DIR / f"{name}.sql").read_text()


def source_statement(name: str, qualified_table: str) -> sql.Composed:
    """`sql/<name>.sql` for psycopg, with `{source_table}` and `{created_at_index}` quoted."""
    schema, table = parse_qualified_table(qualified_table)
    return sql.SQL(load_sql(name)).format(  # type: ignore[arg-type]
        source_table=sql.Identifier(schema, table),
        created_at_index=sql.Identifier(f"{table}_created_at_idx"),
    )
