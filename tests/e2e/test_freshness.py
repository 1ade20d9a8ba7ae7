import datetime as dt

import pytest
from dagster import (
    AssetCheckKey,
    AssetKey,
    AssetMaterialization,
    AssetSelection,
    DagsterInstance,
    Definitions,
    build_sensor_context,
    define_asset_job,
)

from assets.resources import LakehouseResource
from tests.e2e.support import defs
from warehouse.tables import DAILY_METRICS, DAILY_TABLES

# the definitions' own step of the daily tables and its freshness checks
[daily_tables] = [asset for asset in defs.assets if AssetKey(DAILY_METRICS.name) in asset.keys]
freshness_checks = list(defs.asset_checks)


def test_every_daily_table_declares_a_freshness_check():
    check_keys = set(defs.resolve_asset_graph().asset_check_keys)
    for spec in DAILY_TABLES:
        assert AssetCheckKey(AssetKey(spec.name), "freshness_check") in check_keys


def test_the_freshness_sensor_requests_every_daily_tables_check_and_nothing_else():
    sensor = defs.resolve_sensor_def("daily_tables_freshness")
    with DagsterInstance.ephemeral() as instance:
        tick = sensor.evaluate_tick(build_sensor_context(instance=instance, definitions=defs))
    (request,) = tick.run_requests
    assert request.asset_selection == []
    assert sorted(key.asset_key.to_user_string() for key in request.asset_check_keys) == sorted(
        spec.name for spec in DAILY_TABLES
    )
    assert {key.name for key in request.asset_check_keys} == {"freshness_check"}


def freshness_results(materialized_days: list[dt.date]) -> list[bool]:
    """Runs the freshness checks on an instance where only `materialized_days` exist."""
    check_job = define_asset_job("freshness", selection=AssetSelection.checks(*freshness_checks))
    job = Definitions(
        assets=[daily_tables],
        asset_checks=freshness_checks,
        jobs=[check_job],
        resources={**defs.resources, "lakehouse": LakehouseResource(location="unused")},
    ).resolve_job_def("freshness")
    with DagsterInstance.ephemeral() as instance:
        for spec in DAILY_TABLES:
            for day in materialized_days:
                instance.report_runless_asset_event(
                    AssetMaterialization(asset_key=spec.name, partition=day.isoformat())
                )
        result = job.execute_in_process(instance=instance)
        return [evaluation.passed for evaluation in result.get_asset_check_evaluations()]


TODAY = dt.datetime.now(dt.UTC).date()


@pytest.mark.parametrize(
    ("days_ago", "fresh"),
    [((1, 2), True), ((7,), False)],
    ids=["yesterday materialised", "a week behind"],
)
def test_the_check_passes_only_when_the_last_complete_day_is_materialised(days_ago, fresh):
    # Before 03:00 UTC the deadline that passed last is yesterday's, which asks for the
    # day before yesterday: both are materialised in the fresh case.
    days = [TODAY - dt.timedelta(days=days) for days in days_ago]
    assert freshness_results(days) == [fresh] * len(DAILY_TABLES)
