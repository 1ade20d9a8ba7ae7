"""How fresh the daily tables must be: yesterday's partition by 03:00 UTC.

Dagster's time-partition freshness check asks exactly that question (is the partition
that the last deadline tick completed materialised?), unlike a policy on the last
materialisation, which a re-run of any old day would satisfy. A sensor evaluates the
checks after each deadline; their results show on each asset's Checks tab. Dagster marks
these factories as superseded by `FreshnessPolicy` for that very difference, so the
warning is silenced here, where the choice is made.
"""

from __future__ import annotations

import warnings
from collections.abc import Sequence

from dagster import (
    AssetChecksDefinition,
    AssetsDefinition,
    DefaultSensorStatus,
    SensorDefinition,
    SupersessionWarning,
    build_sensor_for_freshness_checks,
    build_time_partition_freshness_checks,
)


def build_freshness_checks(
    deadline_cron: str, assets: Sequence[AssetsDefinition]
) -> Sequence[AssetChecksDefinition]:
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", SupersessionWarning)
        return build_time_partition_freshness_checks(
            assets=assets, deadline_cron=deadline_cron, timezone="UTC"
        )


def build_freshness_sensor(checks: Sequence[AssetChecksDefinition]) -> SensorDefinition:
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", SupersessionWarning)
        return build_sensor_for_freshness_checks(
            freshness_checks=checks,
            name="daily_tables_freshness",
            default_status=DefaultSensorStatus.RUNNING,
        )
