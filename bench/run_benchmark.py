"""How fast the warehouse moves a day of events, against PostgreSQL's own limit and against dlt.

Run from the repository root:

    .venv/bin/python -m bench.run_benchmark [--events-per-day N] [--days D] [--dsn DSN]

It seeds demo events into a schema of its own (`bench_<id>`, dropped at the end), times
each figure as the median of `--repeat` runs, prints a table and appends it, with the date
and the machine, to bench/RESULTS.md. bench/README.md explains how to read it.
"""

from __future__ import annotations

import argparse
import datetime as dt
import os
import statistics
import sys
import tempfile
import uuid
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

import psycopg
from psycopg import sql

from bench import measure
from bench.peer import load_day_with_dlt, peer_installed
from pipelines.demo import local_or_embedded_postgres
from warehouse.demo_events import create_events_table, seed_demo_events

RESULTS_FILE = Path(__file__).with_name("RESULTS.md")
FIRST_DAY = dt.date(2025, 3, 3)
SCALING_SIZES = (100_000, 1_000_000, 3_000_000)


@dataclass(frozen=True)
class Row:
    """One line of the table; `seconds` is set for timings, which get ratios."""

    figure: str
    value: str
    seconds: float | None = None
    note: str = ""


def median_of(repeat: int, run: Callable[[], float]) -> float:
    return statistics.median(run() for _ in range(repeat))


@contextmanager
def postgres(dsn: str | None) -> Iterator[str]:
    """The given DSN, else the local server, else an embedded one started for this run."""
    if dsn:
        yield dsn
        return
    with tempfile.TemporaryDirectory(prefix="bench-pgdata-") as pgdata:
        yield local_or_embedded_postgres(Path(pgdata))


@contextmanager
def bench_schema(dsn: str) -> Iterator[str]:
    """A schema of the benchmark's own, dropped with everything in it afterwards."""
    schema = f"bench_{uuid.uuid4().hex[:8]}"
    try:
        yield schema
    finally:
        with psycopg.connect(dsn, autocommit=True) as connection:
            connection.execute(
                sql.SQL("drop schema if exists {} cascade").format(sql.Identifier(schema))
            )


def seeded_table(dsn: str, schema: str, name: str, days: int, events_per_day: int) -> str:
    """A demo events table laid out and vacuumed like a live one.

    The seed interleaves its days across the heap; a live table is appended in time
    order, so it is clustered on created_at, else every day's scan reads every day's
    pages. Vacuumed, as autovacuum leaves yesterday's rows: no hint bits left to set,
    and the reconciliation count can use an index-only scan.
    """
    table = f"{schema}.{name}"
    create_events_table(dsn, table)
    seed_demo_events(dsn, table, FIRST_DAY, days, events_per_day)
    identifier = sql.Identifier(schema, name)
    with psycopg.connect(dsn, autocommit=True) as connection:
        connection.execute(
            sql.SQL("cluster {} using {}").format(
                identifier, sql.Identifier(f"{name}_created_at_idx")
            )
        )
        connection.execute(sql.SQL("vacuum (analyze) {}").format(identifier))
    return table


def main_rows(
    dsn: str, table: str, args: argparse.Namespace
) -> tuple[list[Row], float, float | None]:
    """Limit, extraction, whole day, range, peer, memory and size at the main size."""
    repeat, days, day = args.repeat, args.days, FIRST_DAY
    limit = median_of(repeat, lambda: measure.copy_limit(dsn, table, day))
    extractions = [measure.extraction(dsn, table, day) for _ in range(repeat)]
    extract_seconds = statistics.median(seconds for seconds, _, _ in extractions)
    _, lake_rows, lake_bytes = extractions[0]
    whole_day = statistics.median(measure.repeated_whole_day(dsn, table, day, repeat))
    peak_rss = measure.whole_day_peak_rss(dsn, table, day)
    ranges = [measure.day_range(dsn, table, day, days) for _ in range(repeat)]
    ranged = statistics.median(seconds for seconds, _ in ranges)
    singles = statistics.median(seconds for _, seconds in ranges)
    peer = (
        median_of(repeat, lambda: load_day_with_dlt(dsn, table, day))
        if args.peer and peer_installed()
        else None
    )
    rows = [
        Row("limit: PostgreSQL binary COPY of the day, drained", f"{limit:.2f} s", limit),
        Row(
            "extraction: Postgres to the day's events partition",
            f"{extract_seconds:.2f} s",
            extract_seconds,
            "one Iceberg commit, no audits",
        ),
        Row(
            "whole day: every asset, one Dagster run",
            f"{whole_day:.2f} s",
            whole_day,
            "run duration Dagster records; warehouse already there",
        ),
        Row(
            f"range: {days} days in one run",
            f"{ranged:.2f} s",
            ranged,
            f"{ranged / singles:.2f}x the single runs",
        ),
        Row(f"range: {days} single-day runs", f"{singles:.2f} s", singles),
        Row(
            "peer: dlt sql_database, pyarrow, to Parquet",
            "not run (--no-peer)" if not args.peer else "not installed",
        )
        if peer is None
        else Row("peer: dlt sql_database, pyarrow, to Parquet", f"{peer:.2f} s", peer),
        Row(
            "peak RSS of the whole-day run",
            f"{peak_rss / 2**20:.0f} MiB",
            note="fresh process and warehouse",
        ),
        Row(
            "lake bytes per event",
            f"{lake_bytes / lake_rows:.1f} B",
            note="the partition's zstd Parquet data files",
        ),
    ]
    return rows, limit, peer


