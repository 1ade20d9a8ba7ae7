"""The warehouse's configuration, read from the environment when definitions load.

Every variable is documented in the README's configuration table. Values are
validated here so a typo fails with one sentence naming the variable, not a trace
from deep inside a run.
"""

from __future__ import annotations

import datetime as dt
import os
import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from croniter import croniter

PROJECT_ROOT = Path(__file__).resolve().parents[1]
DEFAULT_WAREHOUSE_DIR = PROJECT_ROOT / "data" / "warehouse"
DEFAULT_SOURCE_TABLE = "public.analytics_events"
DEFAULT_START_DATE = "2024-01-01"
DEFAULT_LATE_DAYS = 3
DEFAULT_SCHEDULE_CRON = "0 1 * * *"
DEFAULT_FRESHNESS_CRON = "0 3 * * *"
DEFAULT_MAX_INVALID_SHARE = 0.05
DEFAULT_RAW_RETENTION_DAYS = 365
DEFAULT_SOURCE_RETENTION_DAYS = 90
DEFAULT_SNAPSHOT_RETENTION_DAYS = 30
# |modified z-score| from which a metric's day is an anomaly (metrics.md, section 9).
DEFAULT_ANOMALY_THRESHOLD = 4.0
# Further attempts at a day whose extraction failed transiently (connection lost, restart).
DEFAULT_SOURCE_RETRIES = 3
# Where analytics.duckdb and the reports go when the warehouse is on S3 (local by nature).
DEFAULT_LOCAL_DIR = PROJECT_ROOT / "data" / "local"
CATALOG_FILE_NAME = "catalog.db"
# The example price list the project ships (metrics.md, section 8).
DEFAULT_MODEL_PRICES = PROJECT_ROOT / "deploy" / "model_prices.csv"

_URI_SCHEME = re.compile(r"^[A-Za-z][A-Za-z0-9+.-]*:")
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


def parse_qualified_table(value: str, what: str = "ANALYTICS_SOURCE_TABLE") -> tuple[str, str]:
    """Splits `schema.table`; only plain identifiers are accepted, so quoting is never ambiguous."""
    if not _QUALIFIED_NAME.match(value):
        raise ConfigurationError(f"{what} must be schema.table (plain identifiers), got {value!r}")
    schema, table = value.split(".")
    return schema, table


def parse_whole_number(value: str, what: str, unit: str = "days") -> int:
    """Parses a non-negative integer or raises a ConfigurationError naming `what`."""
    if not value.isdigit():
        raise ConfigurationError(f"{what} must be a whole number of {unit}, got {value!r}")
    return int(value)


def parse_cron(value: str, what: str) -> str:
    """Accepts a five-field cron expression (names such as MON included), as Dagster does.

    croniter is the parser Dagster itself vendors for schedules.
    """
    if len(value.split()) != 5 or not croniter.is_valid(value.strip()):
        raise ConfigurationError(
            f"{what} must be a five-field cron expression such as '0 1 * * *', got {value!r}"
        )
    return value.strip()


def parse_share(value: str, what: str) -> float:
    """Parses a fraction between 0 and 1 or raises a ConfigurationError naming `what`."""
    try:
        share = float(value)
    except ValueError:
        share = -1.0
    if not 0 <= share <= 1:
        raise ConfigurationError(f"{what} must be a fraction between 0 and 1, got {value!r}")
    return share


def parse_threshold(value: str, what: str) -> float:
    """Parses a positive number or raises a ConfigurationError naming `what`."""
    try:
        threshold = float(value)
    except ValueError:
        threshold = -1.0
    if not 0 < threshold < float("inf"):
        raise ConfigurationError(f"{what} must be a positive number, got {value!r}")
    return threshold


def parse_webhook_url(value: str, what: str) -> str:
    """An http:// or https:// URL with a host."""
    if not re.match(r"^https?://[^/\s]+", value):
        raise ConfigurationError(f"{what} must be an http:// or https:// URL, got {value!r}")
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
        raise ConfigurationError(
            f"ANALYTICS_WAREHOUSE_DIR must be a local folder or s3://bucket/prefix, got {value!r}"
        )
    return value.rstrip("/")


def is_s3(location: str) -> bool:
    return location.startswith("s3://")


