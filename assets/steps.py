"""The shape every table's step shares: daily partitions, one single run per range, the
table's description, columns, owners and checks. `table_asset` is a step of one table,
`table_step` one of several (the daily tables, the local tables), of which a run (or a
test) may select some: only those are computed and reported."""

from collections.abc import Callable, Sequence
from typing import Any

from dagster import (
    AssetCheckKey,
    AssetCheckResult,
    AssetCheckSpec,
    AssetDep,
    AssetExecutionContext,
    AssetKey,
    AssetsDefinition,
    AssetSpec,
    BackfillPolicy,
    asset,
    multi_asset,
)

from assets.checks import check_specs
from assets.metadata import OWNERS, definition_metadata
from assets.partitions import Partitioning
from warehouse.tables import TableSpec


def table_asset(
    spec: TableSpec,
    group_name: str,
    partitioning: Partitioning | None,
    kinds: set[str],
    deps: Sequence[str | AssetDep] = (),
    checks: Sequence[AssetCheckSpec] | None = None,
    **options: Any,
) -> Callable[..., AssetsDefinition]:
    """The decorator of a table's step: an asset named after the table."""
    return asset(
        name=spec.name,
        group_name=group_name,
        description=spec.description,
        partitions_def=partitioning.partitions if partitioning else None,
        # a partitioned step: its range's backfill policy; the prices: one run, which lets
        # `dagster asset materialize --partition-range` take them in the same run
        backfill_policy=partitioning.backfill_policy
        if partitioning
        else BackfillPolicy.single_run(),
        deps=list(deps),
        kinds=kinds,
        owners=OWNERS,
        metadata=definition_metadata(spec),
        check_specs=check_specs(spec) if checks is None else list(checks),
        **options,
    )


def table_step(
    name: str,
    tables: tuple[TableSpec, ...],
    asset_spec: Callable[[TableSpec], AssetSpec],
    partitioning: Partitioning,
) -> Callable[..., AssetsDefinition]:
    """One subsettable, daily-partitioned step computing `tables`, each with its checks."""
    return multi_asset(
        name=name,
        specs=[asset_spec(spec) for spec in tables],
        check_specs=[check for spec in tables for check in check_specs(spec)],
        partitions_def=partitioning.partitions,
        backfill_policy=partitioning.backfill_policy,
        can_subset=True,
    )


def table_spec(
    spec: TableSpec,
    group_name: str,
    deps: Sequence[str | AssetDep],
    code_version: str | None = None,
    kinds: frozenset[str] = frozenset({"duckdb", "iceberg"}),
) -> AssetSpec:
    """One table of a `table_step`."""
    return AssetSpec(
        spec.name,
        group_name=group_name,
        description=spec.description,
        deps=list(deps),
        code_version=code_version,
        kinds=set(kinds),
        owners=OWNERS,
        metadata=definition_metadata(spec),
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
