"""A year's backfill: its memory, snapshots piling up, parallel ranges, incremental insights.

Run from the repository root:

    .venv/bin/python -m bench.backfill [--days 365] [--events-per-day 100000] [--short-days 30]

It seeds D+1 days of demo events from 2025-01-01 into a schema of its own (dropped at the
end) and runs `dagster asset materialize` (every asset, each range one single-run
backfill, a fresh process each time), measuring issue 13's targets for a backfill:

- memory: peak RSS of the D-day range and of an S-day range, each in a fresh warehouse:
  at most 1 GiB, and the same for both; with snapshots, also the year's peak over that
  of S days re-run whose insights read whole windows (the fresh S days' windows are
  mostly empty, so that ratio mixes the range's length with the windows' depth);
- snapshots: after the D days, the first S days and the last S days re-run, per day
  (Dagster's run duration over S): the last no dearer than the first;
- parallel: the two halves of the D days as two runs at once (two processes, a fresh
  warehouse) against the D days as one run;
- insights: `period_comparison` and `top_agents` (their steps' time in the run) for one
  new as-of date, the day after the warehouse's last, when it holds 60 days (their
  longest window; S if more) and D days: the same cost.

Each figure is printed with its target and verdict, and appended to bench/RESULTS.md.
"""

from __future__ import annotations

import argparse
import datetime as dt
import statistics
import sys
import tempfile
from collections.abc import Sequence
from pathlib import Path

from bench.dagster_cli import CliRun, DagsterCli
from bench.fixed_cost import warehouse_settings
from bench.report import (
    GIB,
    RESULTS_FILE,
    Row,
    at_most,
    heading,
    mib,
    publish,
    target_table,
)
from bench.run_benchmark import bench_schema, postgres, seeded_table
from warehouse.insights import LOOKBACK_DAYS

YEAR_START = dt.date(2025, 1, 1)
INSIGHTS = ("period_comparison", "top_agents")
PARTS = ("memory", "snapshots", "parallel", "insights")
# issue 13's targets for a backfill
PEAK_RSS_TARGET = GIB
RANGE_INDEPENDENCE = 1.10  # peak RSS of the long range over the short one's: flat
LAST_OVER_FIRST = 1.10  # per-day cost of the last S days over the first S days'
PARALLEL_TARGET = 1.00  # two half ranges at once over the whole range as one run
INSIGHTS_TARGET = 1.20  # one new as-of date with D days held over S days held
# days of daily tables the insights of one as-of date read: a 30-day window and the one before
FULL_WINDOWS = LOOKBACK_DAYS + 1


def day(number: int) -> dt.date:
    """The `number`th day of the backfill, 1 for its first."""
    return YEAR_START + dt.timedelta(days=number - 1)


class Backfill:
    """The seeded source and a warehouse per purpose, all runs on one Dagster instance."""

    def __init__(self, dsn: str, table: str, scratch: Path, args: argparse.Namespace) -> None:
        self.dsn, self.table, self.scratch, self.args = dsn, table, scratch, args

    def warehouse(self, name: str) -> DagsterCli:
        settings = warehouse_settings(self.dsn, self.table, self.scratch / name / "warehouse")
        settings["ANALYTICS_START_DATE"] = YEAR_START.isoformat()
        return DagsterCli(self.scratch / "home", settings, self.scratch / name / "logs")

    def new_date_insights(self, cli: DagsterCli, held: int) -> float:
        """Seconds of the insight steps for the as-of date after the `held` days the
        warehouse holds: its whole day's run first, then re-runs of the two assets."""
        new_day = day(held + 1)
        runs = [cli.materialize(new_day)]
        runs += [
            cli.materialize(new_day, select=",".join(INSIGHTS)) for _ in range(self.args.repeat - 1)
        ]
        return statistics.median(run.steps_seconds(*INSIGHTS) for run in runs)


def per_day(runs: Sequence[CliRun], days: int) -> float:
    return statistics.median(run.duration for run in runs) / days


