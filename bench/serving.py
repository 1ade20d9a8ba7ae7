"""How fast the warehouse answers the platform's questions, against the engines a team would
otherwise point at the same events (the issue on serving speed).

Run with the repository on the path (its root as the working directory, or PYTHONPATH):

    .venv/bin/python -m bench.serving [--events-per-day N] [--days D] [--organizations K]
        [--window W] [--repeat R] [--dsn DSN] [--warehouse DIR] [--no-peers]
        [--results-file PATH]

It seeds K organisations' events for the D days ending yesterday into a schema of its own
of PostgreSQL (`bench_<id>`, dropped at the end; sql/bench/seed_serving_events.sql, with
the created_at and (organization_id, created_at) indexes), materialises the warehouse for
those days through the project's pipeline (`materialise_range`; or reuses `--warehouse`),
then times each of the platform's questions over the last W days, and 90 and 365 days when
the warehouse holds them: the project's macro on `analytics.duckdb` opened read-only (warm,
also with DuckDB's Parquet metadata cache, for all organisations and for one, and the first
query of a new connection), and the same answer from the raw lake by DuckDB and by chDB
(ClickHouse's engine, on the `events` table's current Parquet files) and from the source
table by PostgreSQL; then 8 concurrent readers of one-organisation overviews. Every peer's
answer is compared with the macro's. One table per run is printed beside the targets and
appended to bench/RESULTS.md; bench/README.md explains how to read it.
"""

from __future__ import annotations

import argparse
import datetime as dt
import gc
import json
import math
import os
import re
import statistics
import tempfile
import threading
import time
import uuid
from collections.abc import Callable, Iterator, Sequence
from contextlib import AbstractContextManager, contextmanager
from dataclasses import dataclass
from decimal import Decimal
from functools import partial
from pathlib import Path
from typing import Any

import duckdb
import psycopg
import pyarrow as pa
import pyarrow.parquet as pq
from psycopg import sql

from assets.resources import LakehouseResource, PriceListResource
from bench.report import RESULTS_FILE, heading, publish, table
from bench.run_benchmark import bench_schema, postgres
from pipelines.configuration import load_configuration
from pipelines.dagster_home import prepare_dagster_home
from pipelines.definitions import build_definitions
from pipelines.materialize import materialise_range
from warehouse.demo_events import create_events_table
from warehouse.settings import parse_qualified_table
from warehouse.sql_files import load_sql
from warehouse.storage.reading import listing
from warehouse.tables import EVENTS, LAKE_TABLES
from warehouse.views import duckdb_path

SEED = 0.42
# the bench's record of what a kept warehouse holds, so that a reuse seeds the same events
MANIFEST = "bench-serving.json"
LONG_WINDOWS = (90, 365)
READERS = 8
QUERIES_PER_READER = 25
TOP_N = 10
# a figure whose untimed first run takes longer is timed once, not `--repeat` times
SLOW = 20.0
# the targets of the issue on serving speed (seconds, or times faster)
ONE_ORGANISATION_WARM = {30: 0.020, 365: 0.050}
FIRST_QUERY = {30: 0.150}
CONCURRENT_P99 = 0.050
FASTER_THAN_CHDB = 10.0
FASTER_THAN_POSTGRES = 100.0
ALL_ORGANISATIONS_WINDOWS = (30, 90)
TARGET_QUESTIONS = ("overview", "agent_analytics", "usage_trends", "top_agents_between")

Rows = list[dict[str, Any]]
Parameters = dict[str, Any]


# --- the source --------------------------------------------------------------------------


def _statement(name: str, qualified_table: str) -> sql.Composed:
    schema, name_ = parse_qualified_table(qualified_table)
    return sql.SQL(load_sql(name)).format(  # type: ignore[arg-type]
        source_table=sql.Identifier(schema, name_),
        primary_key=sql.Identifier(f"{name_}_pkey"),
        created_at_index=sql.Identifier(f"{name_}_created_at_idx"),
        organization_index=sql.Identifier(f"{name_}_organization_id_created_at_idx"),
    )


def seed_serving_events(
    dsn: str,
    qualified_table: str,
    first_day: dt.date,
    days: int,
    events_per_day: int,
    organizations: int,
) -> int:
    """The shipped table with `days` days of K organisations' events from `first_day`,
    indexed and vacuumed as a live table is; returns the rows inserted.

    The primary key and the created_at index are built after the rows are in (random
    UUIDs inserted into a B-tree one by one take most of a seed's time), with the
    (organization_id, created_at) index the platform's users would add for one
    organisation's questions. The rows come in time order, as a live table is appended,
    so the table needs no CLUSTER.
    """
    create_events_table(dsn, qualified_table)
    identifier = sql.Identifier(*parse_qualified_table(qualified_table))
    with psycopg.connect(dsn, autocommit=True) as connection:
        connection.execute(_statement("bench/drop_serving_indexes", qualified_table))
        # the seed's hash joins stay in memory, so the rows keep the series' order
        connection.execute("set work_mem = '256MB'")
        connection.execute("select setseed(%s)", (SEED,))
        inserted = connection.execute(
            _statement("bench/seed_serving_events", qualified_table),
            {
                "start_date": first_day,
                "days": days,
                "events_per_day": events_per_day,
                "organizations": organizations,
            },
        ).rowcount
        connection.execute("set maintenance_work_mem = '1GB'")
        connection.execute(_statement("bench/add_serving_indexes", qualified_table))
        connection.execute(sql.SQL("vacuum (analyze) {}").format(identifier))
    return inserted


