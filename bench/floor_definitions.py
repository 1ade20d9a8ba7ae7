"""Dagster's floor: one no-op daily-partitioned asset, loaded by the same CLI as the warehouse.

`dagster asset materialize -m bench.floor_definitions --select '*' --partition DAY` costs
what any Dagster code location pays for a one-day run (interpreter, Dagster's imports,
loading a code location, the instance, one step); an empty day of the warehouse's own
run is measured against it (bench/run_benchmark.py, "fixed cost").
"""

from dagster import (
    BackfillPolicy,
    DailyPartitionsDefinition,
    Definitions,
    asset,
    in_process_executor,
)


@asset(
    partitions_def=DailyPartitionsDefinition(start_date="2024-01-01", timezone="UTC"),
    backfill_policy=BackfillPolicy.single_run(),
)
def noop() -> None:
    """Does nothing: the run costs only what Dagster itself costs."""


# the warehouse's executor too (pipelines/definitions.py): Dagster's default would start a
# process for the step, which the warehouse's runs do not pay
defs = Definitions(assets=[noop], executor=in_process_executor)
