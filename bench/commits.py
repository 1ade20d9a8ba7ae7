"""A one-day commit's cost against the snapshots its table holds.

A backfill commits every table many times, and snapshots are kept for the retention's
days, so a commit whose cost grew with the table's history would make a year's last
days dearer than its first (issue 13). Each figure is the median time of ten one-day
replacements of a partition (`stage_partition`, then `commit_partitions`: one row, one
data file, one OVERWRITE snapshot) on a local table once it holds that many snapshots.
Issue 13 sets no target for it: it is what the backfill's "last days over first days"
figure is made of, measured alone.

The second is the table of the daily schedule: a year of one commit a day, each of the
day and the default ANALYTICS_LATE_DAYS before it. It counts the manifests the year
leaves, times listing the whole table from a fresh Lakehouse (what each step's refresh
of the views pays per table, once per process), and compares the last month's commits
with the first's.
"""

from __future__ import annotations

import argparse
import datetime as dt
import statistics
import sys
import tempfile
import time
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

import pyarrow as pa
from pyiceberg.io.pyarrow import schema_to_pyarrow

from bench.report import RESULTS_FILE, Row, heading, publish, target_table
from pipelines.configuration import CodeLocationSettings
from warehouse.storage.catalog import Lakehouse
from warehouse.storage.reading import listing
from warehouse.storage.writing import StagedPartition, commit_partitions, stage_partition
from warehouse.tables import EVENT_COUNTS

COMMITS_PER_FIGURE = 10
FIRST_DAY = dt.date(2025, 1, 1)
DAYS_WRITTEN = 30  # the commits cycle over a month's partitions, as re-runs do
LISTINGS = 7
# the schedule's late window at its default (ANALYTICS_LATE_DAYS unset)
DEFAULT_LATE_DAYS = CodeLocationSettings().late_days


def one_row(lakehouse: Lakehouse, day: dt.date) -> pa.Table:
    schema = schema_to_pyarrow(lakehouse.table(EVENT_COUNTS).schema(), include_field_ids=False)
    row = {name: None for name in schema.names} | {EVENT_COUNTS.date_column: day}
    return pa.Table.from_pylist([row], schema=schema)


def staged(lakehouse: Lakehouse, day: dt.date, rows: pa.Table) -> StagedPartition:
    """The day's rows staged in a data file of their own, with no settings recorded."""
    return stage_partition(lakehouse, EVENT_COUNTS, day, rows, {})


def commit_seconds(snapshot_counts: Sequence[int]) -> dict[int, float]:
    """Median seconds of a one-day commit once the table holds each count of snapshots."""
    with tempfile.TemporaryDirectory(prefix="bench-commits-") as scratch:
        lakehouse = Lakehouse(f"{scratch}/warehouse", f"sqlite:///{scratch}/catalog.db")
        timings: list[float] = []
        for commit in range(max(snapshot_counts) + COMMITS_PER_FIGURE):
            day = FIRST_DAY + dt.timedelta(days=commit % DAYS_WRITTEN)
            rows = one_row(lakehouse, day)
            started = time.perf_counter()
            commit_partitions(lakehouse, EVENT_COUNTS, [staged(lakehouse, day, rows)], {})
            timings.append(time.perf_counter() - started)
    return {
        held: statistics.median(timings[held : held + COMMITS_PER_FIGURE])
        for held in snapshot_counts
    }


@dataclass(frozen=True)
class DailyTable:
    """A table after a daily schedule's commits: its manifests, a cold listing, commits."""

    days: int
    manifests: int
    listing: float  # seconds, median of LISTINGS
    first_commits: float  # seconds, median of the first month's commits
    last_commits: float  # seconds, median of the last month's


def daily_table(days: int) -> DailyTable:
    """`days` daily commits, each of the day and the late days before it."""
    with tempfile.TemporaryDirectory(prefix="bench-commits-") as scratch:
        location, catalog = f"{scratch}/warehouse", f"sqlite:///{scratch}/catalog.db"
        lakehouse = Lakehouse(location, catalog)
        timings: list[float] = []
        for today in range(days):
            replaced = [
                FIRST_DAY + dt.timedelta(days=today - back)
                for back in range(min(today, DEFAULT_LATE_DAYS), -1, -1)
            ]
            days_staged = [staged(lakehouse, day, one_row(lakehouse, day)) for day in replaced]
            started = time.perf_counter()
            commit_partitions(lakehouse, EVENT_COUNTS, days_staged, {})
            timings.append(time.perf_counter() - started)
        table = lakehouse.table(EVENT_COUNTS)
        snapshot = table.current_snapshot()
        manifests = len(snapshot.manifests(table.io)) if snapshot else 0
        listings = []
        for _ in range(LISTINGS):
            fresh = Lakehouse(location, catalog)
            fresh.table(EVENT_COUNTS)  # the catalog and the table loaded, as a step has them
            started = time.perf_counter()
            listing(fresh, EVENT_COUNTS)
            listings.append(time.perf_counter() - started)
    month = min(DAYS_WRITTEN, days)
    return DailyTable(
        days,
        manifests,
        statistics.median(listings),
        statistics.median(timings[:month]),
        statistics.median(timings[-month:]),
    )


def daily_rows(daily: DailyTable) -> list[Row]:
    schedule = f"published daily for {daily.days} days"
    return [
        Row(
            f"{schedule}: manifests",
            str(daily.manifests),
            note=f"one commit a day, of the day and the {DEFAULT_LATE_DAYS} before it",
        ),
        Row(
            f"{schedule}: the whole table listed",
            f"{daily.listing * 1000:.0f} ms",
            note="a fresh Lakehouse, as each step's refresh of the views pays per table",
        ),
        Row(
            f"{schedule}: a commit, the last {min(DAYS_WRITTEN, daily.days)} days",
            f"{daily.last_commits * 1000:.0f} ms",
            note=f"{daily.last_commits / daily.first_commits:.2f}x the first days'",
        ),
    ]


def rows(seconds: dict[int, float]) -> list[Row]:
    fewest = min(seconds)
    return [
        Row(
            f"one-day commit, {held} snapshots held",
            f"{seconds[held] * 1000:.0f} ms",
            note=f"{seconds[held] / seconds[fewest]:.2f}x with {fewest} held",
        )
        for held in sorted(seconds)
    ]


def parse_args(argv: Sequence[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument(
        "--snapshots", default="10,100,400", help="comma-separated snapshot counts to time at"
    )
    parser.add_argument(
        "--daily-days", type=int, default=365, help="days of the daily-published table"
    )
    parser.add_argument("--results-file", type=Path, default=RESULTS_FILE)
    args = parser.parse_args(argv)
    if args.daily_days < 1:
        parser.error("--daily-days must be at least 1")
    try:
        args.snapshots = sorted({int(count) for count in args.snapshots.split(",")})
    except ValueError:
        parser.error("--snapshots must be comma-separated whole numbers")
    if len(args.snapshots) < 2 or args.snapshots[0] < 1:
        parser.error("--snapshots needs at least two counts, each at least 1")
    return args


def main(argv: Sequence[str] | None = None) -> None:
    args = parse_args(argv)
    table = target_table(
        rows(commit_seconds(args.snapshots)) + daily_rows(daily_table(args.daily_days))
    )
    header = heading(
        f"one-day commits (median of {COMMITS_PER_FIGURE}) and a table published daily,"
        " local warehouse",
        None,
    )
    publish(f"{header}\n{table}\n", args.results_file)


if __name__ == "__main__":
    main(sys.argv[1:])
