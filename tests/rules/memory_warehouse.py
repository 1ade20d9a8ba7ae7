"""The warehouse without its storage: the functional core run over Arrow tables in memory.

Every table is computed by the same functions the assets call (`warehouse/daily_tables.py`,
`warehouse/timezones.py`, `warehouse/insights.py`, `warehouse/monitors.py`,
`warehouse/reports.py`), over relations of the same names, in the order of the asset graph
(each step over every day of the run before the next step, as a single-run range does).
What is left out is what only the end-to-end layer can show: PostgreSQL's types and COPY,
Iceberg's commits, Dagster's runs. Each table is a dict of day -> Arrow table, and each
published day keeps its record, as the lakehouse's partition records do.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import functools
import json
import uuid
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

import duckdb
import pyarrow as pa

from warehouse.completeness import incomplete_utc_days
from warehouse.costs import load_prices
from warehouse.daily_tables import compute_daily_tables
from warehouse.engine import compute_connection
from warehouse.insights import INSIGHTS, compute_insight
from warehouse.monitors import score_day
from warehouse.provenance import Provenance
from warehouse.report_html import Report
from warehouse.reports import load_reports
from warehouse.settings import PROJECT_ROOT
from warehouse.sql_files import load_sql
from warehouse.storage.partition_records import PartitionRecord, encode_record
from warehouse.tables import (
    DAILY_METRICS,
    DAILY_TABLES,
    EVENTS,
    LAKE_TABLES,
    LOCAL_TABLES,
    METRIC_ANOMALIES,
    MODEL_PRICES,
    ORGANIZATION_TIMEZONES,
    TableSpec,
)
from warehouse.timezones import (
    compute_local_tables,
    compute_organization_timezones,
    configured_zones,
    held_utc_days,
)
from warehouse.views import (
    PARTITIONS_SCHEMA,
    PARTITIONS_TABLE,
    analytics_connection,
    refresh_completeness,
)

ONE_DAY = dt.timedelta(days=1)
# The steps of a run, in the order of the asset graph.
STEPS = ("events", "organization_timezones", "daily_tables", "local_tables", "insights", "monitors")
DEFAULT_PRICES = PROJECT_ROOT / "deploy" / "model_prices.csv"
# The source's columns as the extraction hands them to the typing SQL.
RAW_SCHEMA = pa.schema(
    [
        ("id", pa.string()),
        ("organization_id", pa.string()),
        ("event_type", pa.string()),
        ("resource_type", pa.string()),
        ("resource_id", pa.string()),
        ("properties", pa.string()),
        ("user_id", pa.string()),
        ("created_at", pa.timestamp("us")),
    ]
)


def days_between(first: dt.date, last: dt.date) -> list[dt.date]:
    return [first + dt.timedelta(days=offset) for offset in range((last - first).days + 1)]


def _text(value: object) -> str | None:
    return None if value is None else str(value)


def _timestamp(value: str | dt.datetime) -> dt.datetime:
    return value if isinstance(value, dt.datetime) else dt.datetime.fromisoformat(value)


@dataclass
class Source:
    """The platform's events and its organisation time zones, as hand-written rows."""

    events: list[dict[str, Any]] = field(default_factory=list)
    # the platform's zone table: organisation -> IANA name; None: the variable is unset
    timezones: dict[uuid.UUID, str] | None = None

    def insert(self, *events: dict[str, Any]) -> None:
        """Adds events: `properties` a dict or JSON text, `created_at` UTC text."""
        self.events.extend(events)

    def raw_events(self, day: dt.date) -> pa.Table:
        """The day's events as the extraction reads them (UTC, half-open)."""
        rows = [
            {
                "id": str(event.get("id") or uuid.uuid4()),
                "organization_id": _text(event.get("organization_id")),
                "event_type": event.get("event_type"),
                "resource_type": event.get("resource_type"),
                "resource_id": _text(event.get("resource_id")),
                "properties": _json_text(event.get("properties")),
                "user_id": _text(event.get("user_id")),
                "created_at": _timestamp(event["created_at"]),
            }
            for event in self.events
            if _timestamp(event["created_at"]).date() == day
        ]
        return pa.Table.from_pylist(rows, schema=RAW_SCHEMA)


