"""`analytics-warehouse status`: the complete days, the latest run, each table's last day
and what a price change left stale, from a warehouse built by `materialize`."""

import json
import uuid
from collections.abc import Iterator
from pathlib import Path

import psycopg
import pytest

from pipelines.cli import main
from tests.e2e.support import fresh_source
from warehouse.settings import PROJECT_ROOT
from warehouse.tables import DAILY_METRICS, LAKE_TABLES, is_priced

LOS_ANGELES = uuid.UUID("00000000-0000-4000-8000-0000000000a1")
ON_UTC = uuid.UUID("00000000-0000-4000-8000-0000000000a2")
DAYS = ["2025-03-01", "2025-03-02"]


@pytest.fixture(scope="module")
def settings(postgres_dsn, tmp_path_factory) -> Iterator[dict[str, str]]:
    """Two UTC days materialised by the command; Los Angeles' second local day needs the
    third UTC day, not in yet."""
    folder = tmp_path_factory.mktemp("status")
    with fresh_source(postgres_dsn) as source, pytest.MonkeyPatch.context() as patch:
        zones = f"{source.table.split('.')[0]}.organization_timezones"
        with psycopg.connect(source.dsn, autocommit=True) as connection:
            connection.execute(f"create table {zones} (organization_id uuid, timezone text)")
            connection.execute(
                f"insert into {zones} values (%s, 'America/Los_Angeles'), (%s, 'UTC')",
                (LOS_ANGELES, ON_UTC),
            )
        source.insert(
            *[
                {"organization_id": org, "event_type": "message.sent", "created_at": f"{day} 10:00"}
                for org in (LOS_ANGELES, ON_UTC)
                for day in DAYS
            ]
        )
        settings = {
            "ANALYTICS_SOURCE_DSN": source.dsn,
            "ANALYTICS_SOURCE_TABLE": source.table,
            "ANALYTICS_ORG_TIMEZONES_TABLE": zones,
            "ANALYTICS_WAREHOUSE_DIR": str(folder / "warehouse"),
            "ANALYTICS_START_DATE": "2025-01-01",
            "DAGSTER_HOME": str(folder / "home"),
        }
        patch.chdir(folder)  # not the project root, whose .env the commands read
        for name, value in settings.items():
            patch.setenv(name, value)
        assert main(["materialize", "--start", DAYS[0], "--end", DAYS[-1]]) == 0
        yield {**settings, "folder": str(folder)}


@pytest.fixture
def built(settings, monkeypatch) -> Path:
    folder = Path(settings["folder"])
    monkeypatch.chdir(folder)
    for name, value in settings.items():
        if name != "folder":
            monkeypatch.setenv(name, value)
    return folder


def status(capsys) -> dict:
    assert main(["status", "--json"]) == 0
    return json.loads(capsys.readouterr().out)


def test_status_gives_the_complete_days_and_the_organisations_whose_local_days_lag(built, capsys):
    shown = status(capsys)

    assert (shown["first_day"], shown["last_complete_day"]) == ("2025-03-01", "2025-03-02")
    assert shown["incomplete_days"] == []
    assert shown["lagging_organisations"] == [
        {
            "organization_id": str(LOS_ANGELES),
            "timezone": "America/Los_Angeles",
            "last_complete": "2025-03-01",
        }
    ]


def test_status_gives_the_latest_run_and_each_tables_last_day(built, capsys):
    shown = status(capsys)

    run = shown["latest_run"]
    assert (run["status"], run["partitions"]) == ("SUCCESS", "2025-03-01..2025-03-02")
    tables = {table["name"]: table for table in shown["tables"]}
    assert (
        tables[DAILY_METRICS.name]["last_day"],
        tables[DAILY_METRICS.name]["published_days"],
    ) == (
        "2025-03-02",
        2,
    )


def test_status_names_the_cost_days_a_price_change_left_stale(built, capsys, monkeypatch):
    assert status(capsys)["stale_cost_days"] == {}
    changed = built / "changed_prices.csv"
    changed.write_text(
        (PROJECT_ROOT / "deploy" / "model_prices.csv").read_text() + "gpt-4o,2025-03-02,9.00\n"
    )
    monkeypatch.setenv("ANALYTICS_MODEL_PRICES", str(changed))

    assert status(capsys)["stale_cost_days"] == {
        spec.name: DAYS for spec in LAKE_TABLES if is_priced(spec)
    }


def test_status_on_screen_names_the_lagging_organisation(built, capsys):
    assert main(["status"]) == 0
    screen = capsys.readouterr().out

    assert "Days         from 2025-03-01, complete through 2025-03-02" in screen
    assert f"{LOS_ANGELES} (America/Los_Angeles: through 2025-03-01)" in screen