def scaling_rows(dsn: str, schema: str, main_table: str, args: argparse.Namespace) -> list[Row]:
    """Seconds per million events for extraction and the whole day at growing day sizes."""
    rows = []
    for size in SCALING_SIZES:
        table = (
            main_table
            if size == args.events_per_day
            else seeded_table(dsn, schema, f"events_{size}", 1, size)
        )
        millions = size / 1_000_000
        extract = median_of(args.repeat, lambda t=table: measure.extraction(dsn, t, FIRST_DAY)[0])
        day = statistics.median(measure.repeated_whole_day(dsn, table, FIRST_DAY, args.repeat))
        label = f"{millions:g}M events/day"
        rows.append(
            Row(f"scaling: extraction per 1M events at {label}", f"{extract / millions:.2f} s")
        )
        rows.append(Row(f"scaling: whole day per 1M events at {label}", f"{day / millions:.2f} s"))
    return rows


def ratio(seconds: float | None, base: float | None) -> str:
    return f"{seconds / base:.2f}" if seconds is not None and base else "-"


def render(rows: Sequence[Row], limit: float, peer: float | None) -> str:
    lines = ["| figure | value | x limit | x peer | note |", "|---|---:|---:|---:|---|"]
    lines += [
        f"| {row.figure} | {row.value} | {ratio(row.seconds, limit)} | "
        f"{ratio(row.seconds, peer)} | {row.note} |"
        for row in rows
    ]
    return "\n".join(lines)


def machine(dsn: str) -> str:
    """Cores, memory, PostgreSQL version and load: other work on the cores skews every timing."""
    with psycopg.connect(dsn) as connection:
        (version,) = connection.execute("show server_version").fetchone() or ("?",)
    memory = os.sysconf("SC_PAGE_SIZE") * os.sysconf("SC_PHYS_PAGES") / 2**30
    load = ", ".join(f"{value:.1f}" for value in os.getloadavg())
    return (
        f"{os.cpu_count()} cores, {memory:.0f} GiB RAM, PostgreSQL {version};"
        f" load average at the end {load}"
    )


def parse_args(argv: Sequence[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--events-per-day", type=int, default=1_000_000)
    parser.add_argument("--days", type=int, default=3, help="days seeded; the range covers them")
    parser.add_argument("--dsn", help="PostgreSQL to use (default: local, else embedded)")
    parser.add_argument("--repeat", type=int, default=3, help="runs per figure (median)")
    parser.add_argument(
        "--scaling", action="store_true", help="also time 0.1M, 1M and 3M events/day"
    )
    parser.add_argument(
        "--no-peer", dest="peer", action="store_false", help="skip dlt (minutes at 10M events)"
    )
    parser.add_argument("--results-file", type=Path, default=RESULTS_FILE)
    args = parser.parse_args(argv)
    if args.events_per_day < 1 or args.days < 1 or args.repeat < 1:
        parser.error("--events-per-day, --days and --repeat must be at least 1")
    return args


def main(argv: Sequence[str] | None = None) -> None:
    args = parse_args(argv)
    with postgres(args.dsn) as dsn, bench_schema(dsn) as schema:
        table = seeded_table(dsn, schema, "analytics_events", args.days, args.events_per_day)
        rows, limit, peer = main_rows(dsn, table, args)
        if args.scaling:
            rows += scaling_rows(dsn, schema, table, args)
        header = (
            f"## {dt.datetime.now(dt.UTC):%Y-%m-%d %H:%M} UTC: {args.events_per_day:,} events/day,"
            f" {args.days} days, median of {args.repeat}\n\n{machine(dsn)}\n"
        )
    report = f"{header}\n{render(rows, limit, peer)}\n"
    print(report)
    with args.results_file.open("a") as results:
        results.write(f"\n{report}")


if __name__ == "__main__":
    main(sys.argv[1:])
