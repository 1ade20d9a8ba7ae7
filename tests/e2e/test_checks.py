"""Write, audit, publish (docs/contract.md, section 6): a day is visible only once its
checks pass.

Every test lets Dagster run the assets whose checks and tables it reads (every asset where
it is about every table) against a real PostgreSQL table, and reads the asset checks'
evaluations, the run's failure and the published `analytics.duckdb`. The audits' verdicts
on hand-built rows are pinned in the fast layer (tests/rules/test_checks.py).
"""

import datetime as dt
import os
import uuid

import psycopg
import pytest
from dagster import AssetCheckSeverity, materialize
from psycopg import sql

from assets.resources import SourceResource
from pipelines.configuration import load_configuration
from tests.e2e.support import defs, lakehouse_resource, with_upstream
from warehouse.audits import (
    COUNTS_CHECK,
    INVALID_SHARE_CHECK,
    KEY_CHECK,
    PRICED_SHARE_CHECK,
    RECONCILIATION_CHECK,
    SHRINK_CHECK,
)
from warehouse.storage.reading import published_rows
from warehouse.tables import (
    DAILY_METRICS,
    DAILY_TABLES,
    DATA_QUALITY,
    EVENTS,
    LAKE_TABLES,
    MODEL_USAGE,
)

ORG = uuid.UUID("00000000-0000-4000-8000-000000000001")
DAY = dt.date(2025, 3, 1)
ALLOW_SHRINK = {"ops": {"events": {"config": {"allow_shrink": True}}}}


def evaluations(result):
    return {
        (evaluation.asset_key.to_user_string(), evaluation.check_name): evaluation
        for evaluation in result.get_asset_check_evaluations()
    }


def details(evaluation, day=DAY):
    """What a check found on one day of the run."""
    return evaluation.metadata["details_per_day"].value[day.isoformat()]


def failure_description(result):
    """The description of the one step that failed; the steps after it are only skipped."""
    (failure,) = result.get_step_failure_events()
    return failure.step_failure_data.user_failure_data.description


def event(created_at, **fields):
    return {
        "organization_id": ORG,
        "event_type": "message.sent",
        "created_at": created_at,
        **fields,
    }


@pytest.mark.assets(*(spec.name for spec in DAILY_TABLES))
def test_a_clean_day_passes_every_check_and_reports_its_figures(source, run_pipeline):
    source.insert(event("2025-03-01 10:00"), event("2025-03-01 11:00"))
    checks = evaluations(run_pipeline("2025-03-01"))
    for spec in DAILY_TABLES:
        assert checks[(spec.name, KEY_CHECK)].passed
        assert details(checks[(spec.name, KEY_CHECK)])["duplicate_keys"] == 0
    assert checks[(DAILY_METRICS.name, COUNTS_CHECK)].passed
    negative = details(checks[(DAILY_METRICS.name, COUNTS_CHECK)])["negative_rows_per_column"]
    assert negative["total_messages"] == 0
    assert checks[(DATA_QUALITY.name, INVALID_SHARE_CHECK)].passed
    assert details(checks[(EVENTS.name, RECONCILIATION_CHECK)]) == {
        "source_rows": 2,
        "extracted_rows": 2,
    }
    assert checks[(EVENTS.name, SHRINK_CHECK)].passed


def invalid_day(source):
    """Ten events of which two lack an organisation: a 20 % share of one issue."""
    source.insert(
        *[
            event(f"2025-03-01 10:{number:02d}", organization_id=None if number < 2 else ORG)
            for number in range(10)
        ]
    )


@pytest.mark.assets(DATA_QUALITY.name, DAILY_METRICS.name)
def test_a_high_invalid_share_warns_but_publishes_the_day(source, run_pipeline, query):
    invalid_day(source)
    result = run_pipeline("2025-03-01")
    check = evaluations(result)[(DATA_QUALITY.name, INVALID_SHARE_CHECK)]
    assert result.success
    assert not check.passed
    assert check.severity == AssetCheckSeverity.WARN
    assert check.metadata["largest_share"].value == 0.2
    assert check.metadata["issues_over_threshold"].value == [
        {
            "date": "2025-03-01",
            "issue": "missing_organization_id",
            "count": 2,
            "events": 10,
            "share": 0.2,
        }
    ]
    assert query("select event_count from daily_metrics") == [(8,)]


def test_the_invalid_share_threshold_is_configurable(source, warehouse_dir, monkeypatch):
    monkeypatch.setenv("ANALYTICS_MAX_INVALID_SHARE", "0.25")
    invalid_day(source)
    # The definitions read the settings once; these resources are built as they build theirs.
    configuration = load_configuration(os.environ)
    result = materialize(
        list(defs.assets or []),
        resources={
            **defs.resources,
            "source": SourceResource(dsn=source.dsn, table=source.table),
            "lakehouse": lakehouse_resource(warehouse_dir),
            "checks": configuration.checks,
        },
        partition_key="2025-03-01",
        selection=with_upstream(DATA_QUALITY.name),
    )
    check = evaluations(result)[(DATA_QUALITY.name, INVALID_SHARE_CHECK)]
    assert check.passed
    assert check.metadata["max_invalid_share"].value == 0.25


