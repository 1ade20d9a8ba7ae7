"""`analytics-warehouse materialize`: bad input is one sentence and exit 2, before any run."""

import datetime as dt
import os
import subprocess
import sys
import uuid
from pathlib import Path

import pytest
from dagster import AssetKey, DagsterInstance

from pipelines.cli import main
from pipelines.materialize import validate_range
from warehouse.settings import ConfigurationError

TODAY = dt.date(2025, 3, 10)
START = dt.date(2025, 1, 1)
ORG = uuid.UUID("00000000-0000-4000-8000-0000000000c1")


@pytest.mark.parametrize(
    ("start", "end", "sentence"),
    [
        ("2025-03-05", "2025-03-04", "--start 2025-03-05 is after --end 2025-03-04"),
        (
            "2025-03-08",
            "2025-03-10",
            "--end 2025-03-10 is not a complete UTC day yet: the last complete day is 2025-03-09",
        ),
        (
            "2025-03-08",
            "2025-03-12",
            "--end 2025-03-12 is not a complete UTC day yet: the last complete day is 2025-03-09",
        ),
        (
            "2024-12-31",
            "2025-01-02",
            "--start 2024-12-31 is before ANALYTICS_START_DATE 2025-01-01, the first partition",
        ),
        ("2025-3-1", "2025-03-02", "--start must be a date as YYYY-MM-DD, got '2025-3-1'"),
    ],
)
def test_a_range_that_cannot_run_is_refused_naming_the_value(start, end, sentence):
    with pytest.raises(ConfigurationError) as refused:
        validate_range(start, end, START, TODAY)
    assert str(refused.value) == sentence


def test_a_range_of_complete_days_is_accepted():
    assert validate_range("2025-03-01", "2025-03-09", START, TODAY) == (
        dt.date(2025, 3, 1),
        dt.date(2025, 3, 9),
    )


def run_command(
    monkeypatch, capsys, environment: dict[str, str | None], working_dir: Path
) -> tuple[int, str]:
    # not the project root, whose .env (a developer's settings) the command reads
    monkeypatch.chdir(working_dir)
    for name, value in environment.items():
        if value is None:
            monkeypatch.delenv(name, raising=False)
        else:
            monkeypatch.setenv(name, value)
    code = main(["materialize", "--start", "2025-03-01", "--end", "2025-03-01"])
    return code, capsys.readouterr().err


@pytest.mark.parametrize(
    ("environment", "sentence"),
    [
        (
            {"ANALYTICS_START_DATE": "2025-13-01"},
            "error: ANALYTICS_START_DATE must be a date as YYYY-MM-DD, got '2025-13-01'",
        ),
        (
            {"ANALYTICS_SOURCE_DSN": None},
            "error: ANALYTICS_SOURCE_DSN is not set: give the libpq conninfo or URI of the "
            "platform's database",
        ),
        (
            {"ANALYTICS_WAREHOUSE_DIR": "gs://bucket/wh"},
            "error: ANALYTICS_WAREHOUSE_DIR must be a local folder or s3://bucket/prefix, "
            "got 'gs://bucket/wh'",
        ),
        (
            {"ANALYTICS_SOURCE_DSN": "host=127.0.0.1 port=1 user=postgres connect_timeout=3"},
            "error: Cannot connect to the source database: ",
        ),
        (
            {"ANALYTICS_SOURCE_TABLE": "public.no_such_events_table"},
            "error: Source table public.no_such_events_table does not exist "
            "(set ANALYTICS_SOURCE_TABLE).",
        ),
    ],
)
def test_bad_settings_and_sources_are_one_sentence_and_exit_2(
    environment, sentence, postgres_dsn, tmp_path, monkeypatch, capsys
):
    base = {
        "ANALYTICS_SOURCE_DSN": postgres_dsn,
        "ANALYTICS_WAREHOUSE_DIR": str(tmp_path / "warehouse"),
        "ANALYTICS_START_DATE": "2025-01-01",
        "DAGSTER_HOME": str(tmp_path / "home"),
    }
    code, error = run_command(monkeypatch, capsys, {**base, **environment}, tmp_path)
    assert code == 2
    assert error.startswith(sentence)
    assert len(error.strip().splitlines()) == 1
    assert not (tmp_path / "home").exists()


def test_a_valid_range_runs_the_selected_assets_in_one_run(source, tmp_path):
    source.insert(
        {"organization_id": ORG, "event_type": "message.sent", "created_at": "2025-03-01 10:00"},
        {"organization_id": ORG, "event_type": "message.sent", "created_at": "2025-03-02 10:00"},
    )
    environment = {
        **os.environ,
        "ANALYTICS_SOURCE_DSN": source.dsn,
        "ANALYTICS_SOURCE_TABLE": source.table,
        "ANALYTICS_WAREHOUSE_DIR": str(tmp_path / "warehouse"),
        "ANALYTICS_START_DATE": "2025-01-01",
        "DAGSTER_HOME": str(tmp_path / "home"),
    }
    command = [str(Path(sys.executable).with_name("analytics-warehouse")), "materialize"]
    done = subprocess.run(
        [*command, "--start", "2025-03-01", "--end", "2025-03-02", "--select", "events+"],
        env=environment,
        cwd=tmp_path,  # not the project root, whose .env (a developer's settings) it reads
        capture_output=True,
        text=True,
        timeout=600,
        check=False,
    )
    assert done.returncode == 0, done.stderr
    # not on a terminal, the command is quiet: no progress, no Dagster log, no warning
    assert done.stderr == ""
    assert done.stdout.startswith("materialised 2025-03-01 to 2025-03-02; runs in DAGSTER_HOME=")
    with DagsterInstance.from_config(str(tmp_path / "home")) as instance:
        assert len(instance.get_runs()) == 1
        materialized = instance.get_materialized_partitions(AssetKey("daily_metrics"))
        assert materialized == {"2025-03-01", "2025-03-02"}
        assert instance.get_latest_materialization_event(AssetKey("reports")) is None
