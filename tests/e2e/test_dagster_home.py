import os
import subprocess
from pathlib import Path

from dagster._core.instance.config import dagster_instance_config

INIT = Path(__file__).resolve().parents[2] / "deploy" / "init_dagster_home.sh"


def init(home: Path, pg_dsn: str | None) -> None:
    env = {key: value for key, value in os.environ.items() if key != "DAGSTER_PG_DSN"}
    env["DAGSTER_HOME"] = str(home)
    if pg_dsn:
        env["DAGSTER_PG_DSN"] = pg_dsn
    subprocess.run(["sh", str(INIT)], env=env, check=True, capture_output=True)


def test_a_postgres_dsn_installs_the_postgres_storage_template(tmp_path):
    init(tmp_path, "postgresql+psycopg2://dagster@127.0.0.1:5432/dagster")
    config, _ = dagster_instance_config(str(tmp_path))
    assert config["storage"] == {"postgres": {"postgres_url": {"env": "DAGSTER_PG_DSN"}}}


def test_without_a_postgres_dsn_dagster_keeps_sqlite(tmp_path):
    init(tmp_path, "postgresql+psycopg2://dagster@127.0.0.1:5432/dagster")
    init(tmp_path, None)
    config, _ = dagster_instance_config(str(tmp_path))
    assert "storage" not in config


def test_the_shipped_instance_marks_dead_runs_failed_and_sends_no_telemetry(tmp_path):
    init(tmp_path, None)
    config, _ = dagster_instance_config(str(tmp_path))
    assert config["run_monitoring"]["enabled"] is True
    assert config["run_monitoring"]["poll_interval_seconds"] == 120
    assert config["telemetry"] == {"enabled": False}