# --- the warehouse -----------------------------------------------------------------------


@dataclass(frozen=True)
class Held:
    """What a benchmark warehouse holds: the seed's shape and its days."""

    events_per_day: int
    days: int
    organizations: int
    first_day: dt.date

    @property
    def last_day(self) -> dt.date:
        return self.first_day + dt.timedelta(days=self.days - 1)

    def to_json(self) -> str:
        return json.dumps({**self.__dict__, "first_day": self.first_day.isoformat()})

    @classmethod
    def from_json(cls, text: str) -> Held:
        values = json.loads(text)
        return cls(**{**values, "first_day": dt.date.fromisoformat(values["first_day"])})


def warehouse_environment(dsn: str, qualified_table: str, folder: Path, held: Held) -> dict:
    return {
        "ANALYTICS_SOURCE_DSN": dsn,
        "ANALYTICS_SOURCE_TABLE": qualified_table,
        "ANALYTICS_WAREHOUSE_DIR": str(folder),
        "ANALYTICS_START_DATE": held.first_day.isoformat(),
    }


def materialise(dsn: str, qualified_table: str, folder: Path, held: Held) -> float:
    """Every asset over the held days as one run of the project's pipeline, on a scratch
    Dagster instance; returns the seconds it took. The settings are set in the process's
    environment while it runs: the resources read their secrets (the DSN) from there."""
    with tempfile.TemporaryDirectory(prefix="bench-serving-dagster-") as home:
        env = {
            **warehouse_environment(dsn, qualified_table, folder, held),
            "DAGSTER_HOME": home,
        }
        previous = {name: os.environ.get(name) for name in env}
        os.environ.update(env)
        prepare_dagster_home(env)
        try:
            started = time.perf_counter()
            materialise_range(
                build_definitions(load_configuration(env)), held.first_day, held.last_day
            )
            return time.perf_counter() - started
        finally:
            for name, value in previous.items():
                if value is None:
                    os.environ.pop(name, None)
                else:
                    os.environ[name] = value


def reusable(folder: Path | None, wanted: Held) -> Held | None:
    """The kept warehouse's days when it holds the asked shape; None for a new one."""
    if folder is None or not folder.exists() or not any(folder.iterdir()):
        return None
    manifest = folder / MANIFEST
    if not manifest.exists():
        raise SystemExit(
            f"--warehouse {folder} is not empty and holds no {MANIFEST}: not a warehouse this "
            "benchmark built (give an empty or new folder)"
        )
    held = Held.from_json(manifest.read_text())
    shape = (held.events_per_day, held.days, held.organizations)
    if shape != (wanted.events_per_day, wanted.days, wanted.organizations):
        raise SystemExit(
            f"--warehouse {folder} holds {held.events_per_day:,} events/day, {held.days} days "
            f"and {held.organizations} organisations: ask for those, or give a new folder"
        )
    return held


# --- the questions -----------------------------------------------------------------------

NINE_METRICS = (
    "total_messages",
    "total_conversations",
    "total_tokens",
    "unique_users",
    "avg_response_time",
    "p95_response_time",
    "agent_count",
    "workflow_executions",
    "error_count",
)
AVERAGES = frozenset({"avg_response_time", "p95_response_time"})


@dataclass(frozen=True)
class Question:
    name: str
    label: str
    peer_sql: str  # sql/bench/<peer_sql>_<engine>.sql
    columns: tuple[str, ...]  # the answer compared, the first `key` of them its key
    key: int
    organizations_argument: bool = True


QUESTIONS = (
    Question("overview", "overview", "overview", ("organization_id", "metric"), 2),
    Question(
        "agent_analytics",
        "agent_analytics (busiest agent)",
        "agent_analytics",
        (
            "organization_id",
            "conversation_count",
            "message_count",
            "avg_response_time",
            "p50_response_time",
            "p95_response_time",
            "total_tokens",
            "error_count",
            "satisfaction_score",
            "rating_count",
            "total_cost_usd",
        ),
        1,
        organizations_argument=False,
    ),
    Question(
        "usage_trends",
        "usage_trends",
        "usage_trends",
        (
            "organization_id",
            "date",
            "total_messages",
            "total_conversations",
            "total_tokens",
            "unique_users",
            "workflow_executions",
            "error_count",
        ),
        2,
    ),
    Question(
        "top_agents_between",
        f"top_agents_between(..., {TOP_N})",
        "top_agents",
        (
            "organization_id",
            "rank",
            "agent_id",
            "message_count",
            "conversation_count",
            "total_tokens",
            "avg_response_time",
            "error_count",
            "satisfaction_score",
            "rating_count",
        ),
        2,
    ),
    Question(
        "event_counts_between",
        "event_counts_between",
        "event_counts",
        ("organization_id", "event_type", "event_count"),
        2,
    ),
)

