"""The daily tables of one UTC day, computed from that day's raw events with DuckDB.

A functional core: `compute_daily_tables` reads the relations `events`, `model_prices`
and `organization_timezones` of the connection it is given, whoever registered them (the
`daily_tables` asset from the lakehouse, the fast tests from Arrow tables). The day's
events are priced and copied into DuckDB once (`sql/daily/load_day.sql`); each table's SQL
in `sql/daily/` then runs over that copy. The local tables run the same SQL over a local
day the same way (`warehouse/timezones.py`).
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping, Sequence

import duckdb
import pyarrow as pa

from warehouse.sql_files import load_sql
from warehouse.tables import TableSpec


def compute_daily_tables(
    connection: duckdb.DuckDBPyConnection, specs: Sequence[TableSpec], day: dt.date
) -> dict[TableSpec, pa.Table]:
    """Each table's rows of `day`, from `sql/daily/<table>.sql` over the day's events."""
    statements = {spec: load_sql(f"daily/{spec.name}") for spec in specs}
    return compute_over_day(connection, statements, day)


def compute_over_day(
    connection: duckdb.DuckDBPyConnection,
    statements: Mapping[TableSpec, str],
    day: dt.date,
    parameters: Mapping[str, object] | None = None,
) -> dict[TableSpec, pa.Table]:
    """Prices the connection's `events` and copies them once, then runs each statement over
    that copy (the SQL sees `events`, `priced_events` and `model_prices`; `$day` and the
    `parameters`)."""
    connection.execute(load_sql("costs/priced_events"))
    connection.execute(load_sql("daily/load_day"))
    bound = {"day": day, **(parameters or {})}
    return {
        spec: connection.sql(statement, params=bound).to_arrow_table()
        for spec, statement in statements.items()
    }
