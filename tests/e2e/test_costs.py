"""Model costs end to end (docs/contract.md, section 8): the price file through Dagster,
the `model_prices` table's Iceberg commits, the cost column's schema evolution, and the
staleness a new price list brings.

The rules of the costs themselves (each event's price, the cost columns and macros, the
unpriced tokens) are tested on the functional core in `tests/rules/test_costs.py`, and the
price file's in `tests/rules/test_price_list.py`; one of them is run here through Dagster
as the smoke test of the cost tables. Hand-built price files where 1,000,000 tokens cost
the price itself, so every cost can be checked by eye.
"""

import dataclasses
import datetime as dt
import uuid
from pathlib import Path

import duckdb
import pyarrow as pa
import pytest
from dagster import AssetKey, AssetSelection, DagsterInstance, materialize
from dagster._core.definitions.data_version import StaleStatus
from dagster._utils.test.data_versions import get_stale_status_resolver
from pyiceberg.io.pyarrow import schema_to_pyarrow
from pyiceberg.table.snapshots import Operation

from assets.costs import build_model_prices_asset
from assets.daily_tables import build_daily_tables_asset
from assets.partitions import daily_partitioning, partition_range_tags
from assets.resources import PriceListResource, SourceResource
from tests.e2e.support import data_files, defs, lakehouse_resource, replace_partition
from warehouse.costs import load_prices, prices_version, publish_prices
from warehouse.storage.catalog import Lakehouse
from warehouse.storage.reading import register_tables
from warehouse.tables import COST_TABLES, DAILY_METRICS, EVENT_COUNTS, MODEL_PRICES

ORG = uuid.UUID("00000000-0000-4000-8000-000000000001")
AGENT = uuid.UUID("00000000-0000-4000-8000-0000000000a1")
HEADER = "model,effective_from,usd_per_million_tokens\n"
PRICES = HEADER + "gpt-x,2025-03-01,2.00\ngpt-x,2025-03-03,5.00\nsmall,2025-03-02,0.50\n"
price_list_version = PriceListResource().digest
COSTED = ("events", "model_prices", "daily_metrics", "agent_metrics", "data_quality", "model_usage")


def price_file(tmp_path, text=PRICES, name="prices.csv"):
    path = tmp_path / name
    path.write_text(text)
    return path


def event(day, tokens, model=None, **fields):
    properties = {"tokens": tokens} if model is None else {"tokens": tokens, "model": model}
    return {
        "organization_id": ORG,
        "event_type": "message.sent",
        "created_at": f"{day} 10:00",
        "properties": properties,
        **fields,
    }


def run_costs(source, warehouse_dir, prices, first, last, names=COSTED, instance=None):
    return materialize(
        list(defs.assets),
        selection=AssetSelection.assets(*names),
        resources={
            **defs.resources,
            "source": SourceResource(dsn=source.dsn, table=source.table),
            "lakehouse": lakehouse_resource(warehouse_dir),
            "prices": PriceListResource(path=str(prices)),
        },
        tags=partition_range_tags(first, last),
        raise_on_error=False,
        instance=instance,
    )


def test_a_malformed_price_file_stops_the_run_before_any_cost_table(
    source, warehouse_dir, tmp_path
):
    source.insert(event("2025-03-01", 100, "gpt-x"))
    bad = price_file(tmp_path, HEADER + "gpt-x,2025-03-01,-2\n")

    result = run_costs(source, warehouse_dir, bad, "2025-03-01", "2025-03-01")

    assert not result.success
    [failure] = [
        event.step_failure_data.user_failure_data.description
        for event in result.all_events
        if event.is_step_failure
    ]
    assert "line 2 has the negative price -2" in failure
    materialized = {
        event.asset_key.to_user_string() for event in result.get_asset_materialization_events()
    }
    assert materialized == {"events"}