# how the macro is asked about one organisation
ALL, WHERE, ARGUMENT = "all", "where", "argument"


@dataclass(frozen=True)
class Ask:
    question: Question
    window: int
    start: dt.date
    end: dt.date
    variant: str  # ALL, WHERE or ARGUMENT
    organization: str
    agent: str

    @property
    def scope(self) -> str:
        return ALL if self.variant == ALL else "one"

    def macro_query(self) -> tuple[str, Parameters]:
        """The macro's call and the values it binds (the dates, the organisation, the agent,
        n): values reach the SQL as parameters, never as its text."""
        organizations = ", organizations := [$organization]" if self.variant == ARGUMENT else ""
        call = {
            "overview": f"overview($start, $end{organizations})",
            "agent_analytics": "agent_analytics($agent, $start, $end)",
            "usage_trends": f"usage_trends($start, $end{organizations})",
            "top_agents_between": f"top_agents_between($start, $end, $n{organizations})",
            "event_counts_between": f"event_counts_between($start, $end{organizations})",
        }[self.question.name]
        where = " where organization_id = $organization" if self.variant == WHERE else ""
        query = f"select * from {call}{where}"
        return query, taken(query, self.parameters("duckdb"))

    def peer_query(self, engine: str) -> tuple[str, Parameters]:
        """The question in plain SQL for `engine` (duckdb, chdb or postgres), and the values
        it binds."""
        query = load_sql(f"bench/{self.question.peer_sql}_{engine}")
        values = self.parameters(engine)
        return query, taken(query, values) if engine == "duckdb" else values

    def parameters(self, engine: str) -> Parameters:
        """The values the question's SQL on `engine` binds. PostgreSQL compares created_at
        with the range's half-open UTC times; chDB binds no NULL, so '' asks for every
        organisation there."""
        organization = self.organization if self.scope == "one" else None
        previous_start = self.start - dt.timedelta(days=self.window)
        values: Parameters = {
            "start": self.start,
            "end": self.end,
            "previous_start": previous_start,
            "organization": organization,
            "agent": self.agent,
            "n": TOP_N,
            "days": self.window,
        }
        if engine == "postgres":
            midnight = dt.time()
            values |= {
                "start_time": dt.datetime.combine(self.start, midnight),
                "previous_start_time": dt.datetime.combine(previous_start, midnight),
                "end_time": dt.datetime.combine(self.end + dt.timedelta(days=1), midnight),
            }
        if engine == "chdb":
            values["organization"] = organization or ""
        return values


def taken(query: str, values: Parameters) -> Parameters:
    """The values of the `$name` parameters `query` takes: DuckDB refuses any other."""
    return {name: values[name] for name in re.findall(r"\$([A-Za-z_]\w*)", query)}


# --- answers, compared -------------------------------------------------------------------


def normal(value: Any) -> Any:
    """A value as the answers are compared: ids and days as text, numbers as floats."""
    if value is None:
        return None
    if isinstance(value, uuid.UUID):
        return str(value)
    if isinstance(value, dt.datetime):
        return value.date().isoformat()
    if isinstance(value, dt.date):
        return value.isoformat()
    if isinstance(value, bool):
        return value
    if isinstance(value, int | float | Decimal):
        number = float(value)
        return None if math.isnan(number) else number
    return value


def answer(question: Question, rows: Rows, from_macro: bool) -> list[tuple]:
    """The rows of an answer, comparable across engines, sorted by their key."""
    if question.name == "overview":
        return _overview_answer(rows, from_macro)
    shaped = [tuple(normal(row[column]) for column in question.columns) for row in rows]
    return sorted(shaped, key=lambda row: tuple(str(value) for value in row[: question.key]))


def _overview_answer(rows: Rows, from_macro: bool) -> list[tuple]:
    """(organisation, metric, current, previous) of the nine metrics: the macro's long rows
    (its total_cost_usd row aside: the contract's overview has nine metrics), or a peer's
    row per organisation and period."""
    if from_macro:
        shaped = [
            (
                normal(row["organization_id"]),
                row["metric"],
                normal(row["current_value"]),
                normal(row["previous_value"]),
            )
            for row in rows
            if row["metric"] in NINE_METRICS
        ]
    else:
        periods = {(normal(row["organization_id"]), row["period"]): row for row in rows}
        shaped = []
        for organization in {organization for organization, _ in periods}:
            for metric in NINE_METRICS:
                values = []
                for period in ("current", "previous"):
                    row = periods.get((organization, period))
                    empty = None if metric in AVERAGES else 0.0
                    values.append(empty if row is None else normal(row[metric]))
                shaped.append((organization, metric, *values))
    return sorted(shaped, key=lambda row: (row[0], row[1]))


def close(left: Any, right: Any) -> bool:
    if isinstance(left, float) and isinstance(right, float):
        return math.isclose(left, right, rel_tol=1e-9, abs_tol=1e-9)
    return left == right


