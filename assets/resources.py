"""The pipeline's resources: where events come from and where the warehouse lives.

Built once, from the settings read when the definitions load (`pipelines/definitions.py`).
"""

from __future__ import annotations

from pathlib import Path

from dagster import ConfigurableResource

from warehouse.lakehouse import Lakehouse
from warehouse.settings import (
    DEFAULT_MAX_INVALID_SHARE,
    DEFAULT_SNAPSHOT_RETENTION_DAYS,
    DEFAULT_SOURCE_TABLE,
)


class SourceDatabase(ConfigurableResource):  # type: ignore[misc]
    """The platform's PostgreSQL, read through read-only UTC sessions."""

    dsn: str
    table: str = DEFAULT_SOURCE_TABLE


class Warehouse(ConfigurableResource):  # type: ignore[misc]
    """The lakehouse (Iceberg tables and their catalog) and the local folder of derived files.

    `local_dir` holds `analytics.duckdb` and the reports: the warehouse folder itself
    when it is local.
    """

    location: str
    catalog_uri: str
    local_dir: str
    max_invalid_share: float = DEFAULT_MAX_INVALID_SHARE
    snapshot_retention_days: int = DEFAULT_SNAPSHOT_RETENTION_DAYS

    def lakehouse(self) -> Lakehouse:
        return Lakehouse(self.location, self.catalog_uri)

    @property
    def local_path(self) -> Path:
        return Path(self.local_dir)


class PruneDatabase(ConfigurableResource):  # type: ignore[misc]
    """A role allowed to delete from the source, used only by the opt-in prune job.

    Kept apart from `SourceDatabase` so the extraction's DSN can stay read-only.
    """

    dsn: str
    table: str = DEFAULT_SOURCE_TABLE
