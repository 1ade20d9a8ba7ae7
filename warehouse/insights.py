"""Computes insight tables (keyed by as-of date) for a range of as-of dates, a week at a time.

One query per chunk of as-of dates, not one per date (each would re-read its whole
lookback) nor one for the whole range: the comparison joins every as-of date with every
day of its windows, so a year computed in one query held ~10 GiB (issue 13). A chunk
reads only its own lookback's partitions, so memory is bounded by the chunk and the
cost of one new as-of date does not grow with the warehouse's history.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterator
from dataclasses import dataclass

import pyarrow as pa
import pyarrow.compute as pc

from warehouse.lakehouse import Lakehouse
from warehouse.sql_files import load_sql
from warehouse.tables import (
    AGENT_METRICS,
    DAILY_ACTIVE_USERS,
    DAILY_MEASUREMENTS,
    DAILY_METRICS,
    PERIOD_COMPARISON,
    TOP_AGENTS,
    TableSpec,
)
from warehouse.views import connect


@dataclass(frozen=True)
class Insight:
    """An insight table, the daily tables its SQL reads, and how many days of them, up to
    and including its as-of date, one as-of date reads."""

    spec: TableSpec
    reads: tuple[TableSpec, ...]
    window_days: int


INSIGHTS = (
    # a 30-day period against the 30 days before it
    Insight(
        PERIOD_COMPARISON,
        (DAILY_METRICS, DAILY_ACTIVE_USERS, AGENT_METRICS, DAILY_MEASUREMENTS),
        2 * 30,
    ),
    Insight(TOP_AGENTS, (AGENT_METRICS, DAILY_MEASUREMENTS), 30),
)
# The longest lookback of an insight: the days before an as-of date it reads.
LOOKBACK_DAYS = max(insight.window_days for insight in INSIGHTS) - 1
# As-of dates per query: a chunk re-reads its insight's lookback (59 days at most), so a
# week costs ~1.1x the days a single pass would read, and holds a week of rows in memory.
AS_OF_DATES_PER_QUERY = 7


def as_of_chunks(
    as_of_dates: list[dt.date], size: int = AS_OF_DATES_PER_QUERY
) -> Iterator[list[dt.date]]:
    """The dates in ascending order, `size` consecutive ones (or fewer, at the end) at a time."""
    ordered = sorted(as_of_dates)
    for start in range(0, len(ordered), size):
        yield ordered[start : start + size]


def compute_insight_partitions(
    lakehouse: Lakehouse, insight: Insight, as_of_dates: list[dt.date]
) -> Iterator[tuple[dt.date, pa.Table]]:
    """Runs `sql/insights/<table>.sql` per chunk of as-of dates; yields each date's rows.

    The computation reads the lakehouse through the same views and macros analysts use,
    so the published tables and the macros agree by construction. Only the tables the
    insight reads are listed, and only their windows' days: every table listed is a
    catalog load whose metadata grows with the table's history.
    """
    for chunk in as_of_chunks(as_of_dates):
        computed = _compute_chunk(lakehouse, insight, chunk[0], chunk[-1])
        for as_of_date in chunk:
            yield as_of_date, computed.filter(pc.equal(computed["as_of_date"], as_of_date))


def _compute_chunk(
    lakehouse: Lakehouse, insight: Insight, first: dt.date, last: dt.date
) -> pa.Table:
    window_start = first - dt.timedelta(days=insight.window_days - 1)
    spec = insight.spec
    with connect(
        lakehouse, window_start, last, tables=insight.reads, uuids_as_arrow_uuid=True
    ) as connection:
        return connection.sql(
            f"{load_sql(f'insights/{spec.name}')} order by {', '.join(spec.key)}",
            params={"first_as_of": first, "last_as_of": last},
        ).to_arrow_table()