def measure(backfill: Backfill, parts: set[str]) -> list[Row]:
    """Runs what the parts need, in order, and returns their rows."""
    args = backfill.args
    total, short, repeat = args.days, args.short_days, args.repeat
    rows: list[Row] = []
    short_cli, short_run = None, None
    if parts & {"memory", "insights"}:
        short_cli = backfill.warehouse("short")
        short_run = short_cli.materialize(day(1), day(short))
    year = backfill.warehouse("year")
    year_run = year.materialize(day(1), day(total))
    if "memory" in parts and short_run is not None:
        independence = year_run.peak_rss / short_run.peak_rss
        rows += [
            Row(
                f"peak RSS: {total} days, one run",
                mib(year_run.peak_rss),
                target="<= 1 GiB",
                verdict=at_most(year_run.peak_rss, PEAK_RSS_TARGET),
                note=f"the whole process; fresh warehouse; wall {year_run.wall:.1f} s",
            ),
            Row(
                f"peak RSS: {short} days, one run",
                mib(short_run.peak_rss),
                note=f"fresh warehouse; wall {short_run.wall:.1f} s",
            ),
            Row(
                f"peak RSS: {total} days over {short} days",
                f"{independence:.2f}x",
                target=f"<= {RANGE_INDEPENDENCE:.2f}x (independent of the range)",
                verdict=at_most(independence, RANGE_INDEPENDENCE),
            ),
        ]
    if "snapshots" in parts:
        # the first days' insights, anomalies and reports have short histories; days whose
        # windows are whole, if the range has room, separate the snapshots from that
        whole = FULL_WINDOWS + 1 if total - short >= FULL_WINDOWS + short else None
        first_runs, whole_runs, last_runs = [], [], []
        for _ in range(repeat):
            first_runs.append(year.materialize(day(1), day(short)))
            if whole:
                whole_runs.append(year.materialize(day(whole), day(whole + short - 1)))
            last_runs.append(year.materialize(day(total - short + 1), day(total)))
        first, last = per_day(first_runs, short), per_day(last_runs, short)
        rows.append(
            Row(
                f"per day: first {short} days re-run, after the {total}",
                f"{first:.2f} s",
                note="Dagster's run duration over the days",
            )
        )
        if whole:
            control = per_day(whole_runs, short)
            rows.append(
                Row(
                    f"per day: days {whole}-{whole + short - 1} re-run (whole windows)",
                    f"{control:.2f} s",
                    note=f"the last {short} days are {last / control:.2f}x these: what the "
                    "snapshots piling up cost, without the first days' short histories",
                )
            )
            if "memory" in parts:
                # the same windows, so only the range's length differs from the year's run
                whole_peak = max(run.peak_rss for run in whole_runs)
                rows.append(
                    Row(
                        f"peak RSS: {total} days over days {whole}-{whole + short - 1} re-run",
                        f"{year_run.peak_rss / whole_peak:.2f}x",
                        note=f"{mib(whole_peak)}, their highest re-run: a {short}-day range "
                        "whose insights read whole windows, as most of the year's do",
                    )
                )
        rows += [
            Row(
                f"per day: last {short} days re-run",
                f"{last:.2f} s",
                target=f"<= {LAST_OVER_FIRST:.2f}x the first {short} days",
                verdict=at_most(last / first, LAST_OVER_FIRST),
                note=f"{last / first:.2f}x the first; every snapshot of the {total} days kept",
            ),
        ]
    if "parallel" in parts:
        half = total // 2
        halves = [(day(1), day(half)), (day(half + 1), day(total))]
        wall, peaks = backfill.warehouse("parallel").in_parallel(halves)
        rows += [
            Row(f"wall: {total} days as one run", f"{year_run.wall:.1f} s", note="the memory run"),
            Row(
                "wall: the two halves as two runs at once",
                f"{wall:.1f} s",
                target=f"<= {PARALLEL_TARGET:.2f}x one run",
                verdict=at_most(wall / year_run.wall, PARALLEL_TARGET),
                note=f"{wall / year_run.wall:.2f}x one run; fresh warehouse; peak RSS "
                + " and ".join(mib(peak) for peak in peaks),
            ),
        ]
    if "insights" in parts and short_cli is not None:
        # the short warehouse grows to the insights' longest window, so that both new
        # dates read whole windows and only the days held differ
        held = max(short, min(FULL_WINDOWS, total - 1))
        if held > short:
            short_cli.materialize(day(short + 1), day(held))
        held_short = backfill.new_date_insights(short_cli, held)
        held_total = backfill.new_date_insights(year, total)
        rows += [
            Row(
                f"insights, one new as-of date, {held} days held",
                f"{held_short:.2f} s",
                note=" + ".join(INSIGHTS) + ": their steps' time; their windows whole",
            ),
            Row(
                f"insights, one new as-of date, {total} days held",
                f"{held_total:.2f} s",
                target=f"<= {INSIGHTS_TARGET:.2f}x with {held} days held",
                verdict=at_most(held_total / held_short, INSIGHTS_TARGET),
                note=f"{held_total / held_short:.2f}x",
            ),
        ]
    return rows


def parse_args(argv: Sequence[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--days", type=int, default=365, help="days of the long range")
    parser.add_argument("--events-per-day", type=int, default=100_000)
    parser.add_argument(
        "--short-days", type=int, default=30, help="days of the short range and re-runs"
    )
    parser.add_argument("--repeat", type=int, default=1, help="runs per re-run figure (median)")
    parser.add_argument(
        "--parts",
        default=",".join(PARTS),
        help=f"comma-separated, of {', '.join(PARTS)} (default: all)",
    )
    parser.add_argument("--dsn", help="PostgreSQL to use (default: local, else embedded)")
    parser.add_argument("--results-file", type=Path, default=RESULTS_FILE)
    args = parser.parse_args(argv)
    if min(args.days, args.events_per_day, args.short_days, args.repeat) < 1:
        parser.error("--days, --events-per-day, --short-days and --repeat must be at least 1")
    if args.short_days > args.days or args.days < 2:
        parser.error("--short-days must be at most --days, and --days at least 2")
    args.parts = set(filter(None, args.parts.split(",")))
    if not args.parts or args.parts - set(PARTS):
        parser.error(f"--parts must name some of {', '.join(PARTS)}")
    return args


def main(argv: Sequence[str] | None = None) -> None:
    args = parse_args(argv)
    with (
        postgres(args.dsn) as dsn,
        bench_schema(dsn) as schema,
        tempfile.TemporaryDirectory(prefix="bench-backfill-") as scratch,
    ):
        table = seeded_table(
            dsn, schema, "analytics_events", args.days + 1, args.events_per_day, YEAR_START
        )
        rows = measure(Backfill(dsn, table, Path(scratch), args), args.parts)
        header = heading(
            f"backfill of {args.days} days from {YEAR_START} at {args.events_per_day:,}"
            f" events/day, {args.short_days}-day ranges, median of {args.repeat}",
            dsn,
        )
    publish(f"{header}\n{target_table(rows)}\n", args.results_file)


if __name__ == "__main__":
    main(sys.argv[1:])