# Each table's rows of a day without events, computed once per process (`_empty`).
_EMPTY_RESULTS: dict[str, pa.Table] = {}


@functools.cache
def _typed_nulls(spec: TableSpec) -> pa.Table:
    """An empty Arrow table of the spec's columns, typed as the lake stores them."""
    with compute_connection() as connection:
        columns = ", ".join(
            f"null::{'VARCHAR' if c.duckdb_type == 'JSON' else c.duckdb_type} as {c.name}"
            for c in spec.columns
        )
        return connection.sql(f"select {columns} where false").to_arrow_table()


def _json_text(properties: object) -> str | None:
    if properties is None or isinstance(properties, str):
        return properties
    return json.dumps(properties)


@dataclass
class MemoryWarehouse:
    """Tables computed by the functional core from a `Source`, kept in memory."""

    source: Source
    prices: pa.Table = field(default_factory=lambda: load_prices(DEFAULT_PRICES))
    anomaly_threshold: float = 4.0
    prices_digest: str = "test-prices"
    tables: dict[str, dict[dt.date, pa.Table]] = field(default_factory=dict)
    records: dict[str, dict[dt.date, PartitionRecord]] = field(default_factory=dict)
    _concatenated: dict[str, pa.Table] = field(default_factory=dict, repr=False)
    _partitions: pa.Table | None = field(default=None, repr=False)

    @property
    def provenance(self) -> Provenance:
        timezones_table = "platform.organization_timezones" if self.source.timezones else None
        return Provenance(timezones_table=timezones_table, prices_digest=self.prices_digest)

    def materialize(
        self,
        first: str | dt.date,
        last: str | dt.date | None = None,
        steps: Iterable[str] = STEPS,
    ) -> None:
        """Every table over [first, last] (one day without `last`), step after step, or the
        tables of the `steps` named (of STEPS) only.

        A day without events has no row in any daily or local table and nothing to score
        (tested as such on the real pipeline): the memory warehouse publishes such days
        empty without running their SQL, which keeps a test of sixty days quick.
        """
        first = dt.date.fromisoformat(str(first))
        last = first if last is None else dt.date.fromisoformat(str(last))
        days = days_between(first, last)
        steps = set(steps)
        self.tables[MODEL_PRICES.name] = {dt.date.min: self.prices}
        self._concatenated.pop(MODEL_PRICES.name, None)
        for step in STEPS:
            if step in steps:
                getattr(self, f"_{step}")(days)

    def _events(self, days: list[dt.date]) -> None:
        for day in days:
            self._publish(EVENTS, day, self._typed_events(day))

    def _organization_timezones(self, days: list[dt.date]) -> None:
        zones = configured_zones(
            {str(org): name for org, name in (self.source.timezones or {}).items()}
        )
        for day in days:
            if self._has_events(day, day):
                with self.reading([EVENTS], day, day) as connection:
                    connection.register("configured_zones", zones)
                    rows = compute_organization_timezones(connection, day)
            else:
                rows = _typed_nulls(ORGANIZATION_TIMEZONES)
            self._publish(ORGANIZATION_TIMEZONES, day, rows)

    def _daily_tables(self, days: list[dt.date]) -> None:
        for day in days:
            if self._has_events(day, day):
                with self.reading(
                    [EVENTS, ORGANIZATION_TIMEZONES, MODEL_PRICES], day, day
                ) as connection:
                    computed = compute_daily_tables(connection, DAILY_TABLES, day)
            else:
                computed = {spec: self._empty(spec) for spec in DAILY_TABLES}
            for spec, rows in computed.items():
                self._publish(spec, day, rows)

    def _local_tables(self, days: list[dt.date]) -> None:
        for day in days:
            held = held_utc_days(day, set(self.tables[EVENTS.name]))
            if self._has_events(day - ONE_DAY, day + ONE_DAY):
                with self.reading(
                    [EVENTS, ORGANIZATION_TIMEZONES, MODEL_PRICES],
                    day - ONE_DAY,
                    day + ONE_DAY,
                    analytics=True,
                ) as connection:
                    computed = compute_local_tables(connection, LOCAL_TABLES, day, held)
            else:
                computed = {spec: self._empty(spec) for spec in LOCAL_TABLES}
            for spec, rows in computed.items():
                self._publish(spec, day, rows, held)

    def _insights(self, days: list[dt.date]) -> None:
        first, last = days[0], days[-1]
        for insight in INSIGHTS:
            # one query for the whole range: the assets' week at a time bounds their memory
            # and gives the same rows (tests/e2e show it)
            with self.connect() as connection:
                computed = compute_insight(connection, insight, first, last)
            for as_of_date, rows in computed.items():
                self._publish(insight.spec, as_of_date, rows)

    def _monitors(self, days: list[dt.date]) -> None:
        first, last = days[0], days[-1]
        scored: dict[dt.date, pa.Table] = {}
        with self.connect() as connection:
            incomplete = incomplete_utc_days(connection, first, last)
            for day in days:
                if self.tables[DAILY_METRICS.name][day].num_rows:
                    rows = score_day(connection, day, self.anomaly_threshold)
                    if rows is not None:
                        scored[day] = rows
                elif day not in incomplete:
                    scored[day] = self._empty(METRIC_ANOMALIES)  # nothing to score
        for day, rows in scored.items():
            self._publish(METRIC_ANOMALIES, day, rows)

    def _has_events(self, first: dt.date, last: dt.date) -> bool:
        events = self.tables[EVENTS.name]
        return any(events[day].num_rows for day in days_between(first, last) if day in events)

    def _empty(self, spec: TableSpec) -> pa.Table:
        """The table's rows of a day without events: none, in the columns its SQL gives."""
        empty = _EMPTY_RESULTS.get(spec.name)
        if empty is None:
            reference = MemoryWarehouse(Source(), prices=self.prices)
            with reference.reading([], analytics=True) as connection:
                for table in (EVENTS, ORGANIZATION_TIMEZONES, DAILY_METRICS):
                    connection.register(f"_{table.name}", _typed_nulls(table))
                    connection.execute(
                        f"create or replace temp view {table.name} as select * from _{table.name}"
                    )
                connection.register("_model_prices", self.prices)
                connection.execute(
                    "create or replace temp view model_prices as select * from _model_prices"
                )
                day = dt.date(2000, 1, 1)
                if spec in DAILY_TABLES:
                    empty = compute_daily_tables(connection, [spec], day)[spec]
                elif spec in LOCAL_TABLES:
                    empty = compute_local_tables(connection, [spec], day, [day])[spec]
                else:
                    empty = connection.sql(
                        load_sql("monitors/metric_anomalies"), params={"day": day, "threshold": 1.0}
                    ).to_arrow_table()
            _EMPTY_RESULTS[spec.name] = empty
        return empty

    def _typed_events(self, day: dt.date) -> pa.Table:
        raw = self.source.raw_events(day)
        if not raw.num_rows:
            return _typed_nulls(EVENTS)
        with compute_connection() as connection:
            connection.register("raw_events", self.source.raw_events(day))
            return connection.sql(load_sql("lake/type_events")).to_arrow_table()

    def _publish(
        self, spec: TableSpec, day: dt.date, rows: pa.Table, utc_days: Sequence[dt.date] = ()
    ) -> None:
        self.tables.setdefault(spec.name, {})[day] = rows
        self._concatenated.pop(spec.name, None)
        self.records.setdefault(spec.name, {})[day] = self.provenance.record(spec, utc_days)
        self._partitions = None

    def copy(self) -> MemoryWarehouse:
        """An independent warehouse of the same source, settings and tables (the Arrow
        tables are shared: they never change), so that a module materialises once and
        each test changes its own copy."""
        timezones = self.source.timezones
        return dataclasses.replace(
            self,
            source=Source(list(self.source.events), None if timezones is None else dict(timezones)),
            tables={name: dict(days) for name, days in self.tables.items()},
            records={
                name: {day: dict(record) for day, record in days.items()}
                for name, days in self.records.items()
            },
            _concatenated=dict(self._concatenated),
        )

    def replace_partition(
        self, spec: TableSpec, day: dt.date, rows: pa.Table | Iterable[Mapping[str, Any]]
    ) -> None:
        """Publishes `rows` as the table's partition `day`, with the record of the current
        settings, as a test sets a table up by hand (the end-to-end layer's
        `replace_partition`); dicts are typed as the lake stores the table."""
        if not isinstance(rows, pa.Table):
            rows = pa.Table.from_pylist(list(rows), schema=_typed_nulls(spec).schema)
        self._publish(spec, day, rows)

    def _rows(
        self, spec: TableSpec, first: dt.date | None, last: dt.date | None
    ) -> pa.Table | None:
        days = self.tables.get(spec.name, {})
        if not days:
            return None
        if spec is MODEL_PRICES or first is None or last is None:
            whole = self._concatenated.get(spec.name)
            if whole is None:
                whole = self._concatenated[spec.name] = pa.concat_tables(
                    list(days.values()), promote_options="default"
                )
            return whole
        parts = [rows for day, rows in days.items() if first <= day <= last]
        return pa.concat_tables(parts, promote_options="default") if parts else None

    def reading(
        self,
        tables: Iterable[TableSpec],
        first: dt.date | None = None,
        last: dt.date | None = None,
        analytics: bool = False,
    ) -> duckdb.DuckDBPyConnection:
        """A compute connection (an analytics one, with the macros) with `tables` (their
        days within [first, last]) as views."""
        connection = analytics_connection() if analytics else compute_connection()
        self._register(connection, tables, first, last)
        return connection

    def connect(self) -> duckdb.DuckDBPyConnection:
        """An analytics connection (the macros) over every table and its published days."""
        connection = analytics_connection()
        self._register(connection, LAKE_TABLES, None, None)
        connection.register(PARTITIONS_TABLE, self.partition_rows())
        refresh_completeness(connection)
        return connection

    def _register(
        self,
        connection: duckdb.DuckDBPyConnection,
        tables: Iterable[TableSpec],
        first: dt.date | None,
        last: dt.date | None,
    ) -> None:
        for spec in tables:
            rows = self._rows(spec, first, last)
            if rows is None:
                continue
            connection.register(f"_{spec.name}_rows", rows)
            # typed as the lakehouse's views read them (ids are stored as text)
            columns = ", ".join(
                f"{column.name}::{column.duckdb_type} as {column.name}" for column in spec.columns
            )
            connection.execute(
                f"create or replace temp view {spec.name} as"
                f" select {columns} from _{spec.name}_rows"
            )

    def partition_rows(self) -> pa.Table:
        """Every published day of every table with its record, as `published_partitions`."""
        if self._partitions is None:
            rows = [
                {"table_name": name, "date": day, "record": encode_record(record)}
                for name, days in self.records.items()
                if name != MODEL_PRICES.name
                for day, record in days.items()
            ]
            self._partitions = pa.Table.from_pylist(rows, schema=PARTITIONS_SCHEMA)
        return self._partitions

    def query(
        self, statement: str, parameters: Sequence[Any] | Mapping[str, Any] | None = None
    ) -> list[tuple[Any, ...]]:
        """Runs SQL over the tables and macros, as an analyst runs it on analytics.duckdb."""
        with self.connect() as connection:
            return connection.execute(statement, parameters).fetchall()

    def reports(self, as_of_dates: list[dt.date]) -> dict[dt.date, list[Report]]:
        """The reports of the as-of dates, as the `reports` asset loads them."""
        with self.connect() as connection:
            return load_reports(connection, as_of_dates)
