"""Provenance (docs/contract.md, section 10), through Dagster and Iceberg: each published
partition records the settings that shaped it, in the table's metadata and its snapshot's
summary, and a run that would replace a day computed with another zone setting refuses."""

import json
import uuid

import psycopg
import pytest
from dagster import materialize

from assets.partitions import partition_range_tags
from assets.resources import PriceListResource, SourceResource
from tests.e2e.support import defs, lakehouse_resource, with_upstream
from warehouse.provenance import code_version
from warehouse.storage.reading import published_days
from warehouse.tables import DAILY_METRICS, DAILY_METRICS_LOCAL, EVENTS, ORGANIZATION_TIMEZONES

ORG = uuid.UUID("00000000-0000-4000-8000-00000000000a")
DAY = "2025-03-01"
PRICES = "model,effective_from,usd_per_million_tokens\ngpt-x,2025-01-01,2.00\n"


@pytest.fixture
def zones_table(source):
    table = f"{source.table.split('.')[0]}.organization_timezones"
    with psycopg.connect(source.dsn, autocommit=True) as connection:
        connection.execute(f"create table {table} (organization_id uuid, timezone text)")
        connection.execute(f"insert into {table} values (%s, 'Asia/Kolkata')", [ORG])
    return table


def run(source, warehouse_dir, prices, timezones_table, run_config=None):
    resources = {
        **defs.resources,
        "source": SourceResource(
            dsn=source.dsn, table=source.table, timezones_table=timezones_table
        ),
        "lakehouse": lakehouse_resource(warehouse_dir),
        "prices": PriceListResource(path=str(prices)),
    }
    return materialize(
        list(defs.assets or []),
        resources=resources,
        tags=partition_range_tags(DAY, DAY),
        run_config=run_config,
        raise_on_error=False,
        # the tables whose settings are recorded, and what they are computed from
        selection=with_upstream(["organization_timezones", "daily_metrics", "daily_metrics_local"]),
    )


@pytest.fixture
def prices(tmp_path):
    path = tmp_path / "prices.csv"
    path.write_text(PRICES)
    return path


def test_each_published_partition_records_the_settings_that_shaped_it(
    source, warehouse_dir, prices, zones_table
):
    source.insert(
        {"organization_id": ORG, "event_type": "message.sent", "created_at": f"{DAY} 12:00"}
    )

    result = run(source, warehouse_dir, prices, zones_table)

    assert result.success
    lakehouse = lakehouse_resource(warehouse_dir).open()
    digest = PriceListResource(path=str(prices)).digest
    day = next(iter(published_days(lakehouse, EVENTS)))
    assert published_days(lakehouse, ORGANIZATION_TIMEZONES)[day] == {
        "timezones_table": zones_table
    }
    assert published_days(lakehouse, DAILY_METRICS)[day] == {"prices_digest": digest}
    local = published_days(lakehouse, DAILY_METRICS_LOCAL)[day]
    assert (local["timezones_table"], local["prices_digest"]) == (zones_table, digest)
    for spec, setting, value in (
        (ORGANIZATION_TIMEZONES, "analytics.timezones_table", zones_table),
        (DAILY_METRICS, "analytics.prices_digest", digest),
    ):
        summary = lakehouse.table(spec).current_snapshot().summary
        assert summary[setting] == value
        assert summary["analytics.code-version"] == code_version()
        assert summary["dagster-run-id"] == result.run_id
        assert summary["analytics.partitions"] == DAY


def test_a_run_replacing_a_day_of_another_zone_setting_refuses_naming_both(
    source, warehouse_dir, prices, zones_table
):
    source.insert(
        {"organization_id": ORG, "event_type": "message.sent", "created_at": f"{DAY} 12:00"}
    )
    assert run(source, warehouse_dir, prices, zones_table).success

    result = run(source, warehouse_dir, prices, timezones_table=None)  # the variable unset

    assert not result.success
    failures = [event for event in result.all_events if event.is_step_failure]
    assert [event.step_key for event in failures] == ["events"]
    sentence = failures[0].event_specific_data.user_failure_data.description
    assert sentence.startswith(
        f"organization_timezones for {DAY} was published with "
        f"ANALYTICS_ORG_TIMEZONES_TABLE={zones_table} and this run computes it with "
        "ANALYTICS_ORG_TIMEZONES_TABLE=none: refused"
    )
    lakehouse = lakehouse_resource(warehouse_dir).open()
    kept = published_days(lakehouse, ORGANIZATION_TIMEZONES)
    assert {json.dumps(record) for record in kept.values()} == {
        json.dumps({"timezones_table": zones_table})
    }


def test_a_zone_change_is_allowed_when_the_run_says_it_is_wanted_and_recorded(
    source, warehouse_dir, prices, zones_table
):
    source.insert(
        {"organization_id": ORG, "event_type": "message.sent", "created_at": f"{DAY} 12:00"}
    )
    assert run(source, warehouse_dir, prices, zones_table).success
    allowed = {"config": {"allow_timezone_change": True}}

    result = run(
        source,
        warehouse_dir,
        prices,
        timezones_table=None,
        run_config={"ops": {"events": allowed, "local_tables": allowed}},
    )

    assert result.success
    lakehouse = lakehouse_resource(warehouse_dir).open()
    for spec in (ORGANIZATION_TIMEZONES, DAILY_METRICS_LOCAL):
        [record] = published_days(lakehouse, spec).values()
        assert record["timezones_table"] == "none"


def test_a_new_price_list_recomputes_the_cost_tables_and_records_its_digest(
    source, warehouse_dir, prices, zones_table, tmp_path
):
    source.insert(
        {"organization_id": ORG, "event_type": "message.sent", "created_at": f"{DAY} 12:00"}
    )
    assert run(source, warehouse_dir, prices, zones_table).success
    newer = tmp_path / "newer.csv"
    newer.write_text(PRICES.replace("2.00", "3.00"))

    assert run(source, warehouse_dir, newer, zones_table).success

    lakehouse = lakehouse_resource(warehouse_dir).open()
    digest = PriceListResource(path=str(newer)).digest
    assert list(published_days(lakehouse, DAILY_METRICS).values()) == [{"prices_digest": digest}]
