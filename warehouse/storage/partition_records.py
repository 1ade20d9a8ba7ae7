"""What the lakehouse records of each published partition, in the table's own metadata.

Every commit of a day sets the table property `analytics.partition.<YYYY-MM-DD>` to the
settings that shaped the day's rows (a JSON object of strings: the zone table, the price
file's digest, the UTC days a local day was computed from), in the same transaction as
the day's files, so a day is published with its record or not at all. A day with no rows
has no file but still its record: that is how the warehouse tells a published empty day
from a day never materialised (completeness, docs/contract.md section 10).
One key per day, so parallel runs committing other days never overwrite each other's
records; the record outlives the snapshots that expire, unlike the snapshot summary,
which carries the same settings plus the run and the code version for the history.
"""

from __future__ import annotations

import datetime as dt
import json
from collections.abc import Mapping

from pyiceberg.table import Table

PROPERTY_PREFIX = "analytics.partition."

PartitionRecord = dict[str, str]


def record_property(day: dt.date) -> str:
    return f"{PROPERTY_PREFIX}{day.isoformat()}"


def encode_record(record: Mapping[str, str]) -> str:
    return json.dumps(dict(sorted(record.items())), separators=(",", ":"))


def partition_records(table: Table) -> dict[dt.date, PartitionRecord]:
    """Every published day of the table and its record, oldest first."""
    records = {
        dt.date.fromisoformat(key.removeprefix(PROPERTY_PREFIX)): json.loads(value)
        for key, value in table.properties.items()
        if key.startswith(PROPERTY_PREFIX)
    }
    return dict(sorted(records.items()))
