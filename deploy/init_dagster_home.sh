#!/bin/sh
# Prepares DAGSTER_HOME (default: .dagster/ in the project, git-ignored) for `dagster dev`
# and the CLI: the project's instance settings (deploy/dagster.yaml: run monitoring on,
# telemetry off), plus PostgreSQL storage when DAGSTER_PG_DSN is set, SQLite otherwise.
set -eu
project=$(cd "$(dirname "$0")/.." && pwd)
home=${DAGSTER_HOME:-$project/.dagster}
mkdir -p "$home"
cp "$project/deploy/dagster.yaml" "$home/dagster.yaml"
if [ -n "${DAGSTER_PG_DSN:-}" ]; then
    cat "$project/deploy/dagster-postgres.yaml" >> "$home/dagster.yaml"
    echo "DAGSTER_HOME=$home: run and event storage in PostgreSQL (DAGSTER_PG_DSN)"
else
    echo "DAGSTER_HOME=$home: SQLite storage"
fi
