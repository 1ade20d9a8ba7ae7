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
    RECONCILIATION_CHECK,
    SHRINK_CHECK,
    Audit,
    count_columns,
)
from warehouse.tables import DATA_QUALITY, EVENTS, TableSpec


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
                    "Warns when an issue is raised by more than ANALYTICS_MAX_INVALID_SHARE "
                    "of a day's events."
                ),
            )
        )
    return specs


def check_results(spec: TableSpec, audits: list[Audit]) -> list[AssetCheckResult]:
    """One result per check over the step's days, with each day's details."""
    by_check: dict[str, list[Audit]] = defaultdict(list)
    for audit in audits:
        by_check[audit.check].append(audit)
    return [
        AssetCheckResult(
            check_name=check,
            asset_key=spec.name,
            passed=all(audit.passed for audit in day_audits),
            metadata={
                "days": MetadataValue.json([audit.day.isoformat() for audit in day_audits]),
                "details_per_day": MetadataValue.json(
                    {audit.day.isoformat(): audit.details for audit in day_audits}
                ),
            },
        )
        for check, day_audits in by_check.items()
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
