"""The pipeline's resources, each owning its settings and checking them.

Every setting is an environment variable (README, "Configuration"); a resource lists the
variables of its fields (`VARIABLES`), and `from_environment` builds it from them, so
there is one way in and every value is checked by the resource that owns it, with one
sentence naming the variable for a bad one (`ConfigurationError`). Secrets (the DSNs, the
S3 key, the webhook URL) are handed to Dagster by name (`EnvVar`), so the UI never shows
them. Nothing is read from the environment when a module is imported: the code
location's `@definitions` function and each command call `from_environment` once.
"""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path
from typing import Any, Self

import pyarrow as pa
from dagster import ConfigurableResource, EnvVar
from pydantic import BaseModel, Field, ValidationError, field_validator, model_validator

from warehouse.costs import load_prices, prices_version
from warehouse.embedded_postgres import start_embedded_postgres
from warehouse.settings import (
    PROJECT_ROOT,
    ConfigurationError,
    parse_catalog_uri,
    parse_positive_number,
    parse_qualified_table,
    parse_share,
    parse_warehouse_location,
    parse_webhook_url,
    parse_whole_number,
)
from warehouse.storage.catalog import Lakehouse, is_s3

CATALOG_FILE_NAME = "catalog.db"


def resolved(value: str | None) -> str | None:
    """A setting's value: an EnvVar's (Dagster resolves them in a run, not outside one)."""
    if isinstance(value, EnvVar):
        return value.get_value() or None
    return value or None


def _unless_named(value: Any, parse: Any) -> Any:
    """Checks a value given as itself; one given by name (EnvVar) is checked when read."""
    return value if isinstance(value, EnvVar) or value is None else parse(value)


class FromEnvironment:
    """Settings (a resource, or the code location's own) whose fields are environment
    variables (its `variables()`)."""

    @classmethod
    def variables(cls) -> dict[str, str]:
        """Each field's environment variable."""
        raise NotImplementedError

    @classmethod
    def secrets(cls) -> frozenset[str]:
        """The fields handed to Dagster by name, never by value."""
        return frozenset()

    @classmethod
    def from_environment(cls, environment: Mapping[str, str], **fixed: Any) -> Self:
        """The resource of the variables set in `environment` (empty ones are unset) and
        the `fixed` values; the others keep their defaults."""
        values: dict[str, Any] = {}
        for name, variable in cls.variables().items():
            value = environment.get(variable)
            if not value:
                continue
            if name in cls.secrets():
                checked(cls, {name: value})  # the value itself, before it goes by name
                values[name] = EnvVar(variable)
            else:
                values[name] = value
        return checked(cls, {**values, **fixed})


def checked(cls: type[FromEnvironment], values: Mapping[str, Any]) -> Any:
    """`cls(**values)`, with the first invalid value as one sentence naming its variable."""
    try:
        return cls(**values)  # type: ignore[call-arg]
    except ValidationError as error:
        first = error.errors()[0]
        message = str(first.get("ctx", {}).get("error", first["msg"]))
        field = str(first["loc"][0]) if first["loc"] else None
        variable = cls.variables().get(field) if field else None
        raise ConfigurationError(f"{variable} {message}" if variable else message) from None


class EnvironmentResource(FromEnvironment, ConfigurableResource):  # type: ignore[misc]
    """A Dagster resource built from environment variables."""


class EnvironmentSettings(FromEnvironment, BaseModel):
    """Settings built from environment variables that are not a resource."""

    model_config = {"frozen": True}


