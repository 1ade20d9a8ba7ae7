"""The warehouse's configuration, read from the environment when definitions load.

Every variable is documented in the README's configuration table. Values are
validated here so a typo fails with one sentence naming the variable, not a trace
from deep inside a run.
"""

from __future__ import annotations

import datetime as dt
import os
import re
from dataclasses import dataclass
from pathlib import Path

PROJECT_ROOT = Path(__file__).resolve().parents[1]
DEFAULT_WAREHOUSE_DIR = PROJECT_ROOT / "data" / "warehouse"
DEFAULT_SOURCE_TABLE = "public.analytics_events"
DEFAULT_START_DATE = "2024-01-01"
DEFAULT_LATE_DAYS = 3

_QUALIFIED_NAME = re.compile(r"^[A-Za-z_][A-Za-z0-9_$]*\.[A-Za-z_][A-Za-z0-9_$]*$")


class ConfigurationError(ValueError):
    """A setting is malformed; the message names the variable and the expected form."""


def parse_date(value: str, what: str) -> dt.date:
    """Parses a strict YYYY-MM-DD date or raises a ConfigurationError naming `what`."""
    try:
        if not re.fullmatch(r"\d{4}-\d{2}-\d{2}", value):
            raise ValueError
        return dt.date.fromisoformat(value)
    except ValueError:
        raise ConfigurationError(f"{what} must be a date as YYYY-MM-DD, got {value!r}") from None


def parse_qualified_table(value: str) -> tuple[str, str]:
    """Splits `schema.table`; only plain identifiers are accepted, so quoting is never ambiguous."""
    if not _QUALIFIED_NAME.match(value):
        raise ConfigurationError(
            f"ANALYTICS_SOURCE_TABLE must be schema.table (plain identifiers), got {value!r}"
        )
    schema, table = value.split(".")
    return schema, table


@dataclass(frozen=True)
class Settings:
    source_table: str
    warehouse_dir: Path
    start_date: dt.date
    late_days: int

    @classmethod
    def from_environment(cls) -> Settings:
        table = os.environ.get("ANALYTICS_SOURCE_TABLE") or DEFAULT_SOURCE_TABLE
        parse_qualified_table(table)
        late_days_text = os.environ.get("ANALYTICS_LATE_DAYS") or str(DEFAULT_LATE_DAYS)
        if not late_days_text.isdigit():
            raise ConfigurationError(
                f"ANALYTICS_LATE_DAYS must be a whole number of days, got {late_days_text!r}"
            )
        return cls(
            source_table=table,
            warehouse_dir=Path(
                os.environ.get("ANALYTICS_WAREHOUSE_DIR") or DEFAULT_WAREHOUSE_DIR
            ).resolve(),
            start_date=parse_date(
                os.environ.get("ANALYTICS_START_DATE") or DEFAULT_START_DATE,
                "ANALYTICS_START_DATE",
            ),
            late_days=int(late_days_text),
        )