def difference(expected: list[tuple], got: list[tuple]) -> str | None:
    """None when the answers agree (floats to 1e-9), else the first difference."""
    if len(expected) != len(got):
        return f"{len(got)} rows, the macro {len(expected)}"
    for wanted, found in zip(expected, got, strict=True):
        if len(wanted) != len(found) or not all(map(close, wanted, found)):
            return f"{found} where the macro has {wanted}"
    return None


# --- the engines -------------------------------------------------------------------------


def duckdb_rows(connection: duckdb.DuckDBPyConnection, query: str, parameters: Parameters) -> Rows:
    cursor = connection.execute(query, parameters)
    names = [column[0] for column in cursor.description or ()]
    return [dict(zip(names, row, strict=True)) for row in cursor.fetchall()]


def postgres_rows(
    connection: psycopg.Connection, query: sql.Composable, parameters: Parameters
) -> Rows:
    cursor = connection.execute(query, parameters)
    names = [column.name for column in cursor.description or ()]
    return [dict(zip(names, row, strict=True)) for row in cursor.fetchall()]


@dataclass(frozen=True)
class Timing:
    seconds: float  # the median of the timed runs
    rows: Rows  # the answer (of the untimed first run)


def timed(run: Callable[[], Rows], repeat: int) -> Timing:
    """The median of `repeat` runs after one untimed run that warms the connection; one
    timed run when the untimed one took over SLOW seconds (a peer on the largest scale)."""
    started = time.perf_counter()
    rows = run()
    if time.perf_counter() - started > SLOW:
        repeat = 1
    seconds = []
    for _ in range(repeat):
        started = time.perf_counter()
        run()
        seconds.append(time.perf_counter() - started)
    return Timing(statistics.median(seconds), rows)


@contextmanager
def read_only(path: Path, metadata_cache: bool = False) -> Iterator[duckdb.DuckDBPyConnection]:
    """`analytics.duckdb` as an analyst or a service opens it. In one process, connections
    to one file share one database while any is open: the figures that need a fresh
    database open it when no other connection is."""
    connection = duckdb.connect(str(path), read_only=True)
    try:
        if metadata_cache:
            connection.execute("set parquet_metadata_cache = true")
        yield connection
    finally:
        connection.close()
        gc.collect()


def first_query(path: Path, query: str, parameters: Parameters, repeat: int) -> tuple[float, float]:
    """Median seconds of a new connection's open and first query, and of the open alone."""
    totals, opens = [], []
    for _ in range(repeat):
        gc.collect()
        started = time.perf_counter()
        connection = duckdb.connect(str(path), read_only=True)
        opened = time.perf_counter()
        connection.execute(query, parameters).fetchall()
        totals.append(time.perf_counter() - started)
        opens.append(opened - started)
        connection.close()
    return statistics.median(totals), statistics.median(opens)


def concurrent_readers(
    path: Path, queries: Sequence[tuple[str, Parameters]], per_reader: int = QUERIES_PER_READER
) -> list[float]:
    """Latencies of len(queries) threads, each with its own read-only connection, each
    running its query per_reader times at once with the others (after one untimed run)."""
    barrier = threading.Barrier(len(queries))
    latencies: list[float] = []
    errors: list[BaseException] = []
    lock = threading.Lock()

    def reader(query: str, parameters: Parameters) -> None:
        try:
            connection = duckdb.connect(str(path), read_only=True)
            connection.execute(query, parameters).fetchall()
            barrier.wait()
            mine = []
            for _ in range(per_reader):
                started = time.perf_counter()
                connection.execute(query, parameters).fetchall()
                mine.append(time.perf_counter() - started)
            connection.close()
            with lock:
                latencies.extend(mine)
        except BaseException as error:  # re-raised by the main thread
            barrier.abort()
            errors.append(error)

    threads = [threading.Thread(target=reader, args=query) for query in queries]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    if errors:
        raise errors[0]
    gc.collect()
    return latencies


def percentile(values: Sequence[float], fraction: float) -> float:
    ordered = sorted(values)
    rank = (len(ordered) - 1) * fraction
    low = math.floor(rank)
    high = min(low + 1, len(ordered) - 1)
    return ordered[low] + (rank - low) * (ordered[high] - ordered[low])


