"""Computes one UTC day of a daily table from that day's published raw events, with DuckDB."""

from __future__ import annotations

import datetime as dt

import pyarrow as pa

from warehouse.costs import register_priced_events
from warehouse.engine import compute_connection
from warehouse.lakehouse import Lakehouse
from warehouse.sql_files import load_sql
from warehouse.tables import DATA_QUALITY, EVENTS, ORGANIZATION_TIMEZONES, TableSpec


class MissingEventsError(RuntimeError):
    """The day's raw events are not in the lakehouse, but the table holds rows for it."""


def compute_daily_table(lakehouse: Lakehouse, spec: TableSpec, day: dt.date) -> pa.Table:
    """Runs `sql/daily/<table>.sql` over the day's `events` partition; returns its rows.

    The SQL also sees `model_prices` and `priced_events` (the day's events with their cost).
    """
    if lakehouse.published_rows(EVENTS, day) is None and lakehouse.published_rows(spec, day):
        # an empty day has no files either; only a table with rows to lose refuses
        raise MissingEventsError(
            f"The raw events of {day} are not in the lake (retired or never extracted): "
            f"{spec.name} keeps its published rows; materialise `events` for {day} first."
        )
    with compute_connection() as connection:
        # data_quality also counts the day's unknown time zones (metrics.md, section 7)
        extra = [ORGANIZATION_TIMEZONES] if spec is DATA_QUALITY else []
        lakehouse.register(connection, day, day, tables=[EVENTS, *extra])
        register_priced_events(lakehouse, connection)
        return connection.sql(load_sql(f"daily/{spec.name}"), params={"day": day}).to_arrow_table()
