"""The daily tables: one Iceberg partition per UTC day, each computed by its SQL in `sql/daily/`.

They are one Dagster step (a subsettable multi-asset): each day of the run is read from
the lake once and every selected table is computed from that copy, then the day is
published for all of them once all their audits pass. Seven steps used to read the day
seven times and each pay a step's start. Selecting one table still computes only it.

The tables with costs (COST_TABLES) also depend on `model_prices`, and their code version
is the price file's digest: a new price file marks every partition of them stale.
"""

from collections.abc import Iterator

from dagster import (
    AssetExecutionContext,
    AssetsDefinition,
    AssetSpec,
    DailyPartitionsDefinition,
    Failure,
    MaterializeResult,
)

from assets.checks import check_results, invalid_share_result
from assets.metadata import OWNERS, definition_metadata
from assets.partitions import partition_days
from assets.publishing import publishing
from assets.resources import Warehouse
from assets.selection import selected_checks, selected_tables, table_step
from warehouse.audits import invalid_shares
from warehouse.daily_tables import MissingEventsError, compute_daily_tables
from warehouse.engine import compute_connection
from warehouse.tables import (
    DAILY_TABLES,
    DATA_QUALITY,
    EVENTS,
    MODEL_PRICES,
    ORGANIZATION_TIMEZONES,
    TableSpec,
    is_priced,
)


def daily_table_spec(spec: TableSpec, prices_version: str | None) -> AssetSpec:
    priced = is_priced(spec)
    return AssetSpec(
        spec.name,
        group_name="daily",
        description=spec.description,
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
    )


def build_daily_tables_asset(
    partitions: DailyPartitionsDefinition, prices_version: str | None = None
) -> AssetsDefinition:
    """The seven daily tables as one step: they differ only in their SQL and their columns."""

    @table_step(
        "daily_tables",
        DAILY_TABLES,
        lambda spec: daily_table_spec(spec, prices_version),
        partitions,
    )
    def daily_tables(
        context: AssetExecutionContext, warehouse: Warehouse
    ) -> Iterator[MaterializeResult]:
        specs = selected_tables(context, DAILY_TABLES)
        days = partition_days(context)
        lakehouse = warehouse.lakehouse()
        with publishing(context, warehouse) as publisher:
            for day in days:
                try:
                    computed = compute_daily_tables(lakehouse, specs, day)
                except MissingEventsError as error:
                    raise Failure(description=str(error), allow_retries=False) from None
                publisher.publish_computed(day, computed)
        for spec in specs:
            published = publisher.published[spec]
            results = check_results(spec, published.audits)
            if spec is DATA_QUALITY:
                with compute_connection() as connection:
                    lakehouse.register(connection, min(days), max(days), [EVENTS, DATA_QUALITY])
                    largest, over = invalid_shares(connection, warehouse.max_invalid_share)
                results.append(invalid_share_result(warehouse.max_invalid_share, largest, over))
            yield MaterializeResult(
                asset_key=spec.name,
                check_results=selected_checks(context, results),
            )

    return daily_tables