def default_catalog_uri(location: str) -> str:
    """The embedded default: a SQLite catalog inside a local warehouse; none for S3."""
    if is_s3(location):
        raise ConfigurationError(
            f"ANALYTICS_CATALOG_URI must be set for the s3:// warehouse {location}: a "
            "catalog file cannot live in S3 (use postgresql+psycopg://user@host/db)"
        )
    return f"sqlite:///{Path(location) / CATALOG_FILE_NAME}"


def parse_catalog_uri(value: str) -> str:
    """A SQLAlchemy URL of the Iceberg SQL catalog (SQLite or PostgreSQL)."""
    if not re.match(r"^(sqlite|postgresql(\+psycopg2?)?)://", value):
        raise ConfigurationError(
            "ANALYTICS_CATALOG_URI must be a SQLAlchemy URL such as sqlite:////path/catalog.db "
            f"or postgresql+psycopg://user@host/db, got {value!r}"
        )
    return value


@dataclass(frozen=True)
class ObjectStorage:
    """Where an s3:// warehouse's objects are served, from the standard AWS variables.

    pyiceberg's S3 FileIO (Arrow's S3 filesystem) does not read `AWS_ENDPOINT_URL` and,
    without a region, asks AWS itself where the bucket is: both are handed to it
    explicitly. The keys are credentials: kept out of reprs and logs.
    """

    endpoint: str | None = None
    region: str | None = None
    access_key_id: str | None = field(default=None, repr=False)
    secret_access_key: str | None = field(default=None, repr=False)

    @classmethod
    def from_environment(cls) -> ObjectStorage:
        env = os.environ.get
        return cls(
            endpoint=env("AWS_ENDPOINT_URL_S3") or env("AWS_ENDPOINT_URL") or None,
            region=env("AWS_REGION") or env("AWS_DEFAULT_REGION") or None,
            access_key_id=env("AWS_ACCESS_KEY_ID") or None,
            secret_access_key=env("AWS_SECRET_ACCESS_KEY") or None,
        )

    def properties(self) -> dict[str, str]:
        """pyiceberg FileIO properties; unset values are left to Arrow's AWS defaults."""
        named = {
            "s3.endpoint": self.endpoint,
            "s3.region": self.region,
            "s3.access-key-id": self.access_key_id,
            "s3.secret-access-key": self.secret_access_key,
        }
        return {key: value for key, value in named.items() if value}


@dataclass(frozen=True)
class StorageSettings:
    """Where the warehouse is: all an export or an upgrade needs, so a bad variable of
    another feature (a schedule's cron, say) never stops them."""

    warehouse_location: str
    catalog_uri: str
    local_dir: Path
    object_storage: ObjectStorage = ObjectStorage()

    @classmethod
    def from_environment(cls) -> StorageSettings:
        env = os.environ.get
        location = parse_warehouse_location(
            env("ANALYTICS_WAREHOUSE_DIR") or str(DEFAULT_WAREHOUSE_DIR)
        )
        catalog_uri = env("ANALYTICS_CATALOG_URI")
        return cls(
            warehouse_location=location,
            catalog_uri=(
                parse_catalog_uri(catalog_uri) if catalog_uri else default_catalog_uri(location)
            ),
            local_dir=Path(
                env("ANALYTICS_LOCAL_DIR") or (DEFAULT_LOCAL_DIR if is_s3(location) else location)
            ).resolve(),
            object_storage=ObjectStorage.from_environment() if is_s3(location) else ObjectStorage(),
        )


