"""The raw lake: each UTC day of `analytics_events` copied from PostgreSQL into `events`,
and the zone of every organisation with events that day into `organization_timezones`.

One step (a subsettable multi-asset named `events`) reads the source for both: the day is
extracted, then the zones of its organisations are computed from the staged day itself
(the platform's zone table is read once per run), and both publish the day together.
Every daily table can then run in the step after it, the zones' `data_quality` included:
a backfill launched from the UI never splits the daily tables into two runs. Selecting
`organization_timezones` alone recomputes the zones from the days the lake holds.
"""

import functools
from collections.abc import Iterator

from dagster import (
    AssetExecutionContext,
    AssetsDefinition,
    Config,
    Failure,
    MaterializeResult,
)

from assets.checks import check_results
from assets.partitions import Partitioning, partition_days
from assets.publishing import TableDay, publishing
from assets.resources import LakehouseResource, SourceResource
from assets.steps import selected_checks, selected_tables, table_spec, table_step
from warehouse.audits import audit_extraction, audit_rows
from warehouse.engine import compute_connection
from warehouse.provenance import Provenance
from warehouse.source import SourceError, check_source_table, extract_events_for_day
from warehouse.storage.reading import published_rows, register_staged, register_tables
from warehouse.storage.writing import stage_partition
from warehouse.tables import EVENTS, ORGANIZATION_TIMEZONES
from warehouse.timezones import compute_organization_timezones, configured_zones, read_org_timezones

EXTRACTED = (EVENTS, ORGANIZATION_TIMEZONES)


class ExtractionConfig(Config):  # type: ignore[misc]
    """`allow_shrink: true` publishes a day with fewer rows than the lake holds: only for a
    deletion that is wanted (a privacy erasure in the source), otherwise a source that lost
    rows, or a day already pruned from it, would shrink the raw lake.

    `allow_timezone_change: true` replaces days published with another zone setting: only
    for a change that is wanted (the platform's zone table set for the first time, or
    moved), otherwise a command run without ANALYTICS_ORG_TIMEZONES_TABLE would silently
    recompute every organisation in UTC.
    """

    allow_shrink: bool = False
    allow_timezone_change: bool = False


def build_events_asset(partitioning: Partitioning) -> AssetsDefinition:
    specs = {
        EVENTS: table_spec(EVENTS, "raw", deps=[], kinds=frozenset({"postgres", "iceberg"})),
        ORGANIZATION_TIMEZONES: table_spec(
            ORGANIZATION_TIMEZONES,
            "timezones",
            deps=[EVENTS.name],
            kinds=frozenset({"postgres", "iceberg"}),
        ),
    }

    @table_step("events", EXTRACTED, specs.__getitem__, partitioning)
    def events(
        context: AssetExecutionContext,
        config: ExtractionConfig,
        source: SourceResource,
        lakehouse: LakehouseResource,
    ) -> Iterator[MaterializeResult]:
        """Copies the run's days one at a time, so a long backfill holds one day in memory."""
        selected = selected_tables(context, EXTRACTED)
        warehouse = lakehouse.open()
        provenance = Provenance(timezones_table=source.timezones_table)
        try:
            if EVENTS in selected:
                check_source_table(source.conninfo, source.table)
            zones = configured_zones(read_org_timezones(source.conninfo, source.timezones_table))
            with publishing(
                context, warehouse, lakehouse.local_path, provenance, config.allow_timezone_change
            ) as publisher:
                for day in partition_days(context):
                    tables: list[TableDay] = []
                    with compute_connection() as connection:
                        if EVENTS in selected:
                            extracted = extract_events_for_day(
                                source.conninfo,
                                source.table,
                                day,
                                write=functools.partial(
                                    stage_partition,
                                    warehouse,
                                    EVENTS,
                                    day,
                                    record=provenance.record(EVENTS),
                                ),
                                retries=source.retries,
                                on_retry=lambda retried, attempt, cause: context.log.warning(
                                    f"Reading {source.table} for {retried} failed on attempt "
                                    f"{attempt} of {source.retries + 1}, retrying: {cause}"
                                ),
                            )
                            audits = audit_extraction(
                                day,
                                extracted.source_rows,
                                extracted.rows.num_rows,
                                published_rows(warehouse, EVENTS, day),
                                config.allow_shrink,
                            )
                            tables.append(TableDay(EVENTS, extracted.rows, audits))
                            register_staged(warehouse, connection, EVENTS, extracted.rows)
                        else:
                            register_tables(warehouse, connection, [EVENTS], day, day)
                        if ORGANIZATION_TIMEZONES in selected:
                            connection.register("configured_zones", zones)
                            rows = compute_organization_timezones(connection, day)
                            tables.append(
                                TableDay(
                                    ORGANIZATION_TIMEZONES,
                                    rows,
                                    audit_rows(ORGANIZATION_TIMEZONES, day, rows),
                                )
                            )
                    publisher.publish(day, tables)
        except SourceError as error:
            raise Failure(description=str(error), allow_retries=False) from None
        for spec in selected:
            results = check_results(spec, publisher.published[spec].audits)
            yield MaterializeResult(
                asset_key=spec.name, check_results=selected_checks(context, results)
            )

    return events