def profile(path: Path, query: str, parameters: Parameters) -> str:
    """Where a warm run of `query` spends its time, from DuckDB's profile (JSON,
    detailed): binding, optimising and planning against executing, and the Parquet scans
    (their CPU time summed over the threads, the files they open and the bytes read)."""
    with (
        tempfile.TemporaryDirectory(prefix="bench-serving-profile-") as folder,
        read_only(path) as connection,
    ):
        output = Path(folder) / "profile.json"
        connection.execute(query, parameters).fetchall()
        connection.execute("set enable_profiling = 'json'")
        connection.execute("set profiling_mode = 'detailed'")
        connection.execute("set profiling_output = $output", {"output": str(output)})
        connection.execute(query, parameters).fetchall()
        connection.execute("pragma disable_profiling")
        found = json.loads(output.read_text())
    operators: list[dict[str, Any]] = []

    def walk(node: dict[str, Any]) -> None:
        operators.append(node)
        for child in node.get("children", []):
            walk(child)

    for node in found.get("operator", []):
        walk(node)
    scans = [node for node in operators if node.get("name") == "READ_PARQUET"]
    files = sum(int(node.get("extra_info", {}).get("Total Files Read", 0)) for node in scans)
    total = found["query"]["total_time"]
    binding = found["planner"]["total_time"]
    optimising = found["optimizer"]["total_time"]
    planning = found["physical_planner"]["total_time"]
    execution = total - binding - optimising - planning
    scanning = sum(node.get("timing", 0.0) for node in scans)
    return (
        f"{shown(total)} in all: binding {shown(binding)}, optimising {shown(optimising)}, "
        f"physical planning {shown(planning)}, executing {shown(execution)} "
        f"({shown(found['query']['cpu_time'])} of CPU, {shown(scanning)} of it in {len(scans)} "
        f"Parquet scans of {files} files, {found['io']['total_bytes_read'] / 2**20:.1f} MiB read)"
    )


class ChdbLake:
    """chDB over the `events` table's current data files, as a view named `events`, with
    the price list as the table `prices`."""

    def __init__(self, files: Sequence[str], prices: pa.Table) -> None:
        from chdb import session  # the bench extra's; imported only when the peers run

        paths = [file.removeprefix("file://") for file in files]
        for path in paths:
            if any(character in path for character in ",{}*?"):
                raise ValueError(f"chDB cannot name the data file {path} in one glob")
        prefix = os.path.commonpath(paths) if len(paths) > 1 else os.path.dirname(paths[0])
        relative = ",".join(os.path.relpath(path, prefix) for path in paths)
        self.session = session.Session()
        # the files' glob (not a value of a query) is the view's text: a view of
        # `file({files:String})` would be a parameterised view, asking for it at every query
        self.session.query(
            f"create view events as select * from file('{prefix}/{{{relative}}}', Parquet)"
        )
        with tempfile.TemporaryDirectory(prefix="bench-serving-prices-") as folder:
            path = str(Path(folder) / "prices.parquet")
            pq.write_table(prices, path)
            self.session.query(
                "create table prices engine = Memory as select * from file({path:String}, Parquet)",
                params={"path": path},
            )

    def rows(self, query: str, parameters: Parameters) -> Rows:
        return self.session.query(query, "ArrowTable", params=parameters).to_pylist()

    def close(self) -> None:
        self.session.close()


# --- the run -----------------------------------------------------------------------------


@dataclass
class Figures:
    """Everything measured in one run, keyed by (question name, window, variant or scope)."""

    macro: dict[tuple[str, int, str], Timing]
    cached: dict[tuple[str, int, str], Timing]
    first: dict[tuple[str, int], tuple[float, float]]
    peers: dict[str, dict[tuple[str, int, str], Timing]]
    readers: list[float]
    reader_window: int
    profiles: list[str]  # where a warm overview's time goes


def windows_of(args: argparse.Namespace, held: Held) -> list[int]:
    return sorted({w for w in (args.window, *LONG_WINDOWS) if w <= held.days})


def asks_for(windows: Sequence[int], last_day: dt.date, organization: str, agent: str) -> list[Ask]:
    asks = []
    for window in windows:
        start = last_day - dt.timedelta(days=window - 1)
        for question in QUESTIONS:
            variants = [ALL, WHERE] + ([ARGUMENT] if question.organizations_argument else [])
            asks += [
                Ask(question, window, start, last_day, variant, organization, agent)
                for variant in variants
            ]
    return asks


def busiest(path: Path, last_day: dt.date, window: int) -> tuple[list[str], str]:
    """The organisations by events over the last `window` days, busiest first, and the
    busiest agent (most messages, then conversations) of all of them."""
    days = {"start": last_day - dt.timedelta(days=window - 1), "end": last_day}
    with read_only(path) as connection:
        organizations = [
            str(organization)
            for (organization,) in connection.execute(
                "select organization_id from event_counts_between($start, $end)"
                " group by organization_id order by sum(event_count) desc, organization_id",
                days,
            ).fetchall()
        ]
        (agent,) = connection.execute(
            "select agent_id from top_agents_between($start, $end, 1)"
            " order by message_count desc, conversation_count desc, agent_id::varchar limit 1",
            days,
        ).fetchone() or (None,)
    if not organizations or agent is None:
        raise SystemExit("the warehouse holds no counted event in the window")
    return organizations, str(agent)


