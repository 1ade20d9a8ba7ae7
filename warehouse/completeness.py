"""Which days the warehouse holds complete (docs/contract.md, section 10), asked of the
completeness macros (`sql/catalog/completeness.sql`) over a connection's
`published_partitions`, so the pipeline and the analysts' macros judge by one rule."""

from __future__ import annotations

import datetime as dt

import duckdb

_ONE_DAY = dt.timedelta(days=1)


def incomplete_utc_days(
    connection: duckdb.DuckDBPyConnection, first: dt.date, last: dt.date
) -> set[dt.date]:
    """The days of [first, last] the warehouse does not hold complete."""
    rows = connection.execute(
        "select date from utc_days_status($first, $last) where not is_complete",
        {"first": first, "last": last},
    ).fetchall()
    return {day for (day,) in rows}


def complete_runs(
    connection: duckdb.DuckDBPyConnection, first: dt.date, last: dt.date, span_days: int
) -> list[tuple[dt.date, dt.date]]:
    """The maximal runs of days D of [first, last] whose `span_days` days ending on D are
    all complete: the as-of dates an insight may be computed for, as few ranges as can be."""
    incomplete = incomplete_utc_days(connection, first - (span_days - 1) * _ONE_DAY, last)
    runs: list[tuple[dt.date, dt.date]] = []
    day = first
    while day <= last:
        span = {day - offset * _ONE_DAY for offset in range(span_days)}
        if not span & incomplete:
            if runs and runs[-1][1] == day - _ONE_DAY:
                runs[-1] = (runs[-1][0], day)
            else:
                runs.append((day, day))
        day += _ONE_DAY
    return runs
