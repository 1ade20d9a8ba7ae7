"""Steps of several tables (the daily tables, the local tables), and what a run of one
selected: a run (or a test) may pick some of its tables, and only those are computed and
reported."""

from collections.abc import Callable

from dagster import (
    AssetCheckKey,
    AssetCheckResult,
    AssetExecutionContext,
    AssetKey,
    AssetsDefinition,
    AssetSpec,
    BackfillPolicy,
    DailyPartitionsDefinition,
    multi_asset,
)

from assets.checks import check_specs
from warehouse.tables import TableSpec


def table_step(
    name: str,
    tables: tuple[TableSpec, ...],
    asset_spec: Callable[[TableSpec], AssetSpec],
    partitions: DailyPartitionsDefinition,
) -> Callable[..., AssetsDefinition]:
    """One subsettable, daily-partitioned step computing `tables`, each with its checks."""
    return multi_asset(
        name=name,
        specs=[asset_spec(spec) for spec in tables],
        check_specs=[check for spec in tables for check in check_specs(spec)],
        partitions_def=partitions,
        backfill_policy=BackfillPolicy.single_run(),
        can_subset=True,
    )


def selected_tables(
    context: AssetExecutionContext, tables: tuple[TableSpec, ...]
) -> list[TableSpec]:
    return [spec for spec in tables if AssetKey(spec.name) in context.selected_asset_keys]


def selected_checks(
    context: AssetExecutionContext, results: list[AssetCheckResult]
) -> list[AssetCheckResult]:
    """Dagster refuses a result for a check the run did not select."""
    selected = context.selected_asset_check_keys
    return [
        result
        for result in results
        if result.asset_key is not None
        and AssetCheckKey(result.asset_key, result.check_name) in selected
    ]