def test_tokens_without_a_price_warn_on_model_usage_under_the_configured_share(
    source, warehouse_dir, monkeypatch
):
    monkeypatch.setenv("ANALYTICS_MIN_PRICED_SHARE", "0.7")
    source.insert(
        event("2025-03-01 10:00", properties={"tokens": 600, "model": "gpt-4o"}),
        event("2025-03-01 10:01", properties={"tokens": 400, "model": "no-such-model"}),
    )
    configuration = load_configuration(os.environ)
    result = materialize(
        list(defs.assets or []),
        resources={
            **defs.resources,
            "source": SourceResource(dsn=source.dsn, table=source.table),
            "lakehouse": lakehouse_resource(warehouse_dir),
            "checks": configuration.checks,
        },
        partition_key="2025-03-01",
        selection=with_upstream(MODEL_USAGE.name),
    )
    check = evaluations(result)[(MODEL_USAGE.name, PRICED_SHARE_CHECK)]

    assert result.success
    assert not check.passed
    assert check.severity == AssetCheckSeverity.WARN
    assert check.metadata["min_priced_share"].value == 0.7
    assert check.metadata["days_under_threshold"].value == [
        {"date": "2025-03-01", "tokens": 1000, "priced_tokens": 600, "share": 0.6}
    ]


def test_a_short_extraction_blocks_every_table(source, warehouse_dir, lakehouse):
    """The blocking `lake_rows_match_source` check stops the day before anything is published.

    A lake shorter than its source is made deterministic with a view as the source
    table: its rows exist only for the first statement of a transaction that reads it
    (a volatile function counts those statements in a transaction-local setting, which
    a read-only session may still set). Of the extraction's count and copy, read in one
    snapshot, the count sees no event and the copy sees the day's event, so lake and
    source disagree by one on every run: a source that changes under a snapshot, which
    is what the check is there for. The copied row's file is deleted, never committed.
    """
    source.insert(event("2025-03-01 10:00"))
    schema, table = source.table.split(".")
    with psycopg.connect(source.dsn, autocommit=True) as connection:
        connection.execute(
            sql.SQL(
                "create function {}() returns int language plpgsql volatile as $$"
                " declare n int := coalesce(nullif(current_setting('test.statements', true),"
                " ''), '0')::int + 1;"
                " begin perform set_config('test.statements', n::text, true); return n; end $$"
            ).format(sql.Identifier(schema, "statement_number"))
        )
        connection.execute(
            sql.SQL("create view {} as select * from {} where (select {}()) = 2").format(
                sql.Identifier(schema, "shrinking_events"),
                sql.Identifier(schema, table),
                sql.Identifier(schema, "statement_number"),
            )
        )

    result = materialize(
        list(defs.assets or []),
        resources={
            **defs.resources,
            "source": SourceResource(dsn=source.dsn, table=f"{schema}.shrinking_events"),
            "lakehouse": lakehouse_resource(warehouse_dir),
        },
        partition_key="2025-03-01",
        raise_on_error=False,
    )

    assert not result.success
    assert failure_description(result).startswith(
        f"events for 2025-03-01: blocking check {RECONCILIATION_CHECK} failed"
        " (source_rows 0, extracted_rows 1)"
    )
    # nothing downstream of events; the price list reads no source and may publish
    materialized = {
        event.asset_key.to_user_string() for event in result.get_asset_materialization_events()
    }
    assert materialized <= {"model_prices"}
    for spec in LAKE_TABLES:
        assert published_rows(lakehouse, spec, DAY) is None, spec.name
    assert list(warehouse_dir.glob("**/events/data/**/*.parquet")) == []


@pytest.mark.assets(DAILY_METRICS.name)
def test_a_day_failing_a_blocking_check_is_not_published_and_the_run_names_day_and_check(
    source, run_pipeline, query
):
    first, second, third = (uuid.uuid4() for _ in range(3))
    source.insert(
        event("2025-03-01 10:00", id=first),
        event("2025-03-01 11:00", id=second),
        event("2025-03-01 12:00", id=third),
    )
    assert run_pipeline("2025-03-01").success
    source.execute(f"delete from {{table}} where id in ('{second}', '{third}')")

    refused = run_pipeline("2025-03-01", raise_on_error=False)

    assert not refused.success
    message = failure_description(refused)
    assert message.startswith(f"events for 2025-03-01: blocking check {SHRINK_CHECK} failed")
    assert "published_rows 3" in message
    assert "source_rows 1" in message
    assert query("select count(*) from events") == [(3,)]
    assert query("select event_count from daily_metrics") == [(3,)]

    assert run_pipeline("2025-03-01", run_config=ALLOW_SHRINK).success

    assert query("select id from events") == [(first,)]
    assert query("select event_count from daily_metrics") == [(1,)]


@pytest.mark.assets(EVENTS.name)
def test_a_range_failing_on_its_second_day_leaves_the_first_published_and_the_rest_as_they_were(
    source, run_pipeline, query
):
    second_day = [uuid.uuid4(), uuid.uuid4()]
    source.insert(
        event("2025-03-01 10:00"),
        event("2025-03-01 11:00"),
        event("2025-03-02 10:00", id=second_day[0]),
        event("2025-03-02 11:00", id=second_day[1]),
        event("2025-03-03 10:00"),
        event("2025-03-03 11:00"),
    )
    assert run_pipeline("2025-03-01", "2025-03-03").success
    counts = "select event_date, count(*) from events group by 1 order by 1"
    assert query(counts) == [(DAY, 2), (dt.date(2025, 3, 2), 2), (dt.date(2025, 3, 3), 2)]
    # A late event on the first day, a deletion on the second, a late event on the third.
    source.insert(event("2025-03-01 12:00"), event("2025-03-03 12:00"))
    source.execute(f"delete from {{table}} where id = '{second_day[0]}'")

    result = run_pipeline("2025-03-01", "2025-03-03", raise_on_error=False)

    assert not result.success
    assert failure_description(result).startswith(
        f"events for 2025-03-02: blocking check {SHRINK_CHECK} failed"
        " (published_rows 2, source_rows 1"
    )
    assert query(counts) == [(DAY, 3), (dt.date(2025, 3, 2), 2), (dt.date(2025, 3, 3), 2)]