def measure(
    path: Path,
    asks: Sequence[Ask],
    args: argparse.Namespace,
    organizations: Sequence[str],
    peers: Callable[[], AbstractContextManager[dict[str, Callable[[Ask], Callable[[], Rows]]]]],
) -> Figures:
    repeat = args.repeat
    # first, while no other connection holds the file open: each query on a new database
    first = {
        (ask.question.name, ask.window): first_query(path, *ask.macro_query(), repeat)
        for ask in asks
        if ask.variant == (ARGUMENT if ask.question.organizations_argument else WHERE)
    }
    with read_only(path) as connection:
        macro = {
            (ask.question.name, ask.window, ask.variant): timed(
                lambda ask=ask: duckdb_rows(connection, *ask.macro_query()), repeat
            )
            for ask in asks
        }
    with read_only(path, metadata_cache=True) as connection:
        cached = {
            (ask.question.name, ask.window, ask.variant): timed(
                lambda ask=ask: duckdb_rows(connection, *ask.macro_query()), repeat
            )
            for ask in asks
        }
    reader_ask = next(
        ask for ask in asks if ask.question.name == "overview" and ask.variant == ARGUMENT
    )
    reader_queries = [
        Ask(
            reader_ask.question,
            reader_ask.window,
            reader_ask.start,
            reader_ask.end,
            ARGUMENT,
            organizations[reader % len(organizations)],
            reader_ask.agent,
        ).macro_query()
        for reader in range(READERS)
    ]
    readers = concurrent_readers(path, reader_queries)
    overviews = [ask for ask in asks if ask.question.name == "overview" and ask.variant != WHERE]
    profiles = [
        f"{'all organisations' if ask.variant == ALL else 'one organisation'}, "
        f"{ask.window} d: {profile(path, *ask.macro_query())}"
        for ask in overviews
    ]
    measured_peers = {}
    with peers() as runners:
        for engine, runner in runners.items():
            measured_peers[engine] = {
                (ask.question.name, ask.window, ask.scope): timed(runner(ask), repeat)
                for ask in asks
                if ask.variant in (ALL, WHERE)
            }
    return Figures(macro, cached, first, measured_peers, readers, reader_ask.window, profiles)


@contextmanager
def peer_runners(
    path: Path,
    lakehouse_folder: Path,
    dsn: str | None,
    source_table: str,
) -> Iterator[dict[str, Callable[[Ask], Callable[[], Rows]]]]:
    """A runner per peer engine: the raw lake in DuckDB (the `events` view of
    analytics.duckdb) and in chDB (the table's current data files), the source table in
    PostgreSQL."""
    prices = PriceListResource().load()
    lakehouse = LakehouseResource(location=str(lakehouse_folder)).open()
    files = listing(lakehouse, EVENTS).data_files
    raw = duckdb.connect(str(path), read_only=True)
    raw.register("prices", prices)
    lake = ChdbLake(files, prices)
    # no server-side prepared statements: a generic plan of `(%(organization)s::text is null
    # or organization_id = ...)` would not use the (organization_id, created_at) index
    source = psycopg.connect(dsn, autocommit=True, prepare_threshold=None) if dsn else None
    try:
        runners: dict[str, Callable[[Ask], Callable[[], Rows]]] = {
            "duckdb": lambda ask: partial(duckdb_rows, raw, *ask.peer_query("duckdb")),
            "chdb": lambda ask: partial(lake.rows, *ask.peer_query("chdb")),
        }
        if source is not None:
            postgres_prices(source, prices)
            table = sql.Identifier(*parse_qualified_table(source_table))

            def on_postgres(ask: Ask) -> Callable[[], Rows]:
                query, parameters = ask.peer_query("postgres")
                statement = sql.SQL(query).format(source_table=table)  # type: ignore[arg-type]
                return partial(postgres_rows, source, statement, parameters)

            runners["postgres"] = on_postgres
        yield runners
    finally:
        raw.close()
        lake.close()
        if source is not None:
            source.close()


def postgres_prices(connection: psycopg.Connection, prices: pa.Table) -> None:
    """The price list as the connection's temporary table `prices`, which
    sql/bench/agent_analytics_postgres.sql prices the events with."""
    connection.execute(
        "create temporary table prices"
        " (model text, effective_from date, usd_per_million_tokens double precision)"
    )
    connection.cursor().executemany(
        "insert into prices values (%s, %s, %s)",
        [
            (row["model"], row["effective_from"], row["usd_per_million_tokens"])
            for row in prices.to_pylist()
        ],
    )


# --- the table ---------------------------------------------------------------------------

PEERS = (("duckdb", "DuckDB raw"), ("chdb", "chDB raw"), ("postgres", "PostgreSQL"))


def shown(seconds: float | None) -> str:
    if seconds is None:
        return "-"
    if seconds < 0.1:
        return f"{seconds * 1000:.1f} ms"
    if seconds < 1:
        return f"{seconds * 1000:.0f} ms"
    return f"{seconds:.2f} s"


def speedup(macro: float, peer: float | None) -> float | None:
    return None if peer is None else peer / macro


def shown_speedup(ratio: float | None) -> str:
    if ratio is None:
        return "-"
    if ratio >= 1:
        return f"{ratio:,.0f}x faster" if ratio >= 10 else f"{ratio:.1f}x faster"
    return f"{1 / ratio:.1f}x slower"


def bound_verdict(seconds: float, bound: float, cached: float | None = None) -> str:
    if seconds <= bound:
        return "met"
    if cached is not None and cached <= bound:
        return "missed (met with the cache)"
    return "missed"