def test_an_event_costs_its_tokens_at_its_models_latest_price_on_its_day(
    source, warehouse_dir, tmp_path, query
):
    # gpt-x costs 2.00 from March 1 and 5.00 from March 3; small 0.50 from March 2
    agent = {"resource_type": "agent", "resource_id": AGENT}
    source.insert(
        event("2025-03-01", 500_000, "gpt-x", **agent),  # 1.00
        event("2025-03-02", 250_000, "gpt-x"),  # 0.50: March 1's price still applies
        event("2025-03-02", 1_000_000, "small", **agent),  # 0.50
        event("2025-03-03", 200_000, "gpt-x", **agent),  # 1.00 at the new price
        event("2025-03-03", 200_000, "gpt-x", **agent),  # 1.00
    )

    assert run_costs(
        source, warehouse_dir, price_file(tmp_path), "2025-03-01", "2025-03-03"
    ).success

    assert query("select date, total_cost_usd from daily_metrics order by date") == [
        (dt.date(2025, 3, 1), pytest.approx(1.0)),
        (dt.date(2025, 3, 2), pytest.approx(1.0)),
        (dt.date(2025, 3, 3), pytest.approx(2.0)),
    ]
    assert query("select date, total_cost_usd from agent_metrics order by date") == [
        (dt.date(2025, 3, 1), pytest.approx(1.0)),
        (dt.date(2025, 3, 2), pytest.approx(0.5)),
        (dt.date(2025, 3, 3), pytest.approx(2.0)),
    ]
    assert query(
        "select date, model, event_count, total_tokens, cost_usd from model_usage order by all"
    ) == [
        (dt.date(2025, 3, 1), "gpt-x", 1, 500_000, pytest.approx(1.0)),
        (dt.date(2025, 3, 2), "gpt-x", 1, 250_000, pytest.approx(0.5)),
        (dt.date(2025, 3, 2), "small", 1, 1_000_000, pytest.approx(0.5)),
        (dt.date(2025, 3, 3), "gpt-x", 2, 400_000, pytest.approx(2.0)),
    ]
    assert query(
        "select model, effective_from, usd_per_million_tokens from model_prices order by all"
    ) == [
        ("gpt-x", dt.date(2025, 3, 1), 2.0),
        ("gpt-x", dt.date(2025, 3, 3), 5.0),
        ("small", dt.date(2025, 3, 2), 0.5),
    ]


def published_prices(table, snapshot_id=None):
    rows = table.scan(snapshot_id=snapshot_id).to_arrow().to_pylist()
    return sorted(tuple(row.values()) for row in rows)


# PRICES as rows, and a new list: gpt-x dearer from March 3, small cheaper from March 5
PRICE_ROWS = [
    ("gpt-x", dt.date(2025, 3, 1), 2.0),
    ("gpt-x", dt.date(2025, 3, 3), 5.0),
    ("small", dt.date(2025, 3, 2), 0.5),
]
NEW_PRICES = PRICES.replace("5.00", "6.00") + "small,2025-03-05,0.40\n"
NEW_PRICE_ROWS = [
    ("gpt-x", dt.date(2025, 3, 1), 2.0),
    ("gpt-x", dt.date(2025, 3, 3), 6.0),
    ("small", dt.date(2025, 3, 2), 0.5),
    ("small", dt.date(2025, 3, 5), 0.4),
]


@pytest.mark.filterwarnings("error")
def test_a_changed_price_list_replaces_the_old_in_one_overwrite_snapshot(lakehouse, tmp_path):
    publish_prices(lakehouse, load_prices(price_file(tmp_path)), {})
    new = load_prices(price_file(tmp_path, NEW_PRICES, name="new.csv"))

    publish_prices(lakehouse, new, {})
    publish_prices(lakehouse, new, {})  # the same list again: nothing to commit

    table = lakehouse.table(MODEL_PRICES)
    first, replaced = table.snapshots()
    assert first.summary.operation == Operation.APPEND
    assert replaced.summary.operation == Operation.OVERWRITE
    assert replaced.parent_snapshot_id == first.snapshot_id
    # every version of the table holds a whole price list, never none
    assert [published_prices(table, entry.snapshot_id) for entry in table.history()] == [
        PRICE_ROWS,
        NEW_PRICE_ROWS,
    ]
    assert len(data_files(lakehouse, MODEL_PRICES)) == 4  # a file per effective_from


def test_a_price_commit_that_lost_the_race_to_the_same_prices_adds_nothing(
    lakehouse, tmp_path, monkeypatch
):
    prices = load_prices(price_file(tmp_path))
    # the losing run read the empty table before the winner committed the same list
    stale = [lakehouse.table(MODEL_PRICES)]
    winner = Lakehouse(lakehouse.location, lakehouse.catalog_uri)
    publish_prices(winner, prices, {})
    load = lakehouse.table
    monkeypatch.setattr(lakehouse, "table", lambda spec: stale.pop() if stale else load(spec))

    publish_prices(lakehouse, prices, {})

    table = lakehouse.table(MODEL_PRICES)
    assert not stale  # the loser did start from the stale table
    assert len(table.snapshots()) == 1
    assert published_prices(table) == PRICE_ROWS
    # the loser's staged files were deleted: every file on disk is the winner's
    folder = Path(table.location().removeprefix("file://")) / "data"
    on_disk = sorted(str(path) for path in folder.rglob("*.parquet"))
    published = [path.removeprefix("file://") for path in data_files(lakehouse, MODEL_PRICES)]
    assert len(on_disk) == 3
    assert on_disk == published


