"""The local tables: the daily tables over each organisation's local calendar days.

`organization_timezones` is computed with the raw events (`assets/raw_events.py`). A
local table's partition D is the local calendar day D, computed from the UTC days D-1,
D and D+1 (a `TimeWindowPartitionMapping` with offsets -1 and +1 on `events` and
`organization_timezones`). It is computed as soon as UTC day D is in, from the UTC days
the lake holds then, and records which ones those were: an organisation whose local day
also needs D+1 (west of UTC) has that local day complete only once it is recomputed with
D+1 (docs/contract.md, section 10); the daily schedule's late window does that the next
day. The five local tables are one step (a subsettable multi-asset), like the daily
tables: each local day's three UTC days are read once for all of them.
"""

import datetime as dt
from collections.abc import Iterator

from dagster import (
    AssetDep,
    AssetExecutionContext,
    AssetsDefinition,
    AssetSpec,
    Config,
    MaterializeResult,
    TimeWindowPartitionMapping,
)

from assets.checks import check_results
from assets.partitions import Partitioning, partition_days
from assets.publishing import publishing
from assets.resources import LakehouseResource, PriceListResource, SourceResource
from assets.steps import selected_checks, selected_tables, table_spec, table_step
from warehouse.provenance import Provenance
from warehouse.storage.reading import published_days, register_tables
from warehouse.tables import (
    EVENTS,
    LOCAL_TABLES,
    MODEL_PRICES,
    ORGANIZATION_TIMEZONES,
    TableSpec,
    is_priced,
)
from warehouse.timezones import compute_local_tables, held_utc_days
from warehouse.views import analytics_connection

# Local day D reads the UTC days D-1, D and D+1; the first and the newest partitions
# have no D-1 or D+1 partition, which Dagster must accept.
_THREE_UTC_DAYS = TimeWindowPartitionMapping(
    start_offset=-1, end_offset=1, allow_nonexistent_upstream_partitions=True
)
_ONE_DAY = dt.timedelta(days=1)


class ZonesConfig(Config):  # type: ignore[misc]
    """`allow_timezone_change: true` replaces days published with another zone setting.

    Only for a change that is wanted (the platform's zone table set for the first time,
    or moved): otherwise a command run without ANALYTICS_ORG_TIMEZONES_TABLE would
    silently recompute every organisation in UTC.
    """

    allow_timezone_change: bool = False


def local_table_spec(spec: TableSpec, prices_version: str | None) -> AssetSpec:
    """As the UTC twin's (`daily_table_spec`): a table with costs depends on the prices."""
    priced = is_priced(spec)
    return table_spec(
        spec,
        "timezones",
        deps=[
            AssetDep(EVENTS.name, partition_mapping=_THREE_UTC_DAYS),
            AssetDep(ORGANIZATION_TIMEZONES.name, partition_mapping=_THREE_UTC_DAYS),
            *([AssetDep(MODEL_PRICES.name)] if priced else []),
        ],
        code_version=prices_version if priced else None,
    )


def build_local_tables_asset(
    partitioning: Partitioning, prices_version: str | None = None
) -> AssetsDefinition:
    """The local tables as one step: each local day's three UTC days are read once."""

    @table_step(
        "local_tables",
        LOCAL_TABLES,
        lambda spec: local_table_spec(spec, prices_version),
        partitioning,
    )
    def local_tables(
        context: AssetExecutionContext,
        config: ZonesConfig,
        source: SourceResource,
        lakehouse: LakehouseResource,
        prices: PriceListResource,
    ) -> Iterator[MaterializeResult]:
        specs = selected_tables(context, LOCAL_TABLES)
        warehouse = lakehouse.open()
        provenance = Provenance(timezones_table=source.timezones_table, prices_digest=prices.digest)
        extracted = published_days(warehouse, EVENTS)
        with publishing(
            context, warehouse, lakehouse.local_path, provenance, config.allow_timezone_change
        ) as publisher:
            for day in partition_days(context):
                held = held_utc_days(day, extracted)
                with analytics_connection() as connection:
                    register_tables(
                        warehouse,
                        connection,
                        [EVENTS, ORGANIZATION_TIMEZONES],
                        day - _ONE_DAY,
                        day + _ONE_DAY,
                    )
                    register_tables(warehouse, connection, [MODEL_PRICES])
                    computed = compute_local_tables(connection, specs, day, held)
                publisher.publish_computed(day, computed, held)
        for spec in specs:
            results = check_results(spec, publisher.published[spec].audits)
            yield MaterializeResult(
                asset_key=spec.name, check_results=selected_checks(context, results)
            )

    return local_tables
