"""`analytics-warehouse`: the project's command line."""

from __future__ import annotations

import argparse
import sys

from pipelines.settings import ConfigurationError


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
    )
    demo.add_argument("--days", type=_positive, default=30, help="days ending yesterday (UTC)")
    demo.add_argument("--events-per-day", type=_positive, default=20_000)
    demo.add_argument(
        "--seed",
        action="store_true",
        help="also seed demo events into ANALYTICS_SOURCE_DSN (never done unless asked)",
    )
    return parser


def main(argv: list[str] | None = None) -> int:
    arguments = build_parser().parse_args(argv)
    try:
        if arguments.command == "demo":
            from pipelines.demo import DemoOptions, run_demo

            run_demo(DemoOptions(arguments.days, arguments.events_per_day, arguments.seed))
    except ConfigurationError as error:
        print(f"error: {error}", file=sys.stderr)
        return 2
    return 0


if __name__ == "__main__":
    sys.exit(main())
