"""The daily tables' data checks, run by each asset on the days it has just written.

Duplicate keys or negative counts mean a broken SQL model: those checks block, so the
insights downstream are not computed from them. A high share of invalid events is the
platform's problem, not the pipeline's: that check only warns, and the day publishes.
"""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import duckdb
from dagster import AssetCheckResult, AssetCheckSeverity, AssetCheckSpec, MetadataValue

from warehouse.lake import partition_path
from warehouse.sql_files import load_sql
from warehouse.tables import DATA_QUALITY, EVENTS, TableSpec

KEY_CHECK = "key_is_unique"
COUNTS_CHECK = "counts_are_non_negative"
INVALID_SHARE_CHECK = "invalid_share_below_threshold"


def count_columns(spec: TableSpec) -> list[str]:
    """The table's BIGINT columns: every one is a count or a sum of non-negative values."""
    return [column.name for column in spec.columns if column.duckdb_type == "BIGINT"]


def daily_table_check_specs(spec: TableSpec) -> list[AssetCheckSpec]:
    specs = [
        AssetCheckSpec(
            KEY_CHECK,
            asset=spec.name,
            blocking=True,
            description=f"No two rows of a run's days share the key ({', '.join(spec.key)}).",
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


def check_daily_table(
    spec: TableSpec, warehouse_dir: Path, days: list[dt.date], max_invalid_share: float
) -> list[AssetCheckResult]:
    """Runs every check of `daily_table_check_specs(spec)` over the partitions of `days`."""
    files = [str(partition_path(warehouse_dir, spec.name, day)) for day in days]
    checked = {"days": MetadataValue.json([day.isoformat() for day in days])}
    with duckdb.connect() as connection:
        results = [_check_key(connection, spec, files, checked)]
        if count_columns(spec):
            results.append(_check_counts(connection, spec, files, checked))
        if spec is DATA_QUALITY:
            events_files = [str(partition_path(warehouse_dir, EVENTS.name, day)) for day in days]
            results.append(
                _check_invalid_share(connection, files, events_files, max_invalid_share, checked)
            )
    return results


def _check_key(
    connection: duckdb.DuckDBPyConnection,
    spec: TableSpec,
    files: list[str],
    checked: dict[str, MetadataValue],
) -> AssetCheckResult:
    row = connection.execute(
        load_sql("checks/find_duplicate_keys"), {"key_columns": list(spec.key), "files": files}
    ).fetchone()
    duplicate_keys, duplicate_rows, sample = row if row else (0, 0, [])
    return AssetCheckResult(
        check_name=KEY_CHECK,
        asset_key=spec.name,
        passed=duplicate_keys == 0,
        metadata={
            **checked,
            "duplicate_keys": MetadataValue.int(int(duplicate_keys)),
            "duplicate_rows": MetadataValue.int(int(duplicate_rows)),
            "sample": MetadataValue.json(sample),
        },
    )


def _check_counts(
    connection: duckdb.DuckDBPyConnection,
    spec: TableSpec,
    files: list[str],
    checked: dict[str, MetadataValue],
) -> AssetCheckResult:
    columns = count_columns(spec)
    cursor = connection.execute(
        load_sql("checks/count_negative_values"), {"count_columns": columns, "files": files}
    )
    names = [description[0] for description in cursor.description or []]
    negative = dict(zip(names, (int(value or 0) for value in cursor.fetchone() or ()), strict=True))
    return AssetCheckResult(
        check_name=COUNTS_CHECK,
        asset_key=spec.name,
        passed=not any(negative.values()),
        metadata={**checked, "negative_rows_per_column": MetadataValue.json(negative)},
    )


def _check_invalid_share(
    connection: duckdb.DuckDBPyConnection,
    files: list[str],
    events_files: list[str],
    max_invalid_share: float,
    checked: dict[str, MetadataValue],
) -> AssetCheckResult:
    shares = connection.execute(
        load_sql("checks/rank_issue_shares"), {"files": files, "events_files": events_files}
    ).fetchall()
    over = [
        {"date": date.isoformat(), "issue": issue, "count": count, "events": events, "share": share}
        for date, issue, count, events, share in shares
        if share > max_invalid_share
    ]
    return AssetCheckResult(
        check_name=INVALID_SHARE_CHECK,
        asset_key=DATA_QUALITY.name,
        passed=not over,
        severity=AssetCheckSeverity.WARN,
        metadata={
            **checked,
            "max_invalid_share": MetadataValue.float(max_invalid_share),
            "largest_share": MetadataValue.float(float(shares[0][4]) if shares else 0.0),
            "issues_over_threshold": MetadataValue.json(over),
        },
    )
