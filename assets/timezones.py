"""Organisation time zones (metrics.md, section 7): the zones of each UTC day and the local tables.

`organization_timezones` reads the platform's zone table once per run and records, for
each UTC day of the run, the zone of every organisation with events that day.

A local table's partition D is the local calendar day D, computed from the UTC days D-1,
D and D+1 (a `TimeWindowPartitionMapping` with offsets -1 and +1 on `events` and
`organization_timezones`). The local tables lag one day: local day D is computed only
once UTC day D+1 is extracted (Dagster has materialised `events` for it, or the lake
holds rows of it); a run's days whose D+1 is not in yet are skipped, never published
incomplete, and named in the run's metadata (`skipped_days`). The daily schedule's late
window re-processes them the next day, once D+1 is in. The five local tables are one step (a
subsettable multi-asset), like the daily tables: each local day's three UTC days are read
once for all of them.
"""

import datetime as dt
from collections.abc import Iterator

from dagster import (
    AssetCheckResult,
    AssetDep,
    AssetExecutionContext,
    AssetKey,
    AssetsDefinition,
    AssetSpec,
    BackfillPolicy,
    DailyPartitionsDefinition,
    Failure,
    MaterializeResult,
    MetadataValue,
    TimeWindowPartitionMapping,
    asset,
)

from assets.checks import check_results, check_specs
from assets.metadata import OWNERS, definition_metadata
from assets.partitions import partition_days
from assets.publishing import DayRows, publish_days, publishing
from assets.resources import SourceDatabase, Warehouse
from assets.selection import selected_checks, selected_tables, table_step
from warehouse.audits import audit_rows
from warehouse.lakehouse import Lakehouse
from warehouse.source import SourceError
from warehouse.tables import (
    EVENTS,
    LOCAL_TABLES,
    MODEL_PRICES,
    ORGANIZATION_TIMEZONES,
    TableSpec,
    is_priced,
)
from warehouse.timezones import (
    compute_local_tables,
    compute_organization_timezones,
    configured_zones,
    read_org_timezones,
)

# Local day D reads the UTC days D-1, D and D+1; the first and the newest partitions
# have no D-1 or D+1 partition, which Dagster must accept.
_THREE_UTC_DAYS = TimeWindowPartitionMapping(
    start_offset=-1, end_offset=1, allow_nonexistent_upstream_partitions=True
)
_ONE_DAY = dt.timedelta(days=1)


def build_organization_timezones_asset(partitions: DailyPartitionsDefinition) -> AssetsDefinition:
    spec = ORGANIZATION_TIMEZONES

    @asset(
        name=spec.name,
        group_name="timezones",
        description=spec.description,
        partitions_def=partitions,
        backfill_policy=BackfillPolicy.single_run(),
        deps=[EVENTS.name],
        kinds={"postgres", "iceberg"},
        owners=OWNERS,
        metadata=definition_metadata(spec),
        check_specs=check_specs(spec),
    )
    def organization_timezones(
        context: AssetExecutionContext, source: SourceDatabase, warehouse: Warehouse
    ) -> MaterializeResult:
        """The platform's zone table is read once per run; each day of the run gets it."""
        try:
            configured = configured_zones(read_org_timezones(source.dsn, source.timezones_table))
        except SourceError as error:
            raise Failure(description=str(error), allow_retries=False) from None
        lakehouse = warehouse.lakehouse()

        def days() -> Iterator[DayRows]:
            for day in partition_days(context):
                rows = compute_organization_timezones(lakehouse, day, configured)
                yield day, rows, audit_rows(spec, day, rows)

        published = publish_days(context, warehouse, spec, days())
        return MaterializeResult(check_results=check_results(spec, published.audits))

    return organization_timezones


def next_day_extracted(lakehouse: Lakehouse, extracted: set[str], day: dt.date) -> bool:
    """Whether UTC day `day + 1` is in: Dagster materialised `events` for it, or the lake has it.

    Local day `day` is computed only then; the reports use the same rule to tell a local
    day that is not computed yet from one without events.
    """
    following = day + _ONE_DAY
    if following.isoformat() in extracted:
        return True
    return lakehouse.published_rows(EVENTS, following) is not None


def local_table_spec(spec: TableSpec, prices_version: str | None) -> AssetSpec:
    """As the UTC twin's (`daily_table_spec`): a table with costs depends on the prices."""
    priced = is_priced(spec)
    return AssetSpec(
        spec.name,
        group_name="timezones",
        description=spec.description,
        deps=[
            AssetDep(EVENTS.name, partition_mapping=_THREE_UTC_DAYS),
            AssetDep(ORGANIZATION_TIMEZONES.name, partition_mapping=_THREE_UTC_DAYS),
            *([AssetDep(MODEL_PRICES.name)] if priced else []),
        ],
        code_version=prices_version if priced else None,
        kinds={"duckdb", "iceberg"},
        owners=OWNERS,
        metadata=definition_metadata(spec),
    )


def build_local_tables_asset(
    partitions: DailyPartitionsDefinition, prices_version: str | None = None
) -> AssetsDefinition:
    """The local tables as one step: each local day's three UTC days are read once."""

    @table_step(
        "local_tables",
        LOCAL_TABLES,
        lambda spec: local_table_spec(spec, prices_version),
        partitions,
    )
    def local_tables(
        context: AssetExecutionContext, warehouse: Warehouse
    ) -> Iterator[MaterializeResult]:
        specs = selected_tables(context, LOCAL_TABLES)
        lakehouse = warehouse.lakehouse()
        extracted = set(context.instance.get_materialized_partitions(AssetKey(EVENTS.name)))
        skipped: list[str] = []
        with publishing(context, warehouse) as publisher:
            for day in partition_days(context):
                if not next_day_extracted(lakehouse, extracted, day):
                    skipped.append(day.isoformat())
                    context.log.info(
                        f"local tables {day}: skipped, UTC day {day + _ONE_DAY} is not "
                        "extracted yet (a local day needs UTC days D-1, D and D+1)"
                    )
                    continue
                computed = compute_local_tables(lakehouse, specs, day)
                publisher.publish_computed(day, computed)
        for spec in specs:
            published = publisher.published[spec]
            skipped_days = MetadataValue.json(skipped)
            results = check_results(spec, published.audits)
            checked = {result.check_name for result in results}
            # a run whose every day waits for its next UTC day audits nothing: say so
            results += [
                AssetCheckResult(
                    check_name=check.name,
                    asset_key=spec.name,
                    passed=True,
                    metadata={"days": MetadataValue.json([]), "skipped_days": skipped_days},
                )
                for check in check_specs(spec)
                if check.name not in checked
            ]
            yield MaterializeResult(
                asset_key=spec.name,
                metadata={"skipped_days": skipped_days},
                check_results=selected_checks(context, results),
            )

    return local_tables


def build_timezone_assets(
    partitions: DailyPartitionsDefinition, prices_version: str | None = None
) -> list[AssetsDefinition]:
    return [
        build_organization_timezones_asset(partitions),
        build_local_tables_asset(partitions, prices_version),
    ]
