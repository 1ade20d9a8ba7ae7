"""The daily tables: one Parquet partition per UTC day, each computed by its SQL in `sql/daily/`."""

import duckdb
from dagster import (
    AssetExecutionContext,
    AssetsDefinition,
    BackfillPolicy,
    Failure,
    MaterializeResult,
    asset,
)

from assets.checks import check_daily_table, daily_table_check_specs
from assets.metadata import OWNERS, definition_metadata, materialization_metadata
from assets.raw_events import events
from pipelines.partitions import daily_partitions, partition_days
from pipelines.resources import Warehouse
from pipelines.settings import Settings
from warehouse.catalog import publish_catalog
from warehouse.daily_tables import MissingEventsError, write_daily_table
from warehouse.lake import partition_path, read_preview
from warehouse.tables import DAILY_TABLES, TableSpec


def build_daily_table_asset(spec: TableSpec) -> AssetsDefinition:
    """One asset per daily table; they differ only in their SQL and their columns."""

    @asset(
        name=spec.name,
        group_name="daily",
        description=spec.description,
        partitions_def=daily_partitions,
        backfill_policy=BackfillPolicy.single_run(),
        deps=[events],
        kinds={"duckdb", "parquet"},
        owners=OWNERS,
        metadata=definition_metadata(spec),
        check_specs=daily_table_check_specs(spec),
    )
    def daily_table(context: AssetExecutionContext, warehouse: Warehouse) -> MaterializeResult:
        days = partition_days(context)
        rows = 0
        with duckdb.connect() as connection:
            for day in days:
                try:
                    rows += write_daily_table(connection, spec.name, day, warehouse.path)
                except MissingEventsError as error:
                    raise Failure(description=str(error), allow_retries=False) from None
        preview = read_preview(partition_path(warehouse.path, spec.name, days[-1]))
        publish_catalog(warehouse.path)
        checks = check_daily_table(
            spec, warehouse.path, days, Settings.from_environment().max_invalid_share
        )
        return MaterializeResult(
            metadata=materialization_metadata(rows, preview), check_results=checks
        )

    return daily_table


daily_table_assets = [build_daily_table_asset(spec) for spec in DAILY_TABLES]