@dataclass(frozen=True)
class Settings:
    source_table: str
    warehouse_location: str
    catalog_uri: str
    local_dir: Path
    start_date: dt.date
    late_days: int
    snapshot_retention_days: int = DEFAULT_SNAPSHOT_RETENTION_DAYS
    schedule_cron: str = DEFAULT_SCHEDULE_CRON
    freshness_cron: str = DEFAULT_FRESHNESS_CRON
    max_invalid_share: float = DEFAULT_MAX_INVALID_SHARE
    raw_retention_days: int = DEFAULT_RAW_RETENTION_DAYS
    source_retention_days: int = DEFAULT_SOURCE_RETENTION_DAYS
    source_retries: int = DEFAULT_SOURCE_RETRIES
    anomaly_threshold: float = DEFAULT_ANOMALY_THRESHOLD
    # where anomalies are posted; None: computed, never posted
    alert_webhook_url: str | None = None
    model_prices: Path = DEFAULT_MODEL_PRICES
    # schema.table of the platform's organisation time zones; None: every organisation in UTC
    org_timezones_table: str | None = None
    # S3 endpoint, region and keys of an s3:// warehouse (empty for a local one)
    object_storage: ObjectStorage = ObjectStorage()

    @classmethod
    def from_environment(cls) -> Settings:
        table = os.environ.get("ANALYTICS_SOURCE_TABLE") or DEFAULT_SOURCE_TABLE
        parse_qualified_table(table)
        late_days_text = os.environ.get("ANALYTICS_LATE_DAYS") or str(DEFAULT_LATE_DAYS)
        if not late_days_text.isdigit():
            raise ConfigurationError(
                f"ANALYTICS_LATE_DAYS must be a whole number of days, got {late_days_text!r}"
            )
        storage = StorageSettings.from_environment()
        timezones_table = os.environ.get("ANALYTICS_ORG_TIMEZONES_TABLE") or None
        if timezones_table:
            parse_qualified_table(timezones_table, "ANALYTICS_ORG_TIMEZONES_TABLE")
        return cls(
            source_table=table,
            warehouse_location=storage.warehouse_location,
            catalog_uri=storage.catalog_uri,
            local_dir=storage.local_dir,
            object_storage=storage.object_storage,
            start_date=parse_date(
                os.environ.get("ANALYTICS_START_DATE") or DEFAULT_START_DATE,
                "ANALYTICS_START_DATE",
            ),
            late_days=int(late_days_text),
            source_retries=parse_whole_number(
                os.environ.get("ANALYTICS_SOURCE_RETRIES") or str(DEFAULT_SOURCE_RETRIES),
                "ANALYTICS_SOURCE_RETRIES",
                "retries",
            ),
            model_prices=Path(
                os.environ.get("ANALYTICS_MODEL_PRICES") or DEFAULT_MODEL_PRICES
            ).resolve(),
            org_timezones_table=timezones_table,
            **_operations_settings(int(late_days_text)),
        )


def _operations_settings(late_days: int) -> dict[str, Any]:
    """The schedule, check and retention variables (docs/operations.md)."""
    env = os.environ.get
    retention = {
        name: parse_whole_number(env(variable) or str(default), variable)
        for name, variable, default in (
            ("raw_retention_days", "ANALYTICS_RAW_RETENTION_DAYS", DEFAULT_RAW_RETENTION_DAYS),
            (
                "source_retention_days",
                "ANALYTICS_SOURCE_RETENTION_DAYS",
                DEFAULT_SOURCE_RETENTION_DAYS,
            ),
        )
    }
    for name, days in retention.items():
        if days <= late_days:
            # The schedule re-reads the late window, so it must never be pruned.
            raise ConfigurationError(
                f"ANALYTICS_{name.upper()} ({days}) must exceed ANALYTICS_LATE_DAYS ({late_days})"
            )
    return {
        "snapshot_retention_days": parse_whole_number(
            env("ANALYTICS_SNAPSHOT_RETENTION_DAYS") or str(DEFAULT_SNAPSHOT_RETENTION_DAYS),
            "ANALYTICS_SNAPSHOT_RETENTION_DAYS",
        ),
        "schedule_cron": parse_cron(
            env("ANALYTICS_SCHEDULE_CRON") or DEFAULT_SCHEDULE_CRON, "ANALYTICS_SCHEDULE_CRON"
        ),
        "freshness_cron": parse_cron(
            env("ANALYTICS_FRESHNESS_CRON") or DEFAULT_FRESHNESS_CRON, "ANALYTICS_FRESHNESS_CRON"
        ),
        "max_invalid_share": parse_share(
            env("ANALYTICS_MAX_INVALID_SHARE") or str(DEFAULT_MAX_INVALID_SHARE),
            "ANALYTICS_MAX_INVALID_SHARE",
        ),
        "anomaly_threshold": parse_threshold(
            env("ANALYTICS_ANOMALY_THRESHOLD") or str(DEFAULT_ANOMALY_THRESHOLD),
            "ANALYTICS_ANOMALY_THRESHOLD",
        ),
        "alert_webhook_url": (
            parse_webhook_url(
                env("ANALYTICS_ALERT_WEBHOOK_URL") or "", "ANALYTICS_ALERT_WEBHOOK_URL"
            )
            if env("ANALYTICS_ALERT_WEBHOOK_URL")
            else None
        ),
        **retention,
    }
