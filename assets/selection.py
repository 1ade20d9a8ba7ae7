"""What a run of a subsettable multi-asset selected: a run (or a test) may pick some tables
of the daily or the local step, and only those are computed and reported."""

from dagster import AssetCheckKey, AssetCheckResult, AssetExecutionContext, AssetKey

from warehouse.tables import TableSpec


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