def rows_of(figures: Figures, windows: Sequence[int]) -> list[list[str]]:
    lines = []

    def peer(engine: str, key: tuple[str, int, str]) -> float | None:
        timing = figures.peers.get(engine, {}).get(key)
        return None if timing is None else timing.seconds

    for window in windows:
        for question in QUESTIONS:
            name = question.name
            variants = [ALL, WHERE] + ([ARGUMENT] if question.organizations_argument else [])
            for variant in variants:
                scope = ALL if variant == ALL else "one"
                macro = figures.macro[(name, window, variant)].seconds
                cached = figures.cached[(name, window, variant)].seconds
                peers = {engine: peer(engine, (name, window, scope)) for engine, _ in PEERS}
                versus_chdb = speedup(macro, peers["chdb"])
                versus_postgres = speedup(macro, peers["postgres"])
                target, verdict = "", ""
                if variant == ALL:
                    label = f"{question.label}, {window} d, all organisations"
                    if window in ALL_ORGANISATIONS_WINDOWS:
                        target = (
                            f">= {FASTER_THAN_CHDB:.0f}x chDB, "
                            f">= {FASTER_THAN_POSTGRES:.0f}x PostgreSQL"
                        )
                        if versus_chdb is None or versus_postgres is None:
                            verdict = "-"
                        else:
                            short = [
                                f"{peer_name} {ratio:.1f}x"
                                for peer_name, ratio, bound in (
                                    ("chDB", versus_chdb, FASTER_THAN_CHDB),
                                    ("PostgreSQL", versus_postgres, FASTER_THAN_POSTGRES),
                                )
                                if ratio < bound
                            ]
                            verdict = "met" if not short else f"missed ({', '.join(short)})"
                else:
                    how = (
                        "where organization_id = ..."
                        if variant == WHERE
                        else "organizations := [...]"
                    )
                    label = f"{question.label}, {window} d, one organisation ({how})"
                    if name in TARGET_QUESTIONS and window in ONE_ORGANISATION_WARM:
                        bound = ONE_ORGANISATION_WARM[window]
                        target = f"<= {bound * 1000:.0f} ms warm"
                        verdict = bound_verdict(macro, bound, cached)
                lines.append(
                    [
                        label,
                        shown(macro),
                        shown(cached),
                        target,
                        verdict,
                        *(shown(peers[engine]) for engine, _ in PEERS),
                        shown_speedup(versus_chdb),
                        shown_speedup(versus_postgres),
                    ]
                )
            total, opened = figures.first[(name, window)]
            target, verdict = "", ""
            if name in TARGET_QUESTIONS and window in FIRST_QUERY:
                target = f"<= {FIRST_QUERY[window] * 1000:.0f} ms"
                verdict = bound_verdict(total, FIRST_QUERY[window])
            lines.append(
                [
                    f"{question.label}, {window} d, one organisation, first query of a new "
                    f"connection (open: {shown(opened)})",
                    shown(total),
                    "",
                    target,
                    verdict,
                    *(["-"] * 5),
                ]
            )
    p99 = percentile(figures.readers, 0.99)
    lines.append(
        [
            f"{READERS} concurrent readers, one-organisation overview, {figures.reader_window} d:"
            f" p99 of {len(figures.readers)} (median {shown(statistics.median(figures.readers))})",
            shown(p99),
            "",
            f"<= {CONCURRENT_P99 * 1000:.0f} ms",
            bound_verdict(p99, CONCURRENT_P99),
            *(["-"] * 5),
        ]
    )
    return lines


def agreement(figures: Figures, asks: Sequence[Ask]) -> list[str]:
    """Whether each peer's answer is the macro's, question by question."""
    notes = []
    for engine, peer_name in PEERS:
        timings = figures.peers.get(engine)
        if timings is None:
            continue
        agreed, differing = 0, []
        for ask in asks:
            macro = figures.macro[(ask.question.name, ask.window, ask.variant)]
            timing = timings[(ask.question.name, ask.window, ask.scope)]
            found = difference(
                answer(ask.question, macro.rows, from_macro=True),
                answer(ask.question, timing.rows, from_macro=False),
            )
            if found is None:
                agreed += 1
            else:
                differing.append(f"{ask.question.name} {ask.window} d {ask.variant}: {found}")
        notes.append(
            f"{peer_name} gives the macro's answer on {agreed} of {len(asks)} questions"
            + (f"; differs on {'; '.join(differing[:3])}" if differing else "")
        )
    chdb = figures.peers.get("chdb")
    if chdb is not None:
        ask = next(ask for ask in asks if ask.question.name == "overview" and ask.variant == ALL)
        found = difference(
            answer(ask.question, figures.macro[("overview", ask.window, ALL)].rows, True),
            answer(ask.question, chdb[("overview", ask.window, ALL)].rows, False),
        )
        notes.append(
            f"chDB and the macro on overview over {ask.window} days, all organisations: "
            + ("the same numbers" if found is None else f"they differ: {found}")
        )
    consistent = all(
        difference(
            answer(ask.question, figures.macro[(ask.question.name, ask.window, WHERE)].rows, True),
            answer(
                ask.question, figures.macro[(ask.question.name, ask.window, ARGUMENT)].rows, True
            ),
        )
        is None
        for ask in asks
        if ask.variant == ARGUMENT
    )
    notes.append(
        "the macros' `organizations := [...]` answers are their `where` answers: "
        + ("yes" if consistent else "NO")
    )
    return notes


