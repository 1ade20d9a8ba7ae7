"""`analytics-warehouse`: the project's command line."""

from __future__ import annotations

import argparse
import dataclasses
import datetime as dt
import sys
from pathlib import Path

from pipelines.demo import DEFAULT_DAYS, DEFAULT_EVENTS_PER_DAY, DemoOptions, run_demo
from pipelines.materialize import RunFailed, materialize
from warehouse.export import (
    COPY_OPTIONS,
    DEFAULT_TOP,
    EXPORTABLE,
    ExitCode,
    ExportError,
    ExportRequest,
    export,
)
from warehouse.lakehouse import LakehouseError, lakehouse_from_settings
from warehouse.settings import ConfigurationError, StorageSettings
from warehouse.source import SourceError
from warehouse.upgrade import BACKUP_DIR, upgrade_in_place


def _positive(text: str) -> int:
    value = int(text)
    if value < 1:
        raise argparse.ArgumentTypeError(f"must be at least 1, got {value}")
    return value


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="analytics-warehouse", description=__doc__)
    commands = parser.add_subparsers(dest="command", required=True)
    demo = commands.add_parser(
        "demo",
        help="seed demo events (embedded PostgreSQL unless ANALYTICS_SOURCE_DSN is set), "
        "materialise them and print where the warehouse is",
        formatter_class=argparse.ArgumentDefaultsHelpFormatter,
    )
    demo.add_argument(
        "--days", type=_positive, default=DEFAULT_DAYS, help="days ending yesterday (UTC)"
    )
    demo.add_argument(
        "--events-per-day",
        type=_positive,
        default=DEFAULT_EVENTS_PER_DAY,
        help="demo events seeded on each day that has none",
    )
    demo.add_argument(
        "--seed",
        action="store_true",
        help="also seed demo events into ANALYTICS_SOURCE_DSN (never done unless asked)",
    )
    materialize = commands.add_parser(
        "materialize",
        help="check a range of UTC days, then materialise it through Dagster in one run",
        description="Exit codes: 0 materialised, 1 the run failed, 2 bad input (one sentence "
        "naming it: the range, a setting, the source). See docs/operations.md.",
    )
    materialize.add_argument("--start", required=True, help="first day, YYYY-MM-DD")
    materialize.add_argument("--end", required=True, help="last day, YYYY-MM-DD (inclusive)")
    materialize.add_argument(
        "--select",
        help="a Dagster asset selection, e.g. 'events' or 'daily_metrics+' (default: every asset)",
    )
    export = commands.add_parser(
        "export",
        help="write a published table or macro result for a date range to a file",
        description="Exit codes: 0 exported, 2 bad input, 3 output exists (use --force), "
        "4 no warehouse at ANALYTICS_WAREHOUSE_DIR. See docs/reports.md.",
    )
    export.add_argument("table", help=f"one of: {', '.join(EXPORTABLE)}")
    export.add_argument("--start", required=True, help="first day, YYYY-MM-DD")
    export.add_argument("--end", required=True, help="last day, YYYY-MM-DD (inclusive)")
    export.add_argument("--organization", help="only this organisation's rows (UUID)")
    export.add_argument("--agent", help="the agent of agent_analytics (UUID)")
    export.add_argument(
        "--top", type=_positive, help=f"n of top_agents_between (default {DEFAULT_TOP})"
    )
    export.add_argument(
        "--format",
        choices=list(COPY_OPTIONS),
        help="csv, parquet or jsonl (default: the --output file's extension)",
    )
    export.add_argument("--output", required=True, type=Path, help="file to write")
    export.add_argument("--force", action="store_true", help="replace an existing output file")
    export.add_argument(
        "--as-of",
        help="read every table as it was at this UTC time (YYYY-MM-DD or YYYY-MM-DDTHH:MM), "
        "within ANALYTICS_SNAPSHOT_RETENTION_DAYS",
    )
    commands.add_parser(
        "upgrade",
        help="convert the previous release's Parquet lake in ANALYTICS_WAREHOUSE_DIR into "
        "Iceberg tables, keeping the old files as lake.parquet-backup/",
    )
    return parser


def _upgrade() -> int:
    settings = StorageSettings.from_environment()
    for table, rows in upgrade_in_place(settings).items():
        print(f"{table}: {rows} rows")
    print(f"the old lake is kept in {settings.warehouse_location}/{BACKUP_DIR}", file=sys.stderr)
    return 0


def _as_of(text: str | None) -> dt.datetime | None:
    """A UTC moment from `--as-of`; raises ExportError on anything else."""
    if text is None:
        return None
    try:
        moment = dt.datetime.fromisoformat(text)
    except ValueError:
        raise ExportError(
            f"--as-of must be a UTC time as YYYY-MM-DD or YYYY-MM-DDTHH:MM, got {text!r}",
            ExitCode.BAD_INPUT,
        ) from None
    return moment.replace(tzinfo=moment.tzinfo or dt.UTC)


def _export(arguments: argparse.Namespace) -> int:
    settings = StorageSettings.from_environment()
    request = ExportRequest(
        table=arguments.table,
        start=arguments.start,
        end=arguments.end,
        output=arguments.output,
        lakehouse=lakehouse_from_settings(settings),
        file_format=arguments.format,
        organization=arguments.organization,
        agent=arguments.agent,
        top=arguments.top,
        force=arguments.force,
        progress=sys.stdout.isatty(),
    )
    try:
        request = dataclasses.replace(request, as_of=_as_of(arguments.as_of))
        rows = export(request)
    except ExportError as error:
        print(f"error: {error}", file=sys.stderr)
        return error.exit_code
    print(f"exported {rows} rows to {arguments.output}", file=sys.stderr)
    return ExitCode.OK


def main(argv: list[str] | None = None) -> int:
    arguments = build_parser().parse_args(argv)
    try:
        if arguments.command == "demo":
            run_demo(DemoOptions(arguments.days, arguments.events_per_day, arguments.seed))
        elif arguments.command == "export":
            return _export(arguments)
        elif arguments.command == "upgrade":
            return _upgrade()
        elif arguments.command == "materialize":
            today = dt.datetime.now(dt.UTC).date()
            home = materialize(arguments.start, arguments.end, arguments.select, today)
            print(f"materialised {arguments.start} to {arguments.end}; runs in DAGSTER_HOME={home}")
    except (ConfigurationError, LakehouseError, SourceError) as error:
        print(f"error: {error}", file=sys.stderr)
        return 2
    except RunFailed as error:
        print(f"error: {error}", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