class SourceResource(EnvironmentResource):
    """The platform's PostgreSQL, read through read-only UTC sessions: the events table
    and the platform's organisation time zones (None: every organisation in UTC).

    Without a DSN, `embedded_dir` names the folder of the project's embedded PostgreSQL
    (the demo's source, which it writes into `.env`): each run that reads the source
    starts it, or finds it running, and stops it when done.
    """

    dsn: str = Field(default="", description="libpq conninfo or URI of the source database.")
    embedded_dir: str | None = Field(
        default=None, description="Folder of the embedded PostgreSQL read without a DSN."
    )
    table: str = Field(default="public.analytics_events", description="schema.table of events.")
    retries: int = Field(default=3, description="Retries of a day after a transient failure.")
    timezones_table: str | None = Field(
        default=None, description="schema.table of the organisations' time zones."
    )

    @classmethod
    def variables(cls) -> dict[str, str]:
        return {
            "dsn": "ANALYTICS_SOURCE_DSN",
            "embedded_dir": "ANALYTICS_EMBEDDED_POSTGRES",
            "table": "ANALYTICS_SOURCE_TABLE",
            "retries": "ANALYTICS_SOURCE_RETRIES",
            "timezones_table": "ANALYTICS_ORG_TIMEZONES_TABLE",
        }

    @classmethod
    def secrets(cls) -> frozenset[str]:
        return frozenset({"dsn"})

    @field_validator("table", "timezones_table", mode="before")
    @classmethod
    def _qualified(cls, value: str | None) -> str | None:
        if value is not None:
            parse_qualified_table(value)
        return value

    @field_validator("retries", mode="before")
    @classmethod
    def _retries(cls, value: str | int) -> int:
        return parse_whole_number(value, "retries")

    @property
    def conninfo(self) -> str:
        """The DSN; the embedded server's, started if need be, when there is none."""
        dsn = resolved(self.dsn)
        if dsn is None and self.embedded_dir:
            return start_embedded_postgres(Path(self.embedded_dir))
        return dsn or ""


class PruneDatabase(EnvironmentResource):
    """A role allowed to delete from the source, used only by the opt-in prune job: kept
    apart from the source so the extraction's DSN can stay read-only."""

    dsn: str = Field(default="", description="DSN of a role that may delete source rows.")
    table: str = Field(default="public.analytics_events", description="schema.table of events.")

    @classmethod
    def variables(cls) -> dict[str, str]:
        return {"dsn": "ANALYTICS_PRUNE_DSN", "table": "ANALYTICS_SOURCE_TABLE"}

    @classmethod
    def secrets(cls) -> frozenset[str]:
        return frozenset({"dsn"})

    @property
    def conninfo(self) -> str:
        return resolved(self.dsn) or ""


class LakehouseResource(EnvironmentResource):
    """Where the warehouse lives: the Iceberg tables, their catalog, and the local folder
    of the files derived from them (`analytics.duckdb`, the reports).

    Unset, the catalog is a SQLite file inside a local warehouse (an s3:// warehouse needs
    one set) and the local folder is the warehouse folder (`data/local` for s3://). The
    `s3_*` fields are the standard AWS variables, handed to pyiceberg's FileIO, which
    reads neither the endpoint nor the region by itself.
    """

    location: str = Field(
        default=str(PROJECT_ROOT / "data" / "warehouse"),
        description="A local folder or s3://bucket/prefix.",
    )
    catalog_uri: str = Field(default="", description="SQLAlchemy URL of the Iceberg SQL catalog.")
    local_dir: str = Field(default="", description="Local folder of analytics.duckdb and reports.")
    s3_endpoint: str | None = None
    s3_region: str | None = None
    s3_access_key_id: str | None = None
    s3_secret_access_key: str | None = None

    @classmethod
    def variables(cls) -> dict[str, str]:
        return {
            "location": "ANALYTICS_WAREHOUSE_DIR",
            "catalog_uri": "ANALYTICS_CATALOG_URI",
            "local_dir": "ANALYTICS_LOCAL_DIR",
            "s3_endpoint": "AWS_ENDPOINT_URL",
            "s3_region": "AWS_REGION",
            "s3_access_key_id": "AWS_ACCESS_KEY_ID",
            "s3_secret_access_key": "AWS_SECRET_ACCESS_KEY",
        }

    @classmethod
    def secrets(cls) -> frozenset[str]:
        return frozenset({"s3_secret_access_key"})

    @field_validator("location", mode="before")
    @classmethod
    def _location(cls, value: str) -> str:
        return parse_warehouse_location(value)

    @field_validator("catalog_uri", mode="before")
    @classmethod
    def _catalog(cls, value: str) -> str:
        return parse_catalog_uri(value) if value else value

    @model_validator(mode="after")
    def _catalog_for_s3(self) -> Self:
        if is_s3(self.location) and not self.catalog_uri:
            raise ValueError(
                f"ANALYTICS_CATALOG_URI must be set for the s3:// warehouse {self.location}: a "
                "catalog file cannot live in S3 (use postgresql+psycopg://user@host/db)"
            )
        return self

    @property
    def catalog(self) -> str:
        return self.catalog_uri or f"sqlite:///{Path(self.location) / CATALOG_FILE_NAME}"

    @property
    def local_path(self) -> Path:
        if self.local_dir:
            return Path(self.local_dir).resolve()
        return PROJECT_ROOT / "data" / "local" if is_s3(self.location) else Path(self.location)

    def storage_properties(self) -> dict[str, str]:
        """pyiceberg FileIO properties of an s3:// warehouse; unset ones are Arrow's defaults."""
        if not is_s3(self.location):
            return {}
        named = {
            "s3.endpoint": self.s3_endpoint,
            "s3.region": self.s3_region,
            "s3.access-key-id": self.s3_access_key_id,
            "s3.secret-access-key": resolved(self.s3_secret_access_key),
        }
        return {key: value for key, value in named.items() if value}

    def open(self) -> Lakehouse:
        """A Lakehouse for one step or one command (it keeps the tables it loads)."""
        return Lakehouse(self.location, self.catalog, self.storage_properties())


