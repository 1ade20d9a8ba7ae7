"""The platform's PostgreSQL: read-only connections and one UTC day's extraction into the lake.

The extraction streams the day through ADBC's PostgreSQL driver, which runs the query as
`COPY ... TO STDOUT (FORMAT binary)` and decodes it straight into Arrow record batches;
DuckDB types the batches by the contract's validity rules, and they stream into the day's
new data file while COPY is still sending (memory: a batch, not the day); the file is
audited, then committed to the lakehouse. The source's row count for the same window is
read in the same repeatable-read snapshot, so the two counts are comparable even while
the platform keeps writing.

Connections are opened with `default_transaction_read_only=on` and `TimeZone=UTC`: the
extraction cannot write to the source, and `timestamptz` columns are cut at UTC midnight.

A transient failure (the connection lost, the server restarting or shutting down, a
serialization failure) re-reads the whole day in a new connection, with exponential
backoff, a bounded number of times: nothing is appended, so the day still ends with
exactly the source's rows. Any other error fails at once with one sentence.
"""

from __future__ import annotations

import datetime as dt
import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Generic, TypeVar

import adbc_driver_manager
import adbc_driver_postgresql.dbapi as adbc
import duckdb
import psycopg
import pyarrow as pa
from psycopg.conninfo import conninfo_to_dict, make_conninfo
from tenacity import (
    RetryCallState,
    Retrying,
    retry_if_exception,
    stop_after_attempt,
    wait_exponential,
)

from warehouse.engine import compute_connection
from warehouse.settings import parse_qualified_table
from warehouse.sql_files import load_sql

# The contract's type of each column (docs/contract.md, section 1), as PostgreSQL's type names
# (information_schema.columns.udt_name, which names a domain's base type).
EXPECTED_TYPES = {
    "id": ("uuid",),
    "organization_id": ("uuid",),
    "event_type": ("varchar", "text"),
    "resource_type": ("varchar", "text"),
    "resource_id": ("uuid",),
    "properties": ("jsonb", "json"),
    "user_id": ("uuid",),
    "created_at": ("timestamp", "timestamptz"),
}
_SESSION_OPTIONS = "-c default_transaction_read_only=on -c TimeZone=UTC"
# Backoff between attempts of a day: 1 s, 2 s, 4 s, ... at most 30 s.
_FIRST_BACKOFF_SECONDS = 1.0
_MAX_BACKOFF_SECONDS = 30.0
# SQLSTATEs worth another attempt: connection exceptions (class 08), admin shutdown,
# crash shutdown, cannot connect now (57P01-57P03), serialization failure and deadlock.
_TRANSIENT_SQLSTATES = frozenset({"57P01", "57P02", "57P03", "40001", "40P01"})
# libpq reports a lost connection, and ADBC a server's FATAL, without a SQLSTATE: these
# are libpq's and the server's own words for the same transient causes.
_TRANSIENT_MESSAGES = (
    "server closed the connection unexpectedly",
    "could not receive data from server",
    "could not send data to server",
    "no connection to the server",
    "connection has been closed unexpectedly",
    "Connection refused",
    "Connection reset by peer",
    "timeout expired",
    "terminating connection due to administrator command",
    "terminating connection due to crash of another server process",
    "terminating connection due to conflict with recovery",
    "the database system is shutting down",
    "the database system is starting up",
    "the database system is in recovery mode",
    "the database system is not yet accepting connections",
    "could not serialize access",
    "deadlock detected",
)
# What ADBC and DuckDB put before the server's own sentence.
_CAUSE = re.compile(r"(?:ERROR|FATAL):\s+(.*)$")
# Strings leave DuckDB as Arrow's large_string, the Iceberg tables' type: the day is cast
# without a copy of its text columns.
_TYPING_CONFIG = {"preserve_insertion_order": False, "arrow_large_buffer_size": True}


# Typed rows handed to the writer at a time: ~40 MiB of Arrow, one Parquet row group.
_ROWS_PER_BATCH = 262_144


class SourceError(RuntimeError):
    """The source cannot be read; the message says why in one sentence."""


