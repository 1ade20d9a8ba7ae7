"""A one-day commit's cost against the snapshots its table holds.

A backfill commits every table many times, and snapshots are kept for the retention's
days, so a commit whose cost grew with the table's history would make a year's last
days dearer than its first (issue 13). Each figure is the median time of ten one-day
`Lakehouse.replace_partition` calls (one row, one data file, one OVERWRITE snapshot) on a
local table once it holds that many snapshots. Issue 13 sets no target for it: it is
what the backfill's "last days over first days" figure is made of, measured alone.
"""

from __future__ import annotations

import argparse
import datetime as dt
import statistics
import sys
import tempfile
import time
from collections.abc import Sequence
from pathlib import Path

import pyarrow as pa
from pyiceberg.io.pyarrow import schema_to_pyarrow

from bench.report import RESULTS_FILE, Row, heading, publish, target_table
from warehouse.lakehouse import Lakehouse, open_lakehouse
from warehouse.tables import EVENT_COUNTS

COMMITS_PER_FIGURE = 10
FIRST_DAY = dt.date(2025, 1, 1)
DAYS_WRITTEN = 30  # the commits cycle over a month's partitions, as re-runs do


def one_row(lakehouse: Lakehouse, day: dt.date) -> pa.Table:
    schema = schema_to_pyarrow(lakehouse.table(EVENT_COUNTS).schema(), include_field_ids=False)
    row = {name: None for name in schema.names} | {EVENT_COUNTS.date_column: day}
    return pa.Table.from_pylist([row], schema=schema)


def commit_seconds(snapshot_counts: Sequence[int]) -> dict[int, float]:
    """Median seconds of a one-day commit once the table holds each count of snapshots."""
    with tempfile.TemporaryDirectory(prefix="bench-commits-") as scratch:
        lakehouse = open_lakehouse(f"{scratch}/warehouse", f"sqlite:///{scratch}/catalog.db")
        timings: list[float] = []
        for commit in range(max(snapshot_counts) + COMMITS_PER_FIGURE):
            day = FIRST_DAY + dt.timedelta(days=commit % DAYS_WRITTEN)
            rows = one_row(lakehouse, day)
            started = time.perf_counter()
            lakehouse.replace_partition(EVENT_COUNTS, day, rows)
            timings.append(time.perf_counter() - started)
    return {
        held: statistics.median(timings[held : held + COMMITS_PER_FIGURE])
        for held in snapshot_counts
    }


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
    parser.add_argument("--results-file", type=Path, default=RESULTS_FILE)
    args = parser.parse_args(argv)
    try:
        args.snapshots = sorted({int(count) for count in args.snapshots.split(",")})
    except ValueError:
        parser.error("--snapshots must be comma-separated whole numbers")
    if len(args.snapshots) < 2 or args.snapshots[0] < 1:
        parser.error("--snapshots needs at least two counts, each at least 1")
    return args


def main(argv: Sequence[str] | None = None) -> None:
    args = parse_args(argv)
    table = target_table(rows(commit_seconds(args.snapshots)))
    header = heading(f"one-day commits, median of {COMMITS_PER_FIGURE}, local warehouse", None)
    publish(f"{header}\n{table}\n", args.results_file)


if __name__ == "__main__":
    main(sys.argv[1:])