class PriceListResource(EnvironmentResource):
    """The price list the costs are computed with (a CSV file; the project ships one)."""

    path: str = Field(
        default=str(PROJECT_ROOT / "deploy" / "model_prices.csv"),
        description="CSV of model,effective_from,usd_per_million_tokens.",
    )

    @classmethod
    def variables(cls) -> dict[str, str]:
        return {"path": "ANALYTICS_MODEL_PRICES"}

    @field_validator("path", mode="before")
    @classmethod
    def _absolute(cls, value: str) -> str:
        return str(Path(value).resolve())

    @property
    def digest(self) -> str:
        """The file's digest: the code version of every table priced with it."""
        return prices_version(Path(self.path))

    def load(self) -> pa.Table:
        return load_prices(Path(self.path))


class ChecksResource(EnvironmentResource):
    """The thresholds of the non-blocking data checks."""

    max_invalid_share: float = Field(
        default=0.05, description="Share of a day's events one validity issue may reach."
    )
    min_priced_share: float = Field(
        default=0.95, description="Share of a day's valid tokens that must have a price."
    )

    @classmethod
    def variables(cls) -> dict[str, str]:
        return {
            "max_invalid_share": "ANALYTICS_MAX_INVALID_SHARE",
            "min_priced_share": "ANALYTICS_MIN_PRICED_SHARE",
        }

    @field_validator("max_invalid_share", "min_priced_share", mode="before")
    @classmethod
    def _share(cls, value: str | float) -> float:
        return parse_share(value)


class MonitorsResource(EnvironmentResource):
    """The anomaly threshold and where new anomalies are posted (None: nowhere).

    `alert_days`: the days before today whose anomalies are posted (the late window).
    """

    threshold: float = Field(default=4.0, description="|modified z-score| of an anomaly.")
    webhook_url: str | None = Field(default=None, description="Where anomalies are posted.")
    alert_days: int = Field(default=4, description="Days before today whose anomalies post.")

    @classmethod
    def variables(cls) -> dict[str, str]:
        return {
            "threshold": "ANALYTICS_ANOMALY_THRESHOLD",
            "webhook_url": "ANALYTICS_ALERT_WEBHOOK_URL",
        }

    @classmethod
    def secrets(cls) -> frozenset[str]:
        return frozenset({"webhook_url"})

    @field_validator("threshold", mode="before")
    @classmethod
    def _threshold(cls, value: str | float) -> float:
        return parse_positive_number(value)

    @field_validator("webhook_url", mode="before")
    @classmethod
    def _webhook(cls, value: str | None) -> str | None:
        return _unless_named(value, parse_webhook_url)  # type: ignore[no-any-return]

    @property
    def url(self) -> str | None:
        return resolved(self.webhook_url)


class RetentionResource(EnvironmentResource):
    """How long the retention jobs keep raw lake days, source rows and table snapshots."""

    raw_days: int = Field(default=365, description="Days of raw events partitions kept.")
    source_days: int = Field(default=90, description="Days of source rows prune_source keeps.")
    snapshot_days: int = Field(default=30, description="Days of snapshots kept for time travel.")

    @classmethod
    def variables(cls) -> dict[str, str]:
        return {
            "raw_days": "ANALYTICS_RAW_RETENTION_DAYS",
            "source_days": "ANALYTICS_SOURCE_RETENTION_DAYS",
            "snapshot_days": "ANALYTICS_SNAPSHOT_RETENTION_DAYS",
        }

    @field_validator("raw_days", "source_days", "snapshot_days", mode="before")
    @classmethod
    def _days(cls, value: str | int) -> int:
        return parse_whole_number(value, "days")
