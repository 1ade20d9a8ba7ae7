"""The demo as a new user meets it: the persistent instance, exact seeding, clear refusals."""

import datetime as dt
import os
import subprocess
import sys
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import psycopg
import pytest
from dagster import AssetKey, DagsterInstance

from pipelines.cli import main
from pipelines.demo import DEFAULT_DAYS, empty_runs, seed_empty_days
from warehouse.demo_events import seed_demo_events
from warehouse.insights import LOOKBACK_DAYS

YESTERDAY = dt.datetime.now(dt.UTC).date() - dt.timedelta(days=1)
D = dt.date.fromisoformat


def demo_environment(source, tmp_path: Path) -> dict[str, str]:
    environment = {key: value for key, value in os.environ.items() if key != "DAGSTER_HOME"}
    environment.update(
        ANALYTICS_SOURCE_DSN=source.dsn,
        ANALYTICS_SOURCE_TABLE=source.table,
        ANALYTICS_WAREHOUSE_DIR=str(tmp_path / "warehouse"),
        DAGSTER_HOME=str(tmp_path / "dagster_home"),
    )
    return environment


@contextmanager
def restored_environment() -> Iterator[None]:
    saved = dict(os.environ)
    try:
        yield
    finally:
        os.environ.clear()
        os.environ.update(saved)


def events_per_day(source) -> dict[dt.date, int]:
    with psycopg.connect(source.dsn, options="-c TimeZone=UTC") as connection:
        rows = connection.execute(
            f"select created_at::date, count(*) from {source.table} group by 1"
        ).fetchall()
    return dict(rows)


def test_the_demo_records_its_run_on_the_persistent_instance_the_ui_opens(source, tmp_path):
    environment = demo_environment(source, tmp_path)
    demo = subprocess.run(
        [
            str(Path(sys.executable).with_name("analytics-warehouse")),
            *("demo", "--seed", "--days", "2", "--events-per-day", "40"),
        ],
        env=environment,
        cwd=tmp_path,  # the demo writes its settings to the working directory's .env
        capture_output=True,
        text=True,
        timeout=600,
        check=False,
    )
    assert demo.returncode == 0, demo.stderr
    assert f"DAGSTER_HOME={tmp_path / 'dagster_home'}" in demo.stdout
    with DagsterInstance.from_config(str(tmp_path / "dagster_home")) as instance:
        for asset in ("events", "daily_metrics", "period_comparison", "reports"):
            materialization = instance.get_latest_materialization_event(AssetKey(asset))
            assert materialization is not None, asset
        partitions = instance.get_materialized_partitions(AssetKey("daily_metrics"))
        assert partitions == {str(YESTERDAY - dt.timedelta(days=1)), str(YESTERDAY)}


@pytest.mark.parametrize(
    ("busy", "runs"),
    [
        (set(), [(D("2025-03-01"), 4)]),
        ({D("2025-03-01"), D("2025-03-02")}, [(D("2025-03-03"), 2)]),
        ({D("2025-03-02")}, [(D("2025-03-01"), 1), (D("2025-03-03"), 2)]),
        ({D("2025-03-01"), D("2025-03-02"), D("2025-03-03"), D("2025-03-04")}, []),
    ],
)
def test_the_empty_days_of_a_range_are_found_as_runs_of_consecutive_days(busy, runs):
    assert empty_runs(D("2025-03-01"), D("2025-03-04"), busy) == runs


def test_a_longer_demo_seeds_exactly_the_days_that_have_no_event(source, capsys):
    seed_empty_days(source.dsn, source.table, D("2025-03-03"), D("2025-03-04"), 30)
    seed_empty_days(source.dsn, source.table, D("2025-03-01"), D("2025-03-04"), 30)

    assert events_per_day(source) == {D(f"2025-03-0{day}"): 30 for day in (1, 2, 3, 4)}
    lines = capsys.readouterr().out.splitlines()
    assert lines == [
        "Seeding 30 demo events a day on 2 empty days.",
        "Seeding 30 demo events a day on 2 empty days (2 already had events).",
    ]


def test_a_demo_without_the_events_table_says_so_first_and_points_at_seed(
    source, tmp_path, monkeypatch, capsys
):
    for name, value in demo_environment(source, tmp_path).items():
        monkeypatch.setenv(name, value)
    monkeypatch.chdir(tmp_path)  # the demo reads and writes the working directory's .env
    source.execute("drop table {table}")

    with restored_environment():  # the demo sets the settings it chose in os.environ
        assert main(["demo", "--days", "1"]) == 2

    error = capsys.readouterr().err
    assert error.splitlines() == [
        f"error: Source table {source.table} does not exist (set ANALYTICS_SOURCE_TABLE). "
        "The demo creates and fills it only when asked: add --seed."
    ]
    assert not (tmp_path / "dagster_home").exists()


def test_the_demo_help_shows_every_default(capsys):
    with pytest.raises(SystemExit):
        main(["demo", "--help"])
    text = " ".join(capsys.readouterr().out.split())
    assert f"(default: {DEFAULT_DAYS})" in text
    assert "(default: 10000)" in text


def test_the_default_demo_covers_every_window_the_reports_compare():
    assert DEFAULT_DAYS >= LOOKBACK_DAYS + 1 == 60


D = dt.date.fromisoformat


def test_the_demos_daily_users_vary_by_organisation_and_weekday(source):
    # two weeks from a Monday: 2026-11-02 to 2026-11-15, the weekends the 7th-8th and 14th-15th
    seed_demo_events(source.dsn, source.table, D("2026-11-02"), 14, 10_000)
    with psycopg.connect(source.dsn, options="-c TimeZone=UTC") as connection:
        rows = connection.execute(
            f"select organization_id, created_at::date, count(distinct user_id) from {source.table}"
            " where organization_id is not null group by 1, 2"
        ).fetchall()
    users: dict[str, dict[dt.date, int]] = {}
    for organization, day, count in rows:
        users.setdefault(str(organization), {})[day] = count

    busiest = users["48492a28-ce06-9bde-0f4f-8e33ae26c8b9"]
    weekdays = [count for day, count in busiest.items() if day.isoweekday() < 6]
    weekends = [count for day, count in busiest.items() if day.isoweekday() >= 6]
    assert len(users) == 6 and all(len(days) == 14 for days in users.values())
    means = sorted(sum(days.values()) / 14 for days in users.values())
    # from a few dozen users a day to hundreds; the busiest one's weekdays unlike each other
    assert means[0] < 100 and means[-1] > 5 * means[0]
    assert len(set(weekdays)) > 5
    assert max(weekends) < min(weekdays) * 0.75
