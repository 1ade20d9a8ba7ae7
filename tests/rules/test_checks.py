"""Write, audit, publish (docs/contract.md, section 6): the blocking audits of a computed
day's rows, on hand-built rows.

`warehouse.audits.audit_rows` is what a step runs on a day's rows before it commits
them; its verdicts alone are pinned here. That a failed audit keeps the published
version and fails the Dagster run naming the day and the check is the end-to-end
layer's (tests/e2e/test_checks.py).
"""

import datetime as dt
import uuid

import duckdb

from warehouse.audits import COUNTS_CHECK, KEY_CHECK, audit_rows, priced_shares
from warehouse.tables import DAILY_METRICS

ORG = uuid.UUID("00000000-0000-4000-8000-000000000001")
DAY = dt.date(2025, 3, 1)


def computed_rows(query):
    """A table computed by DuckDB, as a daily table's SQL hands it to the audits."""
    with duckdb.connect() as connection:
        return connection.sql(query).to_arrow_table()


def test_duplicate_keys_fail_the_key_check():
    rows = computed_rows(
        f"select '{ORG}'::uuid as organization_id, date '{DAY}' as date, 1::bigint as event_count"
        " from range(2)"
    )
    key_check, counts_check = audit_rows(DAILY_METRICS, DAY, rows)
    assert key_check.check == KEY_CHECK
    assert not key_check.passed
    assert key_check.details["duplicate_keys"] == 1
    assert key_check.details["duplicate_rows"] == 2
    assert counts_check.passed


def test_a_negative_count_fails_the_counts_check():
    rows = computed_rows(
        f"select '{ORG}'::uuid as organization_id, date '{DAY}' as date,"
        " -1::bigint as total_tokens, 3::bigint as event_count"
    )
    key_check, counts_check = audit_rows(DAILY_METRICS, DAY, rows)
    assert key_check.passed
    assert counts_check.check == COUNTS_CHECK
    assert not counts_check.passed
    assert counts_check.details["negative_rows_per_column"] == {
        "total_tokens": 1,
        "event_count": 0,
    }


def model_usage(connection, *days):
    """`model_usage` rows as (date, total_tokens, cost_usd); a NULL cost had no price."""
    connection.execute("create table model_usage (date date, total_tokens bigint, cost_usd double)")
    connection.executemany("insert into model_usage values (?, ?, ?)", days)
    return connection


def test_a_day_under_the_minimum_priced_token_share_is_listed_with_its_share():
    with duckdb.connect() as connection:
        model_usage(
            connection,
            (DAY, 900, 0.9),
            (DAY, 100, None),
            (DAY + dt.timedelta(days=1), 500, None),
            (DAY + dt.timedelta(days=1), 500, 1.0),
        )
        lowest, under = priced_shares(connection, 0.95)

    assert lowest == 0.5
    assert under == [
        {"date": "2025-03-02", "tokens": 1000, "priced_tokens": 500, "share": 0.5},
        {"date": "2025-03-01", "tokens": 1000, "priced_tokens": 900, "share": 0.9},
    ]


def test_a_day_at_the_minimum_priced_token_share_or_without_tokens_is_not_listed():
    with duckdb.connect() as connection:
        model_usage(
            connection, (DAY, 900, 0.9), (DAY, 100, None), (DAY + dt.timedelta(days=1), 0, None)
        )
        lowest, under = priced_shares(connection, 0.9)

    assert (lowest, under) == (0.9, [])
