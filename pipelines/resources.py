"""The pipeline's two resources: where events come from and where the warehouse lives."""

from __future__ import annotations

from pathlib import Path

from dagster import ConfigurableResource

from pipelines.settings import DEFAULT_SOURCE_TABLE


class SourceDatabase(ConfigurableResource):  # type: ignore[misc]
    """The platform's PostgreSQL, read through read-only UTC sessions."""

    dsn: str
    table: str = DEFAULT_SOURCE_TABLE


class Warehouse(ConfigurableResource):  # type: ignore[misc]
    """The folder holding the Parquet lake and the `analytics.duckdb` catalog."""

    directory: str

    @property
    def path(self) -> Path:
        return Path(self.directory)


class PruneDatabase(ConfigurableResource):  # type: ignore[misc]
    """A role allowed to delete from the source, used only by the opt-in prune job.

    Kept apart from `SourceDatabase` so the extraction's DSN can stay read-only.
    """

    dsn: str
    table: str = DEFAULT_SOURCE_TABLE