# the tables the questions' macros read, and the raw lake
READ_TABLES = (
    "events",
    "daily_metrics",
    "daily_active_users",
    "daily_measurements",
    "agent_metrics",
    "event_counts",
)


def lake_files(folder: Path) -> str:
    lakehouse = LakehouseResource(location=str(folder)).open()
    counts = {
        spec.name: len(listing(lakehouse, spec).data_files)
        for spec in LAKE_TABLES
        if lakehouse.exists(spec)
    }
    return "data files: " + ", ".join(
        f"{name} {count}" for name, count in counts.items() if name in READ_TABLES
    )


def parse_args(argv: Sequence[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=(__doc__ or "").splitlines()[0])
    parser.add_argument("--events-per-day", type=int, default=200_000)
    parser.add_argument("--days", type=int, default=60, help="days seeded, ending yesterday")
    parser.add_argument("--organizations", type=int, default=40)
    parser.add_argument("--window", type=int, default=30, help="days of the questions' range")
    parser.add_argument("--repeat", type=int, default=3, help="timed runs per figure (median)")
    parser.add_argument("--dsn", help="PostgreSQL to use (default: local, else embedded)")
    parser.add_argument(
        "--warehouse", type=Path, help="materialise into DIR and keep it, or reuse it"
    )
    parser.add_argument(
        "--no-peers", dest="peers", action="store_false", help="time the macros alone"
    )
    parser.add_argument("--results-file", type=Path, default=RESULTS_FILE)
    args = parser.parse_args(argv)
    if min(args.events_per_day, args.days, args.organizations, args.window, args.repeat) < 1:
        parser.error("every count must be at least 1")
    if args.window > args.days:
        parser.error(f"--window {args.window} needs at least that many --days")
    return args


def main(argv: Sequence[str] | None = None) -> None:
    args = parse_args(argv)
    yesterday = dt.datetime.now(dt.UTC).date() - dt.timedelta(days=1)
    wanted = Held(
        args.events_per_day,
        args.days,
        args.organizations,
        yesterday - dt.timedelta(days=args.days - 1),
    )
    kept = reusable(args.warehouse, wanted)
    held = kept or wanted
    notes = []
    with (
        postgres(args.dsn) as dsn,
        bench_schema(dsn) as schema,
        tempfile.TemporaryDirectory(prefix="bench-serving-") as scratch,
    ):
        folder = (args.warehouse or Path(scratch) / "warehouse").resolve()
        source_table = f"{schema}.analytics_events"
        if kept is None or args.peers:
            started = time.perf_counter()
            seeded = seed_serving_events(
                dsn,
                source_table,
                held.first_day,
                held.days,
                held.events_per_day,
                held.organizations,
            )
            notes.append(f"seeded {seeded:,} events in {time.perf_counter() - started:.0f} s")
        if kept is None:
            folder.mkdir(parents=True, exist_ok=True)
            seconds = materialise(dsn, source_table, folder, held)
            (folder / MANIFEST).write_text(held.to_json())
            notes.append(f"materialised the {held.days} days in one run in {seconds:.0f} s")
        else:
            notes.append(f"reused the warehouse {folder} ({held.first_day} to {held.last_day})")
        path = duckdb_path(folder)
        windows = windows_of(args, held)
        organizations, agent = busiest(path, held.last_day, args.window)
        asks = asks_for(windows, held.last_day, organizations[0], agent)
        figures = measure(
            path,
            asks,
            args,
            organizations,
            lambda: peer_runners(path, folder, dsn, source_table) if args.peers else _no_peers(),
        )
        notes.append(
            f"one organisation: the busiest, {organizations[0]}; busiest agent {agent}; "
            + lake_files(folder)
        )
        notes += [f"where a warm overview's time goes, {text}" for text in figures.profiles]
        if args.peers:
            notes += agreement(figures, asks)
        title = (
            f"serving: {held.events_per_day:,} events/day, {held.days} days, "
            f"{held.organizations} organisations, median of {args.repeat}"
        )
        header = heading(title, dsn)
    rendered = table(
        (
            "question",
            "macro",
            "macro, metadata cache",
            "target",
            "verdict",
            "DuckDB raw",
            "chDB raw",
            "PostgreSQL",
            "macro/chDB",
            "macro/PostgreSQL",
        ),
        rows_of(figures, windows),
        numeric=2,
    )
    publish(
        f"{header}\n{rendered}\n\n" + "".join(f"- {note}\n" for note in notes), args.results_file
    )


@contextmanager
def _no_peers() -> Iterator[dict[str, Callable[[Ask], Callable[[], Rows]]]]:
    yield {}


if __name__ == "__main__":
    import sys

    main(sys.argv[1:])
