"""Organisation time zones (docs/contract.md, section 7): the platform's zones and the local days.

The zones come from a table of the platform (`ANALYTICS_ORG_TIMEZONES_TABLE`), read
through the same read-only UTC session as the events. Each processed UTC day records, in
`organization_timezones`, the zone of every organisation with events that day: the name
the platform gave (NULL when none) and the zone used (`UTC` for a missing or unknown
name). `data_quality` counts the unknown names of the day as `invalid_timezone`.

A local day D of an organisation is [local midnight, next local midnight) of its zone:
with offsets between -12 and +14 hours it lies within the UTC days D-1, D and D+1, so one
DuckDB pass over those three days of `events` computes it. Each organisation's zone for
local day D is the one recorded on the latest of those three UTC days (so one zone per
local day even if the platform changed it meanwhile). The local tables run the SQL of
their UTC twins over a view of `events` whose `event_date` is the local day, so both
share every definition by construction.
"""

from __future__ import annotations

import datetime as dt
import functools
import zoneinfo
from collections.abc import Collection, Sequence

import duckdb
import psycopg
import pyarrow as pa

from warehouse.daily_tables import compute_over_day
from warehouse.settings import parse_qualified_table
from warehouse.source import SourceError, column_mismatches, first_line, read_only_conninfo
from warehouse.sql_files import load_sql
from warehouse.tables import LOCAL_TWINS, TableSpec

UTC = "UTC"
_ONE_DAY = dt.timedelta(days=1)
TIMEZONES_VARIABLE = "ANALYTICS_ORG_TIMEZONES_TABLE"
# The contract's columns of the platform's table, as PostgreSQL's type names.
TIMEZONE_TABLE_TYPES = {"organization_id": ("uuid",), "timezone": ("text", "varchar")}


@functools.cache
def known_timezones() -> frozenset[str]:
    """IANA names Python's zoneinfo lists and DuckDB's ICU can compute with.

    Python also lists `localtime` (a file of the system's tzdata, not a zone), which
    ICU does not know: such a name is unknown here.
    """
    with duckdb.connect() as connection:
        names = connection.sql("select name from pg_timezone_names()").fetchall()
    icu = {name for (name,) in names}
    return frozenset(zoneinfo.available_timezones() & icu)


def resolved_timezone(name: str | None) -> str:
    """The zone an organisation's days are computed in: its name if known, else UTC."""
    return name if name is not None and name in known_timezones() else UTC


def read_org_timezones(dsn: str, qualified_table: str | None) -> dict[str, str | None]:
    """Each organisation's configured zone name (text of the uuid -> name), read-only.

    None for `qualified_table` (the variable unset) is an empty map: everyone in UTC. A
    missing table or one without the contract's columns fails with one sentence. Should
    the platform list an organisation twice, the alphabetically first name wins.
    """
    if qualified_table is None:
        return {}
    schema, table = parse_qualified_table(qualified_table)
    try:
        with psycopg.connect(read_only_conninfo(dsn), connect_timeout=10) as connection:
            found = dict(
                connection.execute(
                    "select column_name, udt_name from information_schema.columns"
                    " where table_schema = %s and table_name = %s",
                    (schema, table),
                ).fetchall()
            )
            _check_columns(qualified_table, found)
            rows = connection.execute(
                f"select distinct on (organization_id) organization_id::text, timezone"
                f' from "{schema}"."{table}" where organization_id is not null'
                " order by organization_id, timezone"
            ).fetchall()
    except psycopg.OperationalError as error:
        reason = first_line(error).removeprefix("connection failed: ")
        raise SourceError(f"Cannot connect to the source database: {reason}") from None
    return dict(rows)


def _check_columns(qualified_table: str, found: dict[str, str]) -> None:
    if not found:
        raise SourceError(
            f"Time zone table {qualified_table} does not exist (set {TIMEZONES_VARIABLE})."
        )
    wrong = [
        f"{mismatch.column} missing"
        if mismatch.found is None
        else f"{mismatch.column} {mismatch.found} (expected {' or '.join(mismatch.expected)})"
        for mismatch in column_mismatches(found, TIMEZONE_TABLE_TYPES)
    ]
    if wrong:
        raise SourceError(
            f"Time zone table {qualified_table} needs columns organization_id uuid and "
            f"timezone text: {', '.join(wrong)}."
        )


def configured_zones(configured: dict[str, str | None]) -> pa.Table:
    """The platform's map as Arrow: organisation, the configured name, the zone used."""
    return pa.table(
        {
            "organization_id": pa.array(list(configured), pa.string()),
            "configured_timezone": pa.array(list(configured.values()), pa.string()),
            "timezone": pa.array([resolved_timezone(name) for name in configured.values()]),
        }
    )


def compute_organization_timezones(connection: duckdb.DuckDBPyConnection, day: dt.date) -> pa.Table:
    """The zone of every organisation with events on UTC day `day` (any event of it), from
    the connection's `events` and `configured_zones` (`configured_zones`' rows)."""
    return connection.sql(
        load_sql("timezones/organization_timezones"), params={"day": day}
    ).to_arrow_table()


def held_utc_days(day: dt.date, extracted: Collection[dt.date]) -> list[dt.date]:
    """The UTC days of day-1 .. day+1 a local day may be computed from: those the lake holds
    (`extracted`), and those before the warehouse's first day (outside it: complete and
    empty)."""
    first_day = min(extracted, default=None)
    return [
        utc_day
        for utc_day in (day - _ONE_DAY, day, day + _ONE_DAY)
        if utc_day in extracted or (first_day is not None and utc_day < first_day)
    ]


def compute_local_tables(
    connection: duckdb.DuckDBPyConnection,
    specs: Sequence[TableSpec],
    day: dt.date,
    held: Sequence[dt.date],
) -> dict[TableSpec, pa.Table]:
    """Local day `day` of each local table, from one read of the connection's `events` of
    the UTC days day-1 .. day+1, its `organization_timezones` and `model_prices` (an
    `analytics_connection`, for its calendar macros).

    Only the organisations whose local day lies within the `held` UTC days get rows (an
    organisation west of UTC has none until the next UTC day is in): a partition never
    publishes a partial local day, and records `held` so that the completeness macros tell
    a waiting organisation from one without events.
    """
    connection.execute("alter view events rename to utc_events")
    connection.execute(load_sql("timezones/local_events"))
    connection.execute(load_sql("timezones/set_local_day"), {"day": day})
    statements = {spec: _local_statement(spec) for spec in specs}
    return compute_over_day(connection, statements, day, {"held": list(held)})


def _local_statement(spec: TableSpec) -> str:
    """The UTC twin's SQL over the local day, with each organisation's zone."""
    twin = LOCAL_TWINS[spec]
    columns = ", ".join(f"twin.{name}" for name in spec.column_names if name != "timezone")
    order = ", ".join(f"twin.{name}" for name in spec.key)
    return (
        f"select {columns}, coalesce(zones.timezone, '{UTC}') as timezone"
        f" from ({load_sql(f'daily/{twin.name}')}) as twin"
        " left join local_zones($day) as zones on zones.organization_id = twin.organization_id"
        " where list_has_all("
        f"$held::date[], local_day_utc_days(coalesce(zones.timezone, '{UTC}'), $day))"
        f" order by {order}"
    )
