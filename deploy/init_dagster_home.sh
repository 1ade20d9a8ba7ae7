#!/bin/sh
# Prepares DAGSTER_HOME (default: .dagster/ in the project, git-ignored) for `dagster dev`:
# PostgreSQL storage from deploy/dagster.yaml when DAGSTER_PG_DSN is set, SQLite otherwise.
set -eu
project=$(cd "$(dirname "$0")/.." && pwd)
home=${DAGSTER_HOME:-$project/.dagster}
mkdir -p "$home"
if [ -n "${DAGSTER_PG_DSN:-}" ]; then
    cp "$project/deploy/dagster.yaml" "$home/dagster.yaml"
    echo "DAGSTER_HOME=$home: run and event storage in PostgreSQL (DAGSTER_PG_DSN)"
elif [ -f "$home/dagster.yaml" ] && grep -q "DAGSTER_PG_DSN" "$home/dagster.yaml"; then
    rm "$home/dagster.yaml"
    echo "DAGSTER_HOME=$home: DAGSTER_PG_DSN unset, back to SQLite storage"
else
    echo "DAGSTER_HOME=$home: SQLite storage"
fi
