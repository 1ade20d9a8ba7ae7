"""Provenance: the settings that shaped each published partition, and the zone guard.

Each table records with every day it publishes the settings its values depend on
(`warehouse/storage/partition_records.py`): the zone table for `organization_timezones`
and the local tables, the price file's digest for the tables with costs, and for a local
day the UTC days it was computed from (its completeness, docs/contract.md section 10).
The snapshot that publishes them carries the same settings, the code version and the run.

A run that would replace a day published with one zone setting by one computed with
another (set and unset included) is refused by the blocking check `zone_setting_unchanged`
unless told the change is wanted: the zone decides which local day an event belongs to,
so a setting left out of one command would silently move every organisation to UTC. A
new price list is a deliberate recomputation: allowed, and recorded.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import importlib.metadata
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from functools import cache

from warehouse.audits import Audit
from warehouse.settings import PROJECT_ROOT
from warehouse.storage.partition_records import PartitionRecord
from warehouse.tables import LOCAL_TABLES, ORGANIZATION_TIMEZONES, TableSpec, is_priced

ZONE_CHECK = "zone_setting_unchanged"
ZONE_VARIABLE = "ANALYTICS_ORG_TIMEZONES_TABLE"
# The tables whose rows depend on the organisations' zones.
ZONE_TABLES = (ORGANIZATION_TIMEZONES, *LOCAL_TABLES)
UNSET = "none"


@cache
def code_version() -> str:
    """The package's version and a digest of its SQL, which defines every value."""
    digest = hashlib.sha256()
    for path in sorted((PROJECT_ROOT / "sql").rglob("*.sql")):
        digest.update(path.read_bytes())
    return (
        f"{importlib.metadata.version('agent-analytics-warehouse')}+sql.{digest.hexdigest()[:12]}"
    )


@dataclass(frozen=True)
class Provenance:
    """The settings a run computes with."""

    timezones_table: str | None = None
    prices_digest: str | None = None

    def record(self, spec: TableSpec, utc_days: Sequence[dt.date] = ()) -> PartitionRecord:
        """What a partition of `spec` records of these settings (`utc_days`: the UTC days a
        local day was computed from)."""
        record: PartitionRecord = {}
        if spec in ZONE_TABLES:
            record["timezones_table"] = self.timezones_table or UNSET
        if is_priced(spec) and self.prices_digest:
            record["prices_digest"] = self.prices_digest
        if spec in LOCAL_TABLES:
            record["utc_days"] = ",".join(day.isoformat() for day in sorted(utc_days))
        return record


def audit_zone_setting(
    spec: TableSpec,
    day: dt.date,
    published: PartitionRecord | None,
    computed: PartitionRecord,
    allow_change: bool,
) -> Audit:
    """Whether replacing the published day keeps its zone setting (or the change is wanted).

    A day published before provenance was recorded has no setting to keep.
    """
    before = (published or {}).get("timezones_table")
    after = computed.get("timezones_table")
    passed = before is None or before == after or allow_change
    sentence = (
        f"{spec.name} for {day} was published with {ZONE_VARIABLE}={before} and this run "
        f"computes it with {ZONE_VARIABLE}={after}: refused, so that organisations' zones do "
        "not change silently; set the variable back to what it was, or re-run with "
        "allow_timezone_change (analytics-warehouse materialize --allow-timezone-change) if "
        "the change is wanted"
    )
    return Audit(
        ZONE_CHECK,
        day,
        passed=passed,
        details={
            "setting": ZONE_VARIABLE,
            "published": before,
            "computed": after,
            "allow_timezone_change": allow_change,
        },
        failure=None if passed else sentence,
    )


def first_zone_change(
    published: Mapping[TableSpec, Mapping[dt.date, PartitionRecord]],
    first: dt.date,
    last: dt.date,
    timezones_table: str | None,
) -> Audit | None:
    """The first day of [first, last] whose published zone setting differs from
    `timezones_table`, as the failed `zone_setting_unchanged` check a run would stop at:
    a command checks it before it runs anything. `published`: each zone table's records."""
    computed = Provenance(timezones_table=timezones_table)
    for spec, records in published.items():
        for day, record in sorted(records.items()):
            if first <= day <= last:
                audit = audit_zone_setting(spec, day, record, computed.record(spec), False)
                if not audit.passed:
                    return audit
    return None
