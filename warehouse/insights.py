"""Computes insight tables (keyed by as-of date) for a range of as-of dates in one pass."""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterator

import pyarrow as pa
import pyarrow.compute as pc

from warehouse.lakehouse import Lakehouse
from warehouse.sql_files import load_sql
from warehouse.tables import DAILY_TABLES, TableSpec
from warehouse.views import connect

# The longest lookback of an insight: a 30-day window against the 30 days before it.
LOOKBACK_DAYS = 2 * 30 - 1


def compute_insight_partitions(
    lakehouse: Lakehouse, spec: TableSpec, as_of_dates: list[dt.date]
) -> Iterator[tuple[dt.date, pa.Table]]:
    """Runs `sql/insights/<table>.sql` once over the range; yields each as-of date's rows.

    The computation reads the lakehouse through the same views and macros analysts use,
    so the published tables and the macros agree by construction.
    """
    first, last = min(as_of_dates), max(as_of_dates)
    window_start = first - dt.timedelta(days=LOOKBACK_DAYS)
    with connect(lakehouse, window_start, last, tables=DAILY_TABLES) as connection:
        connection.execute("set arrow_lossless_conversion = true")
        computed = connection.sql(
            f"{load_sql(f'insights/{spec.name}')} order by {', '.join(spec.key)}",
            params={"first_as_of": first, "last_as_of": last},
        ).to_arrow_table()
    for as_of_date in as_of_dates:
        yield as_of_date, computed.filter(pc.equal(computed["as_of_date"], as_of_date))
