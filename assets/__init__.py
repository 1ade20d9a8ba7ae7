"""Dagster assets, one module per group: raw_events, daily_tables, insights."""

import warnings

from dagster import BetaWarning

# Single-run backfill policies and allow_nonexistent_upstream_partitions are beta in
# Dagster 1.x; this project relies on them knowingly (see README, "Design decisions").
warnings.filterwarnings("ignore", category=BetaWarning)
