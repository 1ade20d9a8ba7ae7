"""`analytics-warehouse status`: what the warehouse holds and how fresh it is, on one screen.

The complete days (the contract's completeness, docs/contract.md section 10) on the UTC
calendar and the organisations whose local calendar lags, the latest run of the Dagster
instance and its outcome, each table's last published day and commit, and the days of
the cost tables computed with another price list than the current one (stale since a
price change: a backfill of those days recomputes them). `--json` prints the same for
scripts.
"""

from __future__ import annotations

import datetime as dt
import json
import os
from dataclasses import asdict, dataclass
from typing import Any

from pipelines.configuration import Configuration, environment
from pipelines.dagster_home import dagster_home
from warehouse.storage.reading import published_days
from warehouse.tables import DAILY_METRICS_LOCAL, LAKE_TABLES, ORGANIZATION_TIMEZONES, is_priced
from warehouse.views import connect

# Organisations whose local calendar lags, listed by name on the screen.
LAGGING_SHOWN = 5


@dataclass(frozen=True)
class TableStatus:
    name: str
    last_day: str | None
    published_days: int
    committed_at: str | None


@dataclass(frozen=True)
class Status:
    warehouse: str
    catalog: str
    first_day: str | None
    last_complete_day: str | None
    incomplete_days: list[str]
    lagging_organisations: list[dict[str, str | None]]
    latest_run: dict[str, Any] | None
    prices_file: str
    prices_digest: str
    stale_cost_days: dict[str, list[str]]
    tables: list[TableStatus]
    assets: list[str]


def _completeness(configuration: Configuration) -> tuple[Any, Any, list[str], list[dict[str, Any]]]:
    lakehouse = configuration.lakehouse.open()
    with connect(lakehouse, tables=[DAILY_METRICS_LOCAL, ORGANIZATION_TIMEZONES]) as connection:
        first, last, last_events = connection.execute(
            "select first_day, last_complete_day, last_events_day from completeness_summary"
        ).fetchone()  # type: ignore[misc]
        incomplete = (
            [
                day.isoformat()
                for (day,) in connection.execute(
                    "select date from utc_days_status($first, $last) where not is_complete",
                    {"first": first, "last": last_events},
                ).fetchall()
            ]
            if first is not None
            else []
        )
        zones = (
            connection.execute(
                "select organization_id, timezone, last_complete_local_day(organization_id)"
                " from local_range_organizations($day, $day, null) order by organization_id",
                {"day": last},
            ).fetchall()
            if last is not None
            else []
        )
    lagging = [
        {
            "organization_id": str(organization),
            "timezone": zone,
            "last_complete": day.isoformat() if day else None,
        }
        for organization, zone, day in zones
        if day is None or day < last
    ]
    return first, last, incomplete, lagging


def _latest_run() -> dict[str, Any] | None:
    """The instance's latest run, if DAGSTER_HOME holds one."""
    home = dagster_home(environment())
    if not (home / "dagster.yaml").exists():
        return None
    os.environ["DAGSTER_HOME"] = str(home)
    from dagster import DagsterInstance

    with DagsterInstance.get() as instance:
        runs = instance.get_run_records(limit=1)
        if not runs:
            return None
        record = runs[0]
        run = record.dagster_run
        return {
            "run_id": run.run_id,
            "status": run.status.value,
            "job": run.job_name,
            "started": _moment(record.start_time),
            "ended": _moment(record.end_time),
            "partitions": _range(run.tags),
        }


def _moment(timestamp: float | None) -> str | None:
    if timestamp is None:
        return None
    return dt.datetime.fromtimestamp(timestamp, dt.UTC).strftime("%Y-%m-%d %H:%M:%S UTC")


def _range(tags: dict[str, str]) -> str | None:
    first = tags.get("dagster/asset_partition_range_start") or tags.get("dagster/partition")
    last = tags.get("dagster/asset_partition_range_end") or first
    return None if first is None else f"{first}..{last}"


def collect_status(configuration: Configuration, asset_names: list[str]) -> Status:
    lakehouse = configuration.lakehouse.open()
    first, last, incomplete, lagging = _completeness(configuration)
    digest = configuration.prices.digest
    tables, stale = [], {}
    for spec in LAKE_TABLES:
        records = published_days(lakehouse, spec) if lakehouse.exists(spec) else {}
        snapshot = lakehouse.table(spec).current_snapshot() if lakehouse.exists(spec) else None
        tables.append(
            TableStatus(
                spec.name,
                max(records).isoformat() if records else None,
                len(records),
                _moment(snapshot.timestamp_ms / 1000) if snapshot else None,
            )
        )
        if is_priced(spec):
            days = [
                day.isoformat()
                for day, record in records.items()
                if record.get("prices_digest") not in (None, digest)
            ]
            if days:
                stale[spec.name] = days
    return Status(
        warehouse=lakehouse.location,
        catalog=configuration.lakehouse.catalog,
        first_day=first.isoformat() if first else None,
        last_complete_day=last.isoformat() if last else None,
        incomplete_days=incomplete,
        lagging_organisations=lagging,
        latest_run=_latest_run(),
        prices_file=configuration.prices.path,
        prices_digest=digest,
        stale_cost_days=stale,
        tables=tables,
        assets=asset_names,
    )


def _span(days: list[str]) -> str:
    return days[0] if len(days) == 1 else f"{len(days)} days, {days[0]} to {days[-1]}"


def render_status(status: Status) -> str:
    """The status as the screen shows it."""
    lines = [f"Warehouse    {status.warehouse}", f"Catalog      {status.catalog}"]
    if status.first_day is None:
        lines.append("Days         none published yet")
    else:
        gaps = (
            f"; not complete: {', '.join(status.incomplete_days[:5])}"
            + (" ..." if len(status.incomplete_days) > 5 else "")
            if status.incomplete_days
            else ""
        )
        lines.append(
            f"Days         from {status.first_day}, complete through "
            f"{status.last_complete_day or '(none)'}{gaps}"
        )
    if status.lagging_organisations:
        shown = ", ".join(
            f"{org['organization_id']} ({org['timezone']}: through {org['last_complete']})"
            for org in status.lagging_organisations[:LAGGING_SHOWN]
        )
        more = len(status.lagging_organisations) - LAGGING_SHOWN
        lines.append(
            f"Local days   {len(status.lagging_organisations)} organisation(s) not complete "
            f"through {status.last_complete_day}, waiting for the next UTC day: {shown}"
            + (f" and {more} more" if more > 0 else "")
        )
    run = status.latest_run
    lines.append(
        "Latest run   none recorded in DAGSTER_HOME"
        if run is None
        else f"Latest run   {run['status']} {run['run_id'][:8]} {run['job']}"
        f" {run['partitions'] or ''} started {run['started']}"
    )
    stale = "; ".join(f"{name} {_span(days)}" for name, days in status.stale_cost_days.items())
    lines.append(
        f"Prices       {status.prices_file} ({status.prices_digest}): "
        + (f"stale, computed with another price list: {stale}" if stale else "no day stale")
    )
    lines.append(f"{'Tables':<13}{'table':<26}{'last day':<12}{'days':>6}  last commit")
    for table in status.tables:
        lines.append(
            f"{'':<13}{table.name:<26}{table.last_day or '-':<12}{table.published_days:>6}  "
            f"{table.committed_at or '-'}"
        )
    lines.append(f"Assets       {', '.join(status.assets)}")
    return "\n".join(lines)


def status_json(status: Status) -> str:
    return json.dumps(asdict(status), indent=2)