def test_total_cost_usd_is_added_to_an_existing_table_by_schema_evolution(lakehouse):
    # daily_metrics as release 2 wrote it, before the column existed
    old_spec = dataclasses.replace(
        DAILY_METRICS,
        columns=tuple(c for c in DAILY_METRICS.columns if c.name != "total_cost_usd"),
    )
    old_row = {name: None for name in old_spec.column_names}
    old_row.update(organization_id=str(ORG), date=dt.date(2025, 3, 1), total_messages=3)
    release_2 = Lakehouse(lakehouse.location, lakehouse.catalog_uri)
    release_2.table(old_spec)
    replace_partition(
        release_2, old_spec, dt.date(2025, 3, 1), _arrow(release_2, old_spec, old_row)
    )
    old_snapshot = release_2.table(old_spec).current_snapshot().snapshot_id

    table = lakehouse.table(DAILY_METRICS)  # evolves the table: one new field, appended

    assert table.schema().column_names == DAILY_METRICS.column_names
    new_row = {**old_row, "date": dt.date(2025, 3, 2), "total_cost_usd": 1.5}
    replace_partition(
        lakehouse, DAILY_METRICS, dt.date(2025, 3, 2), _arrow(lakehouse, DAILY_METRICS, new_row)
    )
    with duckdb.connect() as connection:
        register_tables(lakehouse, connection, [DAILY_METRICS])
        assert connection.sql(
            "select date, total_messages, total_cost_usd from daily_metrics order by date"
        ).fetchall() == [(dt.date(2025, 3, 1), 3, None), (dt.date(2025, 3, 2), 3, 1.5)]
    # the snapshot from before the evolution still reads, with its own schema
    old = lakehouse.table(DAILY_METRICS).scan(snapshot_id=old_snapshot).to_arrow()
    assert old.column("total_messages").to_pylist() == [3]


def _arrow(lakehouse, spec, row):
    schema = schema_to_pyarrow(lakehouse.table(spec).schema(), include_field_ids=False)
    return pa.Table.from_pylist([row], schema=schema)


def test_a_new_price_file_makes_every_cost_table_stale(source, warehouse_dir, tmp_path):
    source.insert(event("2025-03-01", 100, "gpt-x"))
    first = price_file(tmp_path)
    second = price_file(tmp_path, PRICES.replace("2.00", "3.00"), name="new.csv")
    assert prices_version(first) != prices_version(second)
    partitioning = daily_partitioning(dt.date(2024, 1, 1))
    instance = DagsterInstance.ephemeral()
    before = [build_model_prices_asset(prices_version(first))]
    before += [build_daily_tables_asset(partitioning, prices_version(first))]
    events = [asset for asset in defs.assets if asset.keys == {AssetKey("events")}]
    resources = {
        **defs.resources,
        "source": SourceResource(dsn=source.dsn, table=source.table),
        "lakehouse": lakehouse_resource(warehouse_dir),
        "prices": PriceListResource(path=str(first)),
    }
    assert materialize(
        [*events, *before], resources=resources, partition_key="2025-03-01", instance=instance
    ).success

    def statuses(assets):
        resolver = get_stale_status_resolver(instance, assets)
        return {
            key.to_user_string(): resolver.get_status(
                key, None if key.to_user_string() == "model_prices" else "2025-03-01"
            )
            for key in (key for asset in assets for key in asset.keys)
            if key.to_user_string() != "events"
        }

    assert set(statuses([*events, *before]).values()) == {StaleStatus.FRESH}

    after = [build_model_prices_asset(prices_version(second))]
    after += [build_daily_tables_asset(partitioning, prices_version(second))]
    now = statuses([*events, *after])
    cost_tables = {"model_prices", *(spec.name for spec in COST_TABLES)}
    assert {name for name, status in now.items() if status == StaleStatus.STALE} == cost_tables
    assert now[EVENT_COUNTS.name] == StaleStatus.FRESH


def test_every_table_with_costs_depends_on_the_prices_and_carries_their_version():
    graph = defs.resolve_asset_graph()
    priced = {
        key.to_user_string()
        for key in graph.get_all_asset_keys()
        if AssetKey("model_prices") in graph.get(key).parent_keys
    }
    assert priced == {
        "daily_metrics",
        "agent_metrics",
        "data_quality",
        "model_usage",
        "daily_metrics_local",
        "agent_metrics_local",
    }
    assert {graph.get(AssetKey(name)).code_version for name in priced} == {price_list_version}