RetryCallback = Callable[[dt.date, int, str], None]
"""Told of each retry: the day, the attempt that failed (1 for the first) and its cause."""


# What the extraction hands the day's typed batches to (the lakehouse's writer), and what
# it keeps of them; by default the day read into one Arrow table.
Rows = TypeVar("Rows")
RowsWriter = Callable[[pa.RecordBatchReader], Rows]


def read_all(batches: pa.RecordBatchReader) -> pa.Table:
    return batches.read_all()


@dataclass(frozen=True)
class ExtractedDay(Generic[Rows]):
    day: dt.date
    source_rows: int
    rows: Rows


def utc_day_window(day: dt.date) -> tuple[dt.datetime, dt.datetime]:
    """The half-open window [day 00:00 UTC, next day 00:00 UTC) of a partition."""
    start = dt.datetime.combine(day, dt.time(), tzinfo=dt.UTC)
    return start, start + dt.timedelta(days=1)


def read_only_conninfo(dsn: str) -> str:
    """The DSN with the session forced read-only and to UTC, keeping any options it had."""
    try:
        params = conninfo_to_dict(dsn)
    except psycopg.ProgrammingError as error:
        reason = first_line(error)
        raise SourceError(f"ANALYTICS_SOURCE_DSN is not a connection string: {reason}") from None
    options = " ".join(filter(None, [params.get("options"), _SESSION_OPTIONS]))
    return make_conninfo(dsn, options=options, application_name="analytics-warehouse")


def quoted_table(qualified_table: str) -> str:
    schema, table = parse_qualified_table(qualified_table)
    return f'"{schema}"."{table}"'


def check_source_table(dsn: str, qualified_table: str) -> None:
    """Fails with one clear sentence when the events table is not there or not of the contract.

    Missing columns and columns of a type the contract does not allow are named before
    any day is read, never a cast error from deep inside the extraction.
    """
    if not dsn:
        raise SourceError(
            "ANALYTICS_SOURCE_DSN is not set: give the libpq conninfo or URI of the "
            "platform's database"
        )
    schema, table = parse_qualified_table(qualified_table)
    try:
        with psycopg.connect(read_only_conninfo(dsn), connect_timeout=10) as connection:
            found = connection.execute(
                "select column_name, udt_name from information_schema.columns"
                " where table_schema = %s and table_name = %s",
                (schema, table),
            ).fetchall()
    except psycopg.OperationalError as error:
        # libpq's first line names the server and the cause ("Connection refused",
        # "database ... does not exist"); the lines after it are generic hints.
        reason = first_line(error).removeprefix("connection failed: ")
        raise SourceError(f"Cannot connect to the source database: {reason}") from None
    if not found:
        raise SourceError(
            f"Source table {qualified_table} does not exist (set ANALYTICS_SOURCE_TABLE)."
        )
    mismatches = column_mismatches(dict(found), EXPECTED_TYPES)
    missing = sorted(mismatch.column for mismatch in mismatches if mismatch.found is None)
    if missing:
        raise SourceError(f"Source table {qualified_table} lacks columns: {', '.join(missing)}.")
    wrong = [
        f"{mismatch.column} is {mismatch.found}, expected {' or '.join(mismatch.expected)}"
        for mismatch in mismatches
    ]
    if len(wrong) == 1:
        raise SourceError(f"Source table {qualified_table} column {wrong[0]}.")
    if wrong:
        raise SourceError(
            f"Source table {qualified_table} columns have unexpected types: {'; '.join(wrong)}."
        )


@dataclass(frozen=True)
class ColumnMismatch:
    """A column of the contract that a platform's table lacks or has of another type."""

    column: str
    found: str | None  # the table's type name, None when the table lacks the column
    expected: tuple[str, ...]


def column_mismatches(
    found: Mapping[str, str], expected: Mapping[str, tuple[str, ...]]
) -> list[ColumnMismatch]:
    """The columns of `expected` (name -> the type names allowed) that `found`, a table's
    columns and types (information_schema.columns: column_name -> udt_name), lacks or has
    of another type, in `expected`'s order. The events table and the time zone table
    (`warehouse/timezones.py`) are both checked so, each naming what is wrong its way."""
    return [
        ColumnMismatch(column, found.get(column), types)
        for column, types in expected.items()
        if found.get(column) not in types
    ]


