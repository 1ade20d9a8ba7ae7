#!/bin/sh
# Prepares DAGSTER_HOME (default: .dagster/ in the project, git-ignored) for `dagster dev`
# and the CLI: the project's instance settings (deploy/dagster.yaml: run monitoring on,
# telemetry off), plus PostgreSQL storage when DAGSTER_PG_DSN is set, SQLite otherwise.
# The same preparation every analytics-warehouse command makes: pipelines/dagster_home.py.
set -eu
project=$(cd "$(dirname "$0")/.." && pwd)
cd "$project"
exec "$project/.venv/bin/python" -m pipelines.dagster_home
