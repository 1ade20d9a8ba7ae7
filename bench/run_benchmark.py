"""How fast the warehouse moves a day of events, against PostgreSQL's own limit and against dlt.

Run from the repository root:

    .venv/bin/python -m bench.run_benchmark [--events-per-day N] [--days D] [--dsn DSN]

It seeds demo events into a schema of its own (`bench_<id>`, dropped at the end), times
each figure as the median of `--repeat` runs, prints a table (each figure issue 13 sets a
target for beside it, with its verdict) and the profile of an empty day's run through
`dagster asset materialize`, and appends both, with the date and the machine, to
bench/RESULTS.md. bench/README.md explains how to read them; `bench.backfill` measures a
year's backfill.
"""

from __future__ import annotations

import argparse
import datetime as dt
import statistics
import sys
import tempfile
import uuid
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from pathlib import Path

import psycopg
from psycopg import sql

from bench import fixed_cost, measure
from bench.peer import load_day_with_dlt, peer_installed
from bench.report import (
    GIB,
    RESULTS_FILE,
    Row,
    at_least,
    at_most,
    heading,
    mib,
    publish,
    ratio_of,
    table,
    verdict,
)
from warehouse.demo_events import create_events_table, seed_demo_events
from warehouse.embedded_postgres import local_or_embedded_postgres

FIRST_DAY = dt.date(2025, 3, 3)
SCALING_SIZES = (100_000, 1_000_000, 3_000_000)
# issue 13's targets for one day
EXTRACTION_TARGET = 1.25  # x the COPY limit
PEER_TARGET = 15.0  # dlt's extraction over ours
PEAK_RSS_TARGET = GIB  # at PEAK_RSS_EVENTS events in the day
PEAK_RSS_EVENTS = 10_000_000


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


def seeded_table(
    dsn: str,
    schema: str,
    name: str,
    days: int,
    events_per_day: int,
    first_day: dt.date = FIRST_DAY,
) -> str:
    """A demo events table laid out and vacuumed like a live one.

    The seed interleaves its days across the heap; a live table is appended in time
    order, so it is clustered on created_at, else every day's scan reads every day's
    pages. Vacuumed, as autovacuum leaves yesterday's rows: no hint bits left to set,
    and the reconciliation count can use an index-only scan.
    """
    table = f"{schema}.{name}"
    create_events_table(dsn, table)
    seed_demo_events(dsn, table, first_day, days, events_per_day)
    identifier = sql.Identifier(schema, name)
    with psycopg.connect(dsn, autocommit=True) as connection:
        connection.execute(
            sql.SQL("cluster {} using {}").format(
                identifier, sql.Identifier(f"{name}_created_at_idx")
            )
        )
        connection.execute(sql.SQL("vacuum (analyze) {}").format(identifier))
    return table


def peak_rss_verdict(peak_rss: int, events_per_day: int) -> str:
    """The 1 GiB target holds at 10M events a day; a smaller day can only miss it."""
    if events_per_day >= PEAK_RSS_EVENTS or peak_rss > PEAK_RSS_TARGET:
        return at_most(peak_rss, PEAK_RSS_TARGET)
    return f"- (at {PEAK_RSS_EVENTS / 1e6:g}M events/day)"


def main_rows(
    dsn: str, table: str, args: argparse.Namespace, scratch: Path
) -> tuple[list[Row], float, float | None, fixed_cost.CliDays]:
    """Limit, extraction, the day's run, range, peer, memory and size at the main size."""
    repeat, days, day = args.repeat, args.days, FIRST_DAY
    limit = median_of(repeat, lambda: measure.copy_limit(dsn, table, day))
    extractions = [measure.extraction(dsn, table, day) for _ in range(repeat)]
    extract_seconds = statistics.median(seconds for seconds, _, _ in extractions)
    _, lake_rows, lake_bytes = extractions[0]
    whole_day = statistics.median(measure.repeated_whole_day(dsn, table, day, repeat))
    peak_rss = measure.whole_day_peak_rss(dsn, table, day)
    cli_days = fixed_cost.cli_days(dsn, table, day, repeat, scratch)
    ranges = [measure.day_range(dsn, table, day, days) for _ in range(repeat)]
    ranged = statistics.median(seconds for seconds, _ in ranges)
    singles = statistics.median(seconds for _, seconds in ranges)
    peer = (
        median_of(repeat, lambda: load_day_with_dlt(dsn, table, day))
        if args.peer and peer_installed()
        else None
    )
    extraction_ratio = ratio_of(extract_seconds, limit)
    ahead_of_peer = ratio_of(peer, extract_seconds)
    rows = [
        Row("limit: PostgreSQL binary COPY of the day, drained", f"{limit:.2f} s", limit),
        Row(
            "extraction: Postgres to the day's events partition",
            f"{extract_seconds:.2f} s",
            extract_seconds,
            "one Iceberg commit, no audits",
            f"<= {EXTRACTION_TARGET:.2f}x limit",
            at_most(extraction_ratio, EXTRACTION_TARGET),
        ),
        Row(
            "whole day: every asset, one Dagster run",
            f"{whole_day:.2f} s",
            whole_day,
            "run duration Dagster records; warehouse already there",
        ),
        *fixed_cost.rows(cli_days, limit),
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
            target=f">= {PEER_TARGET:.0f}x extraction",
            verdict=verdict(None),
        )
        if peer is None
        else Row(
            "peer: dlt sql_database, pyarrow, to Parquet",
            f"{peer:.2f} s",
            peer,
            f"extraction {ahead_of_peer:.1f}x faster",
            f">= {PEER_TARGET:.0f}x extraction",
            at_least(ahead_of_peer, PEER_TARGET),
        ),
        Row(
            "peak RSS of the whole-day run",
            mib(peak_rss),
            note="fresh process and warehouse",
            target=f"<= 1 GiB at {PEAK_RSS_EVENTS / 1e6:g}M events/day",
            verdict=peak_rss_verdict(peak_rss, args.events_per_day),
        ),
        Row(
            "lake bytes per event",
            f"{lake_bytes / lake_rows:.1f} B",
            note="the partition's zstd Parquet data files",
        ),
    ]
    return rows, limit, peer, cli_days


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
    value = ratio_of(seconds, base)
    return "-" if value is None else f"{value:.2f}"


def render(rows: Sequence[Row], limit: float, peer: float | None) -> str:
    return table(
        ("figure", "value", "x limit", "x peer", "target", "verdict", "note"),
        [
            (
                row.figure,
                row.value,
                ratio(row.seconds, limit),
                ratio(row.seconds, peer),
                row.target,
                row.verdict,
                row.note,
            )
            for row in rows
        ],
        numeric=3,
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
    with (
        postgres(args.dsn) as dsn,
        bench_schema(dsn) as schema,
        tempfile.TemporaryDirectory(prefix="bench-cli-") as scratch,
    ):
        table = seeded_table(dsn, schema, "analytics_events", args.days, args.events_per_day)
        rows, limit, peer, cli_days = main_rows(dsn, table, args, Path(scratch))
        if args.scaling:
            rows += scaling_rows(dsn, schema, table, args)
        header = heading(
            f"{args.events_per_day:,} events/day, {args.days} days, median of {args.repeat}", dsn
        )
    profile = (
        "Where the seconds go (`dagster asset materialize`, the median run of each)"
        f":\n\n{fixed_cost.profile_table(cli_days)}"
    )
    publish(f"{header}\n{render(rows, limit, peer)}\n\n{profile}\n", args.results_file)


if __name__ == "__main__":
    main(sys.argv[1:])
