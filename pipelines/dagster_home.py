"""Dagster's instance folder, `DAGSTER_HOME`, made ready for the UI and the commands.

The project ships its instance settings in `deploy/dagster.yaml` (run monitoring on,
telemetry off, old ticks purged) and, with `DAGSTER_PG_DSN` set, adds
`deploy/dagster-postgres.yaml` (run, event and schedule storage in PostgreSQL, the URL
read from the environment when Dagster starts, never written down). Every command that
runs Dagster prepares the folder the same way: `python -m pipelines.dagster_home` (which
`deploy/init_dagster_home.sh` calls) rewrites the settings, a command only writes them
where there are none.
"""

from __future__ import annotations

import os
import sys
from collections.abc import Mapping
from pathlib import Path

from warehouse.settings import PROJECT_ROOT, ConfigurationError

DEFAULT_DAGSTER_HOME = PROJECT_ROOT / ".dagster"
PSYCOPG2_SCHEME = "postgresql+psycopg2://"
DEPLOY = PROJECT_ROOT / "deploy"


def dagster_home(environment: Mapping[str, str]) -> Path:
    """DAGSTER_HOME, or the project's `.dagster/`."""
    return Path(environment.get("DAGSTER_HOME") or DEFAULT_DAGSTER_HOME).resolve()


def instance_settings(environment: Mapping[str, str]) -> str:
    """The text of dagster.yaml: the project's settings, plus PostgreSQL storage."""
    settings = (DEPLOY / "dagster.yaml").read_text()
    dsn = environment.get("DAGSTER_PG_DSN")
    if dsn:
        if not dsn.startswith(PSYCOPG2_SCHEME):
            # SQLAlchemy 2.1 reads a bare postgresql:// with psycopg 3, with which Dagster's
            # event log cannot notify (every event of a run fails to store)
            raise ConfigurationError(
                f"DAGSTER_PG_DSN must start with {PSYCOPG2_SCHEME} (the driver Dagster's "
                f"PostgreSQL storage is tested with), got {dsn.split('://')[0]}://..."
            )
        settings += (DEPLOY / "dagster-postgres.yaml").read_text()
    return settings


def prepare_dagster_home(environment: Mapping[str, str], replace: bool = False) -> Path:
    """Creates DAGSTER_HOME with the project's settings (kept if there are some, unless
    `replace`); returns it."""
    home = dagster_home(environment)
    home.mkdir(parents=True, exist_ok=True)
    settings_file = home / "dagster.yaml"
    if replace or not settings_file.exists():
        settings_file.write_text(instance_settings(environment))
    return home


if __name__ == "__main__":
    try:
        home = prepare_dagster_home(os.environ, replace=True)
    except ConfigurationError as error:
        print(f"error: {error}", file=sys.stderr)
        sys.exit(2)
    storage = "PostgreSQL (DAGSTER_PG_DSN)" if os.environ.get("DAGSTER_PG_DSN") else "SQLite"
    print(f"DAGSTER_HOME={home}: run and event storage in {storage}", file=sys.stdout)
