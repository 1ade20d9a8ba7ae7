"""The pipeline's resources: where events come from and where the warehouse lives.

Built once, from the settings read when the definitions load (`pipelines/definitions.py`).
"""

from __future__ import annotations

from pathlib import Path

from dagster import ConfigurableResource, EnvVar

from warehouse.lakehouse import Lakehouse, open_lakehouse
from warehouse.settings import (
    DEFAULT_ANOMALY_THRESHOLD,
    DEFAULT_LATE_DAYS,
    DEFAULT_MAX_INVALID_SHARE,
    DEFAULT_MODEL_PRICES,
    DEFAULT_SNAPSHOT_RETENTION_DAYS,
    DEFAULT_SOURCE_RETRIES,
    DEFAULT_SOURCE_TABLE,
    ObjectStorage,
    Settings,
)


class SourceDatabase(ConfigurableResource):  # type: ignore[misc]
    """The platform's PostgreSQL, read through read-only UTC sessions.

    `retries`: further attempts at a day whose read failed transiently (ANALYTICS_SOURCE_RETRIES).
    `timezones_table`: the platform's organisation time zones (ANALYTICS_ORG_TIMEZONES_TABLE);
    None puts every organisation in UTC.
    """

    dsn: str
    table: str = DEFAULT_SOURCE_TABLE
    retries: int = DEFAULT_SOURCE_RETRIES
    timezones_table: str | None = None


class Warehouse(ConfigurableResource):  # type: ignore[misc]
    """The lakehouse (Iceberg tables and their catalog) and the local folder of derived files.

    `local_dir` holds `analytics.duckdb` and the reports: the warehouse folder itself
    when it is local. The `s3_*` fields are the S3 endpoint, region and keys of an s3://
    warehouse (the standard AWS variables, read by `Settings`).
    """

    location: str
    catalog_uri: str
    local_dir: str
    max_invalid_share: float = DEFAULT_MAX_INVALID_SHARE
    snapshot_retention_days: int = DEFAULT_SNAPSHOT_RETENTION_DAYS
    s3_endpoint: str | None = None
    s3_region: str | None = None
    s3_access_key_id: str | None = None
    s3_secret_access_key: str | None = None
    anomaly_threshold: float = DEFAULT_ANOMALY_THRESHOLD
    alert_webhook_url: str | None = None
    alert_days: int = DEFAULT_LATE_DAYS + 1
    model_prices: str = str(DEFAULT_MODEL_PRICES)

    @classmethod
    def from_settings(cls, settings: Settings) -> Warehouse:
        storage = settings.object_storage
        return cls(
            location=settings.warehouse_location,
            catalog_uri=settings.catalog_uri,
            local_dir=str(settings.local_dir),
            max_invalid_share=settings.max_invalid_share,
            snapshot_retention_days=settings.snapshot_retention_days,
            s3_endpoint=storage.endpoint,
            s3_region=storage.region,
            s3_access_key_id=storage.access_key_id,
            # named, not copied: Dagster shows resource values in its UI, an EnvVar by name
            s3_secret_access_key=(
                EnvVar("AWS_SECRET_ACCESS_KEY") if storage.secret_access_key else None
            ),
            anomaly_threshold=settings.anomaly_threshold,
            # a Slack webhook URL is a secret too
            alert_webhook_url=(
                EnvVar("ANALYTICS_ALERT_WEBHOOK_URL") if settings.alert_webhook_url else None
            ),
            alert_days=settings.late_days + 1,
            model_prices=str(settings.model_prices),
        )

    def lakehouse(self) -> Lakehouse:
        secret = self.s3_secret_access_key
        if isinstance(secret, EnvVar):  # resolved by Dagster in a run, not outside one
            secret = secret.get_value()
        storage = ObjectStorage(
            endpoint=self.s3_endpoint,
            region=self.s3_region,
            access_key_id=self.s3_access_key_id,
            secret_access_key=secret,
        )
        return open_lakehouse(self.location, self.catalog_uri, storage)

    def webhook_url(self) -> str | None:
        url = self.alert_webhook_url
        if isinstance(url, EnvVar):  # resolved by Dagster in a run, not outside one
            url = url.get_value()
        return url or None

    @property
    def local_path(self) -> Path:
        return Path(self.local_dir)


class PruneDatabase(ConfigurableResource):  # type: ignore[misc]
    """A role allowed to delete from the source, used only by the opt-in prune job.

    Kept apart from `SourceDatabase` so the extraction's DSN can stay read-only.
    """

    dsn: str
    table: str = DEFAULT_SOURCE_TABLE
