"""The daily tables: one Iceberg partition per UTC day, each computed by its SQL in `sql/daily/`.

The tables with costs (COST_TABLES) also depend on `model_prices`, and their code version
is the price file's digest: a new price file marks every partition of them stale.
"""

from collections.abc import Iterator

from dagster import (
    AssetExecutionContext,
    AssetsDefinition,
    BackfillPolicy,
    DailyPartitionsDefinition,
    Failure,
    MaterializeResult,
    asset,
)

from assets.checks import check_results, check_specs, invalid_share_result
from assets.metadata import OWNERS, definition_metadata, materialization_metadata
from assets.partitions import partition_days
from assets.publishing import DayRows, publish_days
from assets.resources import Warehouse
from warehouse.audits import audit_rows, invalid_shares
from warehouse.daily_tables import MissingEventsError, compute_daily_table
from warehouse.lakehouse import Lakehouse
from warehouse.tables import (
    COST_TABLES,
    DAILY_TABLES,
    DATA_QUALITY,
    EVENTS,
    MODEL_PRICES,
    ORGANIZATION_TIMEZONES,
    TableSpec,
)
from warehouse.views import connect


def _computed_days(lakehouse: Lakehouse, spec: TableSpec, days: list) -> Iterator[DayRows]:
    for day in days:
        rows = compute_daily_table(lakehouse, spec, day)
        yield day, rows, audit_rows(spec, day, rows)


def build_daily_table_asset(
    spec: TableSpec, partitions: DailyPartitionsDefinition, prices_version: str | None = None
) -> AssetsDefinition:
    """One asset per daily table; they differ only in their SQL and their columns."""
    priced = spec in COST_TABLES

    @asset(
        name=spec.name,
        group_name="daily",
        description=spec.description,
        partitions_def=partitions,
        backfill_policy=BackfillPolicy.single_run(),
        # data_quality counts each day's unknown organisation time zones too
        deps=[
            EVENTS.name,
            *([MODEL_PRICES.name] if priced else []),
            *([ORGANIZATION_TIMEZONES.name] if spec is DATA_QUALITY else []),
        ],
        code_version=prices_version if priced else None,
        kinds={"duckdb", "iceberg"},
        owners=OWNERS,
        metadata=definition_metadata(spec),
        check_specs=check_specs(spec),
    )
    def daily_table(context: AssetExecutionContext, warehouse: Warehouse) -> MaterializeResult:
        days = partition_days(context)
        lakehouse = warehouse.lakehouse()
        try:
            published = publish_days(
                context, warehouse, spec, _computed_days(lakehouse, spec, days)
            )
        except MissingEventsError as error:
            raise Failure(description=str(error), allow_retries=False) from None
        results = check_results(spec, published.audits)
        if spec is DATA_QUALITY:
            quality_tables = [EVENTS, DATA_QUALITY]
            with connect(lakehouse, min(days), max(days), tables=quality_tables) as connection:
                largest, over = invalid_shares(connection, warehouse.max_invalid_share)
            results.append(invalid_share_result(warehouse.max_invalid_share, largest, over))
        return MaterializeResult(
            metadata=materialization_metadata(published.rows_per_day), check_results=results
        )

    return daily_table


def build_daily_table_assets(
    partitions: DailyPartitionsDefinition, prices_version: str | None = None
) -> list[AssetsDefinition]:
    return [build_daily_table_asset(spec, partitions, prices_version) for spec in DAILY_TABLES]
