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

import duckdb
import pyarrow as pa
import pyarrow.compute as pc

from warehouse.completeness import complete_runs
from warehouse.sql_files import load_sql
from warehouse.storage.reading import NO_FILES, view_select
from warehouse.tables import (
    AGENT_METRICS,
    DAILY_ACTIVE_USERS,
    DAILY_MEASUREMENTS,
    DAILY_METRICS,
    PERIOD_COMPARISON,
    TOP_AGENTS,
    TableSpec,
)


@dataclass(frozen=True)
class Insight:
    """An insight table, the daily tables its SQL reads, the windows it is computed for,
    and how many periods of a window one as-of date compares (the current one, or it and
    the one before)."""

    spec: TableSpec
    reads: tuple[TableSpec, ...]
    windows: tuple[int, ...]
    periods: int

    @property
    def window_days(self) -> int:
        """The days of daily tables, up to and including its as-of date, one date reads."""
        return max(self.windows) * self.periods


INSIGHTS = (
    # 1, 7 and 30-day periods against the periods before them
    Insight(
        PERIOD_COMPARISON,
        (DAILY_METRICS, DAILY_ACTIVE_USERS, AGENT_METRICS, DAILY_MEASUREMENTS),
        windows=(1, 7, 30),
        periods=2,
    ),
    Insight(TOP_AGENTS, (AGENT_METRICS, DAILY_MEASUREMENTS), windows=(30,), periods=1),
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


def compute_insight(
    connection: duckdb.DuckDBPyConnection, insight: Insight, first: dt.date, last: dt.date
) -> dict[dt.date, pa.Table]:
    """The rows of each as-of date of [first, last] that has at least one window whose
    periods are complete (docs/contract.md, section 10), from `sql/insights/<table>.sql`
    over the daily tables of `connection` (an `analytics_connection`): through the same
    macros analysts use, so the published tables and the macros agree by construction.
    A window is computed only for the as-of dates whose periods are all complete; a date
    with none is left out (it stays as it was published, if it was)."""
    spec = insight.spec
    statement = f"{load_sql(f'insights/{spec.name}')} order by {', '.join(spec.key)}"
    parts: list[pa.Table] = []
    computed: set[dt.date] = set()
    for window in insight.windows:
        for run_first, run_last in complete_runs(connection, first, last, window * insight.periods):
            parts.append(
                connection.sql(
                    statement,
                    params={
                        "first_as_of": run_first,
                        "last_as_of": run_last,
                        "window_days": window,
                    },
                ).to_arrow_table()
            )
            computed |= set(days_between(run_first, run_last))
    rows = (
        pa.concat_tables(parts)
        if parts
        else connection.sql(view_select(spec, NO_FILES)).to_arrow_table()
    )
    return {as_of_date: rows_of(rows, as_of_date) for as_of_date in sorted(computed)}


def days_between(first: dt.date, last: dt.date) -> list[dt.date]:
    return [first + dt.timedelta(days=offset) for offset in range((last - first).days + 1)]


def rows_of(computed: pa.Table, as_of_date: dt.date) -> pa.Table:
    """The rows of one as-of date of a chunk's result."""
    return computed.filter(pc.equal(computed["as_of_date"], as_of_date))


def lookback_start(insight: Insight, first_as_of: dt.date) -> dt.date:
    """The first day of the daily tables the as-of dates from `first_as_of` on read."""
    return first_as_of - dt.timedelta(days=insight.window_days - 1)
