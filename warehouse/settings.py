"""How the warehouse's settings are checked: one small rule per kind of value.

The rules say what is wrong in a phrase ("must be a date as YYYY-MM-DD, got '2025-13-01'")
and the resource that owns the setting (`assets/resources.py`) puts the variable's name in
front of it, so a typo stops a command or the code location with one sentence naming the
variable, never a trace from deep inside a run. The same rules check a command's own
arguments (`--start`, `--end`).
"""

from __future__ import annotations

import datetime as dt
import re
from pathlib import Path

from croniter import croniter

PROJECT_ROOT = Path(__file__).resolve().parents[1]

_URI_SCHEME = re.compile(r"^[A-Za-z][A-Za-z0-9+.-]*:")
_QUALIFIED_NAME = re.compile(r"^[A-Za-z_][A-Za-z0-9_$]*\.[A-Za-z_][A-Za-z0-9_$]*$")
_ISO_DATE = re.compile(r"\d{4}-\d{2}-\d{2}")


class ConfigurationError(ValueError):
    """A setting is malformed; the message names the variable and the expected form."""


def parse_date(value: str | dt.date) -> dt.date:
    """A strict YYYY-MM-DD date."""
    if isinstance(value, dt.date):
        return value
    try:
        if not _ISO_DATE.fullmatch(value):
            raise ValueError
        return dt.date.fromisoformat(value)
    except ValueError:
        raise ValueError(f"must be a date as YYYY-MM-DD, got {value!r}") from None


def checked_date(value: str, what: str) -> dt.date:
    """`parse_date`, or a ConfigurationError naming `what` (a variable or an argument)."""
    try:
        return parse_date(value)
    except ValueError as error:
        raise ConfigurationError(f"{what} {error}") from None


def parse_qualified_table(value: str) -> tuple[str, str]:
    """Splits `schema.table`; only plain identifiers, so quoting is never ambiguous."""
    if not _QUALIFIED_NAME.match(value):
        raise ValueError(f"must be schema.table (plain identifiers), got {value!r}")
    schema, table = value.split(".")
    return schema, table


def parse_whole_number(value: str | int, unit: str) -> int:
    """A non-negative integer."""
    if isinstance(value, int) and not isinstance(value, bool) and value >= 0:
        return value
    if isinstance(value, str) and value.isdigit():
        return int(value)
    raise ValueError(f"must be a whole number of {unit}, got {value!r}")


def parse_cron(value: str) -> str:
    """A five-field cron expression (names such as MON included), as Dagster reads them.

    croniter is the parser Dagster itself vendors for schedules.
    """
    if len(value.split()) != 5 or not croniter.is_valid(value.strip()):
        raise ValueError(f"must be a five-field cron expression such as '0 1 * * *', got {value!r}")
    return value.strip()


def parse_share(value: str | float) -> float:
    """A fraction between 0 and 1."""
    try:
        share = float(value)
    except ValueError:
        share = -1.0
    if not 0 <= share <= 1:
        raise ValueError(f"must be a fraction between 0 and 1, got {value!r}")
    return share


def parse_positive_number(value: str | float) -> float:
    try:
        number = float(value)
    except ValueError:
        number = -1.0
    if not 0 < number < float("inf"):
        raise ValueError(f"must be a positive number, got {value!r}")
    return number


def parse_webhook_url(value: str) -> str:
    """An http:// or https:// URL with a host."""
    if not re.match(r"^https?://[^/\s]+", value):
        raise ValueError(f"must be an http:// or https:// URL, got {value!r}")
    return value


def parse_warehouse_location(value: str) -> str:
    """A local folder (made absolute) or `s3://bucket/prefix`; any other scheme is refused.

    Anything starting like a URI (`gs://...`, a mistyped `s3:` or `s3:/bucket`) is a URI,
    never a relative folder that would quietly be created in the working directory.
    """
    if not _URI_SCHEME.match(value):
        return str(Path(value).resolve())
    scheme, _, rest = value.partition("://")
    bucket = rest.split("/", 1)[0]
    if scheme != "s3" or not bucket:
        raise ValueError(f"must be a local folder or s3://bucket/prefix, got {value!r}")
    return value.rstrip("/")


def parse_catalog_uri(value: str) -> str:
    """A SQLAlchemy URL of the Iceberg SQL catalog (SQLite or PostgreSQL)."""
    if not re.match(r"^(sqlite|postgresql(\+psycopg2?)?)://", value):
        raise ValueError(
            "must be a SQLAlchemy URL such as sqlite:////path/catalog.db or "
            f"postgresql+psycopg://user@host/db, got {value!r}"
        )
    return value
