"""Write, audit, publish: the checks a day's rows must pass before they are committed.

A day of a table is computed into an Arrow table, audited here, and only then replaces
its partition (`warehouse/storage/writing.py`). A blocking audit that fails raises
`AuditFailed`: nothing of that day is committed, the previously published version stays
visible, and the run stops there, so days before it stay published and the days after
it as they were.

Duplicate keys or negative counts mean a broken SQL model; a short extraction means the
copy lost rows; fewer rows than the lake already holds means the source was pruned or
lost rows (refused unless the run says the deletion is wanted). A high share of invalid
events is the platform's problem, not the pipeline's: that audit only warns.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field
from typing import Any

import duckdb
import pyarrow as pa

from warehouse.engine import compute_connection
from warehouse.sql_files import load_sql
from warehouse.tables import TableSpec

KEY_CHECK = "key_is_unique"
COUNTS_CHECK = "counts_are_non_negative"
INVALID_SHARE_CHECK = "invalid_share_below_threshold"
PRICED_SHARE_CHECK = "priced_token_share_above_threshold"
RECONCILIATION_CHECK = "lake_rows_match_source"
SHRINK_CHECK = "lake_never_shrinks"


@dataclass(frozen=True)
class Audit:
    """One check of one day's rows; `details` are JSON-able values for the Dagster UI, and
    `failure` the sentence a failed check stops the run with, when it has its own."""

    check: str
    day: dt.date
    passed: bool
    details: dict[str, Any] = field(default_factory=dict)
    failure: str | None = None


class AuditFailed(RuntimeError):
    """A blocking check failed: the day was not published."""

    def __init__(self, spec: TableSpec, audit: Audit) -> None:
        details = ", ".join(f"{name} {value}" for name, value in audit.details.items())
        reason = (
            audit.failure
            or f"{spec.name} for {audit.day}: blocking check {audit.check} failed ({details})"
        )
        super().__init__(
            f"{reason}; the day was not published and its previous version stays visible"
        )
        self.audit = audit


def count_columns(spec: TableSpec) -> list[str]:
    """The table's BIGINT columns: every one is a count or a sum of non-negative values."""
    return [column.name for column in spec.columns if column.duckdb_type == "BIGINT"]


def audit_rows(spec: TableSpec, day: dt.date, rows: pa.Table) -> list[Audit]:
    """The blocking checks of a computed table: unique keys, no negative counts."""
    with compute_connection() as connection:
        connection.register("audited", rows)
        row = connection.execute(
            load_sql("checks/find_duplicate_keys"), {"key_columns": list(spec.key)}
        ).fetchone()
        duplicate_keys, duplicate_rows, sample = row if row else (0, 0, [])
        audits = [
            Audit(
                KEY_CHECK,
                day,
                passed=duplicate_keys == 0,
                details={
                    "duplicate_keys": int(duplicate_keys),
                    "duplicate_rows": int(duplicate_rows),
                    "sample": sample,
                },
            )
        ]
        columns = count_columns(spec)
        if columns:
            cursor = connection.execute(
                load_sql("checks/count_negative_values"), {"count_columns": columns}
            )
            names = [description[0] for description in cursor.description or []]
            values = (int(value or 0) for value in cursor.fetchone() or ())
            negative = dict(zip(names, values, strict=True))
            audits.append(
                Audit(
                    COUNTS_CHECK,
                    day,
                    passed=not any(negative.values()),
                    details={"negative_rows_per_column": negative},
                )
            )
    return audits


def audit_extraction(
    day: dt.date, source_rows: int, lake_rows: int, published_rows: int | None, allow_shrink: bool
) -> list[Audit]:
    """The blocking checks of a day's extraction: a full copy, and no silent shrinking."""
    published = 0 if published_rows is None else published_rows
    return [
        Audit(
            RECONCILIATION_CHECK,
            day,
            passed=lake_rows == source_rows,
            details={"source_rows": source_rows, "extracted_rows": lake_rows},
        ),
        Audit(
            SHRINK_CHECK,
            day,
            passed=allow_shrink or lake_rows >= published,
            details={
                "published_rows": published,
                "source_rows": lake_rows,
                "allow_shrink": allow_shrink,
            },
        ),
    ]


def require(spec: TableSpec, audits: list[Audit]) -> None:
    """Raises `AuditFailed` for the first failed audit."""
    for audit in audits:
        if not audit.passed:
            raise AuditFailed(spec, audit)


def invalid_shares(
    connection: duckdb.DuckDBPyConnection, max_invalid_share: float
) -> tuple[float, list[dict[str, Any]]]:
    """The largest share of a day's events one issue reached, and the (date, issue) over it.

    Reads the `data_quality` and `events` views of `connection`.
    """
    shares = connection.execute(load_sql("checks/rank_issue_shares")).fetchall()
    over = [
        {"date": date.isoformat(), "issue": issue, "count": count, "events": events, "share": share}
        for date, issue, count, events, share in shares
        if share > max_invalid_share
    ]
    return (float(shares[0][4]) if shares else 0.0), over


def priced_shares(
    connection: duckdb.DuckDBPyConnection, min_priced_share: float
) -> tuple[float | None, list[dict[str, Any]]]:
    """The lowest share of a day's valid tokens that had a price, and the days under
    `min_priced_share` (cost coverage: non-blocking, a price list is the team's to
    complete). Reads the `model_usage` view of `connection`; None: no tokens at all."""
    shares = connection.execute(load_sql("checks/rank_priced_shares")).fetchall()
    under = [
        {
            "date": date.isoformat(),
            "tokens": int(tokens),
            "priced_tokens": int(priced),
            "share": share,
        }
        for date, tokens, priced, share in shares
        if share < min_priced_share
    ]
    return (float(shares[0][3]) if shares else None), under