def is_transient(error: BaseException) -> bool:
    """Whether another attempt may succeed: the connection or the server, not the request."""
    sqlstate = getattr(error, "sqlstate", None)
    if sqlstate:
        return sqlstate.startswith("08") or sqlstate in _TRANSIENT_SQLSTATES
    text = str(error)
    return any(marker in text for marker in _TRANSIENT_MESSAGES)


def extract_events_for_day(
    dsn: str,
    qualified_table: str,
    day: dt.date,
    *,
    write: RowsWriter[Rows] = read_all,  # type: ignore[assignment]
    retries: int = 3,
    on_retry: RetryCallback | None = None,
) -> ExtractedDay[Rows]:
    """The source's events of `day` (UTC, half-open), typed, and the source's count of them.

    The typed rows stream into `write` while COPY is still sending (`Lakehouse.
    stage_partition` writes them to the day's file: memory holds a batch, not the day).
    A transient failure re-reads the whole day, at most `retries` more times, calling
    `on_retry` before each wait; then, or on any other error, raises a SourceError.
    """

    def before_sleep(state: RetryCallState) -> None:
        if on_retry is not None and state.outcome is not None:
            on_retry(day, state.attempt_number, cause(state.outcome.exception()))

    retrying = Retrying(
        retry=retry_if_exception(is_transient),
        stop=stop_after_attempt(retries + 1),
        wait=wait_exponential(multiplier=_FIRST_BACKOFF_SECONDS, max=_MAX_BACKOFF_SECONDS),
        before_sleep=before_sleep,
        reraise=True,
    )
    try:
        return retrying(_extract_day, dsn, qualified_table, day, write)
    except (adbc_driver_manager.Error, duckdb.Error) as error:
        attempts = retrying.statistics.get("attempt_number", 1)
        after = f" after {attempts} attempts" if attempts > 1 else ""
        raise SourceError(
            f"Reading {qualified_table} for {day} failed{after}: {cause(error)}"
        ) from None


def _extract_day(
    dsn: str, qualified_table: str, day: dt.date, write: RowsWriter[Rows]
) -> ExtractedDay[Rows]:
    """One attempt: a new connection and snapshot, the whole day read from the start."""
    window = tuple(bound.isoformat() for bound in utc_day_window(day))
    table = quoted_table(qualified_table)
    with adbc.connect(read_only_conninfo(dsn)) as connection, connection.cursor() as cursor:
        cursor.execute("set transaction isolation level repeatable read")
        cursor.execute(load_sql("extract/set_extraction_window"), window)
        cursor.fetchall()
        # counted first, in the same snapshot: once the rows are written, nothing is left
        # that could fail and leave their file behind
        cursor.execute(load_sql("extract/count_events_for_day").format(source_table=table))
        (source_rows,) = cursor.fetchone()
        cursor.execute(load_sql("extract/select_events_for_day").format(source_table=table))
        # The scan has no order to keep (a heap scan's is arbitrary); letting DuckDB's
        # threads write in any order saves the buffering: ~20% less memory at 1M rows.
        # A connection lost mid-stream surfaces here, as DuckDB's error reading the stream.
        with compute_connection(**_TYPING_CONFIG) as typing_connection:
            typing_connection.register("raw_events", cursor.fetch_record_batch())
            typed = typing_connection.sql(load_sql("lake/type_events"))
            rows = write(typed.to_arrow_reader(_ROWS_PER_BATCH))
        connection.rollback()
    return ExtractedDay(day=day, source_rows=int(source_rows), rows=rows)


def cause(error: BaseException) -> str:
    """The server's or libpq's own sentence, without the drivers' prefixes and hints."""
    line = first_line(error)
    found = _CAUSE.search(line)
    if found:
        return found.group(1).strip()
    return line.split("[libpq] ", 1)[-1]


def first_line(error: Exception) -> str:
    """The sentence that names the cause; drivers append hints and context below it."""
    return str(error).strip().splitlines()[0]
