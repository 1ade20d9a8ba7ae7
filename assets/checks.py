"""The asset checks Dagster shows for each table, fed by the audits of `warehouse/audits.py`.

The audits run before a day is committed (write, audit, publish), so a blocking check
that fails stops the step before anything of that day is visible; the results reported
here are those of the days the step published.
"""

from __future__ import annotations

from collections import defaultdict

from dagster import AssetCheckResult, AssetCheckSeverity, AssetCheckSpec, MetadataValue

from warehouse.audits import (
    COUNTS_CHECK,
    INVALID_SHARE_CHECK,
    KEY_CHECK,
    PRICED_SHARE_CHECK,
    RECONCILIATION_CHECK,
    SHRINK_CHECK,
    Audit,
    count_columns,
)
from warehouse.provenance import ZONE_CHECK, ZONE_TABLES
from warehouse.tables import DATA_QUALITY, EVENTS, MODEL_USAGE, TableSpec


def check_specs(spec: TableSpec) -> list[AssetCheckSpec]:
    if spec is EVENTS:
        return [
            AssetCheckSpec(
                RECONCILIATION_CHECK,
                asset=spec.name,
                blocking=True,
                description=(
                    "Each day's extracted row count equals the source's count for the same "
                    "half-open UTC window, read in the same snapshot; a short copy is not "
                    "published."
                ),
            ),
            AssetCheckSpec(
                SHRINK_CHECK,
                asset=spec.name,
                blocking=True,
                description=(
                    "A re-extracted day never has fewer rows than the lake already holds "
                    "(the source was pruned or lost rows), unless the run sets allow_shrink."
                ),
            ),
        ]
    specs = [
        AssetCheckSpec(
            KEY_CHECK,
            asset=spec.name,
            blocking=True,
            description=f"No two rows of a day share the key ({', '.join(spec.key)}).",
        )
    ]
    if count_columns(spec):
        specs.append(
            AssetCheckSpec(
                COUNTS_CHECK,
                asset=spec.name,
                blocking=True,
                description=f"No negative value in {', '.join(count_columns(spec))}.",
            )
        )
    if spec is DATA_QUALITY:
        specs.append(
            AssetCheckSpec(
                INVALID_SHARE_CHECK,
                asset=spec.name,
                description=(
                    "Warns when a validity issue is raised by more than "
                    "ANALYTICS_MAX_INVALID_SHARE of a day's events (cost coverage has its own "
                    "check, on model_usage)."
                ),
            )
        )
    if spec in ZONE_TABLES:
        specs.append(
            AssetCheckSpec(
                ZONE_CHECK,
                asset=spec.name,
                blocking=True,
                description=(
                    "A day published with one ANALYTICS_ORG_TIMEZONES_TABLE is never replaced "
                    "by one computed with another (set or unset), unless the run sets "
                    "allow_timezone_change."
                ),
            )
        )
    if spec is MODEL_USAGE:
        specs.append(
            AssetCheckSpec(
                PRICED_SHARE_CHECK,
                asset=spec.name,
                description=(
                    "Warns when less than ANALYTICS_MIN_PRICED_SHARE of a day's valid tokens "
                    "have a price (a model missing from the price list, or no model)."
                ),
            )
        )
    return specs


# checks with a result of their own over the step's days, not one audit per day
_STEP_CHECKS = frozenset({INVALID_SHARE_CHECK, PRICED_SHARE_CHECK})


def check_results(spec: TableSpec, audits: list[Audit]) -> list[AssetCheckResult]:
    """One result per audited check over the step's days, with each day's details.

    A step that published no day (every day left out as not complete) still reports each
    check, passed over no day: Dagster expects a result for every check it selected.
    """
    by_check: dict[str, list[Audit]] = defaultdict(list)
    for audit in audits:
        by_check[audit.check].append(audit)
    audited = [check.name for check in check_specs(spec) if check.name not in _STEP_CHECKS]
    return [
        AssetCheckResult(
            check_name=check,
            asset_key=spec.name,
            passed=all(audit.passed for audit in by_check[check]),
            description=None if by_check[check] else "No day was published.",
            metadata={
                "days": MetadataValue.json([audit.day.isoformat() for audit in by_check[check]]),
                "details_per_day": MetadataValue.json(
                    {audit.day.isoformat(): audit.details for audit in by_check[check]}
                ),
            },
        )
        for check in audited
    ]


def invalid_share_result(
    max_invalid_share: float, largest_share: float, over: list[dict[str, object]]
) -> AssetCheckResult:
    return AssetCheckResult(
        check_name=INVALID_SHARE_CHECK,
        asset_key=DATA_QUALITY.name,
        passed=not over,
        severity=AssetCheckSeverity.WARN,
        metadata={
            "max_invalid_share": MetadataValue.float(max_invalid_share),
            "largest_share": MetadataValue.float(largest_share),
            "issues_over_threshold": MetadataValue.json(over),
        },
    )


def priced_share_result(
    min_priced_share: float, lowest_share: float | None, under: list[dict[str, object]]
) -> AssetCheckResult:
    return AssetCheckResult(
        check_name=PRICED_SHARE_CHECK,
        asset_key=MODEL_USAGE.name,
        passed=not under,
        severity=AssetCheckSeverity.WARN,
        metadata={
            "min_priced_share": MetadataValue.float(min_priced_share),
            "lowest_share": MetadataValue.float(1.0 if lowest_share is None else lowest_share),
            "days_under_threshold": MetadataValue.json(under),
        },
    )
