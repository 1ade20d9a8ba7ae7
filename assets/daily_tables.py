"""The daily tables: one Iceberg partition per UTC day, each computed by its SQL in `sql/daily/`.

They are one Dagster step (a subsettable multi-asset): each day of the run is read from
the lake once and every selected table is computed from that copy, then the day is
published for all of them once all their audits pass. Selecting one table still computes
only it.

The tables with costs also depend on `model_prices`, and their code version is the price
file's digest: a new price file marks every partition of them stale.
"""

import datetime as dt
from collections.abc import Iterator

from dagster import (
    AssetExecutionContext,
    AssetsDefinition,
    AssetSpec,
    Failure,
    MaterializeResult,
)

from assets.checks import check_results, invalid_share_result, priced_share_result
from assets.partitions import Partitioning, partition_days
from assets.publishing import publishing
from assets.resources import ChecksResource, LakehouseResource, PriceListResource
from assets.steps import selected_checks, selected_tables, table_spec, table_step
from warehouse.audits import invalid_shares, priced_shares
from warehouse.daily_tables import compute_daily_tables
from warehouse.engine import compute_connection
from warehouse.provenance import Provenance
from warehouse.storage.catalog import Lakehouse
from warehouse.storage.reading import published_rows, register_tables
from warehouse.tables import (
    DAILY_TABLES,
    DATA_QUALITY,
    EVENTS,
    MODEL_PRICES,
    MODEL_USAGE,
    ORGANIZATION_TIMEZONES,
    TableSpec,
    is_priced,
)


def daily_table_spec(spec: TableSpec, prices_version: str | None) -> AssetSpec:
    priced = is_priced(spec)
    return table_spec(
        spec,
        "daily",
        # data_quality counts each day's unknown organisation time zones too
        deps=[
            EVENTS.name,
            *([MODEL_PRICES.name] if priced else []),
            *([ORGANIZATION_TIMEZONES.name] if spec is DATA_QUALITY else []),
        ],
        code_version=prices_version if priced else None,
    )


def require_raw_events(lakehouse: Lakehouse, specs: list[TableSpec], day: dt.date) -> None:
    """Refuses to replace a day's published rows when its raw events are not in the lake
    (retired by retention, or never extracted): an empty day has no rows to lose."""
    if published_rows(lakehouse, EVENTS, day) is not None:
        return
    holding = [spec.name for spec in specs if published_rows(lakehouse, spec, day)]
    if holding:
        raise Failure(
            description=(
                f"The raw events of {day} are not in the lake (retired or never extracted): "
                f"{', '.join(holding)} {'keeps its' if len(holding) == 1 else 'keep their'} "
                f"published rows; materialise `events` for {day} first."
            ),
            allow_retries=False,
        )


def build_daily_tables_asset(
    partitioning: Partitioning, prices_version: str | None = None
) -> AssetsDefinition:
    """The seven daily tables as one step: they differ only in their SQL and their columns."""

    @table_step(
        "daily_tables",
        DAILY_TABLES,
        lambda spec: daily_table_spec(spec, prices_version),
        partitioning,
    )
    def daily_tables(
        context: AssetExecutionContext,
        lakehouse: LakehouseResource,
        prices: PriceListResource,
        checks: ChecksResource,
    ) -> Iterator[MaterializeResult]:
        specs = selected_tables(context, DAILY_TABLES)
        days = partition_days(context)
        warehouse = lakehouse.open()
        provenance = Provenance(prices_digest=prices.digest)
        with publishing(context, warehouse, lakehouse.local_path, provenance) as publisher:
            for day in days:
                require_raw_events(warehouse, specs, day)
                with compute_connection() as connection:
                    # data_quality also counts the day's unknown time zones
                    register_tables(
                        warehouse, connection, [EVENTS, ORGANIZATION_TIMEZONES], day, day
                    )
                    register_tables(warehouse, connection, [MODEL_PRICES])
                    computed = compute_daily_tables(connection, specs, day)
                publisher.publish_computed(day, computed)
        for spec in specs:
            results = check_results(spec, publisher.published[spec].audits)
            if spec is DATA_QUALITY:
                with compute_connection() as connection:
                    register_tables(
                        warehouse, connection, [EVENTS, DATA_QUALITY], min(days), max(days)
                    )
                    largest, over = invalid_shares(connection, checks.max_invalid_share)
                results.append(invalid_share_result(checks.max_invalid_share, largest, over))
            if spec is MODEL_USAGE:
                with compute_connection() as connection:
                    register_tables(warehouse, connection, [MODEL_USAGE], min(days), max(days))
                    lowest, under = priced_shares(connection, checks.min_priced_share)
                results.append(priced_share_result(checks.min_priced_share, lowest, under))
            yield MaterializeResult(
                asset_key=spec.name,
                check_results=selected_checks(context, results),
            )

    return daily_tables
