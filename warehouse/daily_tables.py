"""Computes one UTC day of the daily tables from that day's published raw events, with DuckDB.

The day's events are read from the lake once and kept in DuckDB (`sql/daily/load_day.sql`);
each table's SQL in `sql/daily/` then runs over that copy. The local tables run the same
SQL over a local day the same way (`warehouse/timezones.py`).
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping, Sequence

import duckdb
import pyarrow as pa

from warehouse.costs import register_priced_events
from warehouse.engine import compute_connection
from warehouse.lakehouse import Lakehouse
from warehouse.sql_files import load_sql
from warehouse.tables import DATA_QUALITY, EVENTS, ORGANIZATION_TIMEZONES, TableSpec


class MissingEventsError(RuntimeError):
    """The day's raw events are not in the lakehouse, but a table holds rows for it."""


def compute_daily_tables(
    lakehouse: Lakehouse, specs: Sequence[TableSpec], day: dt.date
) -> dict[TableSpec, pa.Table]:
    """Each table's rows of `day`, from `sql/daily/<table>.sql` over the day's events.

    The SQL sees `events`, `priced_events` (the events with their cost) and `model_prices`.
    """
    if lakehouse.published_rows(EVENTS, day) is None:
        # an empty day has no files either; only a table with rows to lose refuses
        holding = [spec.name for spec in specs if lakehouse.published_rows(spec, day)]
        if holding:
            raise MissingEventsError(
                f"The raw events of {day} are not in the lake (retired or never extracted): "
                f"{', '.join(holding)} {'keeps its' if len(holding) == 1 else 'keep their'} "
                f"published rows; materialise `events` for {day} first."
            )
    with compute_connection() as connection:
        # data_quality also counts the day's unknown time zones (metrics.md, section 7)
        extra = [ORGANIZATION_TIMEZONES] if DATA_QUALITY in specs else []
        lakehouse.register(connection, day, day, tables=[EVENTS, *extra])
        statements = {spec: load_sql(f"daily/{spec.name}") for spec in specs}
        return compute_over_day(lakehouse, connection, statements, day)


def compute_over_day(
    lakehouse: Lakehouse,
    connection: duckdb.DuckDBPyConnection,
    statements: Mapping[TableSpec, str],
    day: dt.date,
) -> dict[TableSpec, pa.Table]:
    """Loads the connection's `events` view once, priced, then runs each statement over it."""
    register_priced_events(lakehouse, connection)
    connection.execute(load_sql("daily/load_day"))
    return {
        spec: connection.sql(statement, params={"day": day}).to_arrow_table()
        for spec, statement in statements.items()
    }
