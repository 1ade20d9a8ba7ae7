"""`analytics-warehouse`: the project's command line."""

from __future__ import annotations

import argparse
import dataclasses
import datetime as dt
import sys
from pathlib import Path

from assets.resources import LakehouseResource
from pipelines.configuration import ENV_FILE, environment, load_configuration
from pipelines.definitions import build_definitions
from pipelines.demo import DEFAULT_DAYS, DEFAULT_EVENTS_PER_DAY, DemoOptions, run_demo
from pipelines.materialize import RunFailed, materialize
from pipelines.status import collect_status, render_status, status_json
from pipelines.ui import run_ui
from warehouse.export import (
    COPY_OPTIONS,
    DEFAULT_TOP,
    EXPORTABLE,
    ExitCode,
    ExportError,
    ExportRequest,
    export,
)
from warehouse.settings import ConfigurationError
from warehouse.source import SourceError
from warehouse.storage.catalog import LakehouseError
from warehouse.upgrade import upgrade_in_place


def _positive(text: str) -> int:
    """A whole number from 1 on; argparse shows the message as the argument's error."""
    if not text.isdigit() or int(text) < 1:
        raise argparse.ArgumentTypeError(f"must be a whole number of at least 1, got {text!r}")
    return int(text)


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="analytics-warehouse", description=__doc__)
    commands = parser.add_subparsers(dest="command", required=True)
    demo = commands.add_parser(
        "demo",
        help="seed demo events (embedded PostgreSQL unless ANALYTICS_SOURCE_DSN is set), "
        "materialise them and print where the warehouse is",
        description="Builds a working installation: seeds realistic demo events into the "
        "project's embedded PostgreSQL (data/postgres) unless ANALYTICS_SOURCE_DSN is set, "
        "writes the settings it chose into .env (read by every command and the UI), "
        "materialises every asset for the days through Dagster and prints where the "
        "warehouse is and a query to try.",
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
    materialize.add_argument(
        "--allow-timezone-change",
        action="store_true",
        help="replace days published with another ANALYTICS_ORG_TIMEZONES_TABLE (refused "
        "otherwise, so that a missing setting never moves organisations to UTC silently)",
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
    ui = commands.add_parser(
        "ui",
        help="open the Dagster UI (and its daemon: schedule, sensors, backfills) with the "
        "settings of .env",
        description="Runs `dagster dev -w workspace.yaml` in the working directory with the "
        "environment over .env (where the demo writes its settings), on DAGSTER_HOME "
        "(default .dagster/), made ready first.",
        formatter_class=argparse.ArgumentDefaultsHelpFormatter,
    )
    ui.add_argument("--host", default="127.0.0.1", help="address to serve the UI on")
    ui.add_argument("--port", type=_positive, default=3000, help="port to serve the UI on")
    status = commands.add_parser(
        "status",
        help="what the warehouse holds: complete days, the latest run, each table's last "
        "day, days stale after a price change",
        description="The complete days (on the UTC calendar and the organisations' local "
        "ones), the latest run of DAGSTER_HOME and its outcome, each table's last published "
        "day and commit, the cost tables' days computed with another price list, and every "
        "asset's name.",
    )
    status.add_argument("--json", action="store_true", help="print it as JSON, for scripts")
    commands.add_parser(
        "upgrade",
        help="upgrade the warehouse at ANALYTICS_WAREHOUSE_DIR from an earlier release",
        description="Converts a first-release Parquet lake into the Iceberg tables (the "
        "old files kept as lake.parquet-backup/), or rewrites third-release tables whose "
        "ids are Iceberg uuid with text ids (their old files kept in place).",
    )
    return parser


def _upgrade() -> int:
    lakehouse = LakehouseResource.from_environment(environment())
    upgraded = upgrade_in_place(lakehouse.open(), lakehouse.local_path)
    for table, rows in upgraded.rows_per_table.items():
        print(f"{table}: {rows} rows")
    print(upgraded.kept, file=sys.stderr)
    return 0


def _status(as_json: bool) -> None:
    configuration = load_configuration()
    defs = build_definitions(configuration)
    names = sorted(key.to_user_string() for key in defs.resolve_asset_graph().get_all_asset_keys())
    status = collect_status(configuration, names)
    print(status_json(status) if as_json else render_status(status))


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
    lakehouse = LakehouseResource.from_environment(environment())
    request = ExportRequest(
        table=arguments.table,
        start=arguments.start,
        end=arguments.end,
        output=arguments.output,
        lakehouse=lakehouse.open(),
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
    print(
        f"exported {rows} {'row' if rows == 1 else 'rows'} to {arguments.output}", file=sys.stderr
    )
    return ExitCode.OK


def main(argv: list[str] | None = None) -> int:
    arguments = build_parser().parse_args(argv)
    try:
        if arguments.command == "demo":
            options = DemoOptions(arguments.days, arguments.events_per_day, arguments.seed)
            run_demo(options, Path.cwd() / ENV_FILE)
        elif arguments.command == "export":
            return _export(arguments)
        elif arguments.command == "upgrade":
            return _upgrade()
        elif arguments.command == "status":
            _status(arguments.json)
        elif arguments.command == "ui":
            return run_ui(arguments.host, arguments.port)
        elif arguments.command == "materialize":
            today = dt.datetime.now(dt.UTC).date()
            home = materialize(
                load_configuration(),
                arguments.start,
                arguments.end,
                arguments.select,
                today,
                arguments.allow_timezone_change,
            )
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
