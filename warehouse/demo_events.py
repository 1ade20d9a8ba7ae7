"""Creates the source table and fills it with demo traffic.

Used by the demo, the tests and the benchmark; the pipeline itself never writes to
the source. Seeding is one `INSERT ... SELECT` over `generate_series`, so a million
events take seconds, not the minutes of row-by-row inserts.
"""

from __future__ import annotations

import datetime as dt

import psycopg
from psycopg import sql

from warehouse.settings import parse_qualified_table
from warehouse.sql_files import load_sql, source_statement

DEMO_TIMEZONES_TABLE_NAME = "organization_timezones"


def create_events_table(dsn: str, qualified_table: str) -> None:
    """Applies the shipped DDL of `analytics_events` (idempotent)."""
    schema, _ = parse_qualified_table(qualified_table)
    with psycopg.connect(dsn, autocommit=True) as connection:
        connection.execute(sql.SQL("create schema if not exists {}").format(sql.Identifier(schema)))
        connection.execute(source_statement("source/create_analytics_events", qualified_table))


def seed_demo_events(
    dsn: str,
    qualified_table: str,
    start_date: dt.date,
    days: int,
    events_per_day: int,
    seed: float = 0.42,
) -> int:
    """Inserts `events_per_day` demo events for each of `days` days; returns the row count."""
    with psycopg.connect(dsn) as connection:
        connection.execute("select setseed(%s)", (seed,))
        cursor = connection.execute(
            source_statement("demo/seed_demo_events", qualified_table),
            {"start_date": start_date, "days": days, "events_per_day": events_per_day},
        )
        inserted = cursor.rowcount
        table = sql.Identifier(*parse_qualified_table(qualified_table))
        connection.execute(sql.SQL("analyze {}").format(table))
    return inserted


def create_demo_timezones(dsn: str, events_table: str) -> str:
    """The platform's time zone table of the demo's organisations, beside the events.

    Returns its `schema.table`, for ANALYTICS_ORG_TIMEZONES_TABLE (idempotent).
    """
    schema, _ = parse_qualified_table(events_table)
    table = f"{schema}.{DEMO_TIMEZONES_TABLE_NAME}"
    statement = sql.SQL(load_sql("demo/create_organization_timezones")).format(  # type: ignore[arg-type]
        timezones_table=sql.Identifier(schema, DEMO_TIMEZONES_TABLE_NAME)
    )
    with psycopg.connect(dsn, autocommit=True) as connection:
        connection.execute(statement)
    return table
