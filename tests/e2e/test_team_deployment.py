"""A team's deployment end to end (docs/team-deployment.md), through the real pieces.

One deployment for the module: a DAGSTER_HOME holding `deploy/dagster-team.yaml` as it
ships, Dagster's storage and the Iceberg catalog in two new databases of the real
PostgreSQL, the warehouse in a bucket of the local S3 server, and `dagster-daemon run -w
workspace.yaml` (the project's workspace file) started with the settings in its
environment. The daemon starts the workspace's code server itself, and runs are that
server's processes (Dagster's default run launcher). Backfills and re-executions are
launched as the UI launches them: GraphQL mutations, run in this process against the
same instance (their own code server loads the same code location).

The daemon runs from a directory of its own, as a team's does: Dagster's commands load
the `.env` of their working directory over the environment, and the project folder's
`.env` holds the demo's settings once the demo has run there.

Every day here holds hand-written events of one organisation, so each day's
daily_metrics row is written out by hand below.
"""

from __future__ import annotations

import contextlib
import datetime as dt
import os
import re
import shutil
import signal
import subprocess
import sys
import time
import uuid
from collections import Counter
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import duckdb
import psycopg
import pytest
import sqlalchemy
import yaml
from dagster import DagsterInstance
from dagster._core.events import DagsterEventType
from dagster._core.execution.backfill import BulkActionStatus
from dagster._core.storage.dagster_run import DagsterRun, DagsterRunStatus, RunsFilter
from dagster._core.workspace.context import WorkspaceProcessContext
from dagster._core.workspace.load_target import WorkspaceFileTarget
from dagster_graphql.test.utils import execute_dagster_graphql
from psycopg import sql
from psycopg.conninfo import conninfo_to_dict

from pipelines.configuration import load_configuration
from tests.e2e.s3_server import ACCESS_KEY_ID, REGION, SECRET_ACCESS_KEY, S3Bucket, s3_server
from tests.e2e.support import Source, fresh_source
from warehouse.settings import PROJECT_ROOT
from warehouse.tables import DAILY_TABLES, LAKE_TABLES
from warehouse.views import connect

# the fixture this module uses from s3_server
__all__ = ["s3_server"]
# end to end, wherever the module lives (the layer of tests/e2e/)

TEAM_INSTANCE = PROJECT_ROOT / "deploy" / "dagster-team.yaml"
K8S_INSTANCE = PROJECT_ROOT / "deploy" / "dagster-k8s.yaml"
WORKSPACE = PROJECT_ROOT / "workspace.yaml"
DAEMON = Path(sys.executable).parent / "dagster-daemon"
LOCATION = "analytics_warehouse"  # workspace.yaml's location_name
DAYS_PER_RUN = 2
INSTANCE_SETTINGS = yaml.safe_load(TEAM_INSTANCE.read_text())
MAX_CONCURRENT_RUNS = INSTANCE_SETTINGS["run_coordinator"]["config"]["max_concurrent_runs"]
MONITORING = INSTANCE_SETTINGS["run_monitoring"]
ORG = uuid.UUID("00000000-0000-4000-8000-00000000000c")
AGENT = uuid.UUID("00000000-0000-4000-8000-0000000000c1")
USER = uuid.UUID("00000000-0000-4000-8000-0000000000e1")


def march(day: int) -> dt.date:
    return dt.date(2025, 3, day)


def event(created_at: str, event_type: str = "message.sent", **fields: Any) -> dict[str, Any]:
    return {
        "organization_id": ORG,
        "event_type": event_type,
        "created_at": created_at,
        "user_id": USER,
        **fields,
    }


# Five days, by hand: messages are sent and received ones, tokens their `tokens`, every
# event is counted in event_count.
BACKFILL_EVENTS = (
    event("2025-03-01 08:00", properties={"tokens": 10}),
    event("2025-03-01 09:00", properties={"tokens": 30}),
    event("2025-03-02 10:00", properties={"tokens": 5}),
    event("2025-03-02 11:00", "agent.error", resource_type="agent", resource_id=AGENT),
    event("2025-03-03 00:00", "message.received", properties={"tokens": 20}),
    event("2025-03-03 12:00"),
    event("2025-03-03 23:59"),
    event("2025-03-04 07:00", properties={"tokens": 1}),
    event("2025-03-05 01:00"),
    event("2025-03-05 02:00"),
)
BACKFILL_DAYS = [march(day) for day in (1, 2, 3, 4, 5)]
BACKFILL_EVENT_DAYS = [dt.date.fromisoformat(row["created_at"][:10]) for row in BACKFILL_EVENTS]
BACKFILL_DAILY_METRICS = [
    # date, total_messages, total_tokens, event_count
    (march(1), 2, 40, 2),
    (march(2), 1, 5, 2),
    (march(3), 3, 20, 3),
    (march(4), 1, 1, 1),
    (march(5), 2, 0, 2),
]

# The day whose run is killed: enough events that its run takes seconds, each a message
# of 10 tokens.
BUSY_DAY = march(20)
BUSY_EVENTS = 50_000
DAILY_TABLE_NAMES = [spec.name for spec in DAILY_TABLES]


# --- the deployment ----------------------------------------------------------------------


@dataclass
class Deployment:
    """The module's deployment: its instance, settings, source and workspace."""

    home: Path
    working_dir: Path
    environment: dict[str, str]
    instance: DagsterInstance
    workspace: WorkspaceProcessContext
    source: Source
    bucket: S3Bucket
    catalog_url: str

    def graphql(self, query: str, variables: dict[str, Any]) -> dict[str, Any]:
        result = execute_dagster_graphql(
            self.workspace.create_request_context(), query, variables=variables
        )
        assert not result.errors, result.errors
        return result.data

    def lake(self) -> duckdb.DuckDBPyConnection:
        """The warehouse's tables as the pipeline's DuckDB reads them from S3
        (analytics.duckdb is not built on S3)."""
        return connect(load_configuration(self.environment).lakehouse.open())


@dataclass
class Daemon:
    process: subprocess.Popen[bytes]
    log: Path

    def output(self) -> str:
        return self.log.read_text(errors="replace")[-5000:]


def new_database(postgres_dsn: str, prefix: str) -> str:
    name = f"{prefix}_{uuid.uuid4().hex[:12]}"
    with psycopg.connect(postgres_dsn, autocommit=True) as connection:
        connection.execute(sql.SQL("create database {}").format(sql.Identifier(name)))
    return name


def drop_database(postgres_dsn: str, name: str) -> None:
    with psycopg.connect(postgres_dsn, autocommit=True) as connection:
        connection.execute(
            sql.SQL("drop database if exists {} with (force)").format(sql.Identifier(name))
        )


def database_url(postgres_dsn: str, driver: str, database: str) -> str:
    server = conninfo_to_dict(postgres_dsn)
    return sqlalchemy.URL.create(
        driver,
        username=server.get("user"),
        password=server.get("password"),
        host=server.get("host"),
        port=int(server["port"]) if server.get("port") else None,
        database=database,
    ).render_as_string(hide_password=False)


@pytest.fixture(scope="module")
def deployment(
    postgres_dsn: str, s3_server: str, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[Deployment]:
    home = tmp_path_factory.mktemp("dagster_home")
    working_dir = tmp_path_factory.mktemp("deployment")
    shutil.copy(TEAM_INSTANCE, home / "dagster.yaml")
    dagster_db = new_database(postgres_dsn, "dagster")
    catalog_db = new_database(postgres_dsn, "catalog")
    bucket = S3Bucket(name=f"team-{uuid.uuid4().hex[:12]}", endpoint=s3_server)
    bucket.client().create_bucket(Bucket=bucket.name)
    try:
        with fresh_source(postgres_dsn) as source, pytest.MonkeyPatch.context() as patch:
            settings = {
                "DAGSTER_HOME": str(home),
                "DAGSTER_PG_DSN": database_url(postgres_dsn, "postgresql+psycopg2", dagster_db),
                "ANALYTICS_SOURCE_DSN": source.dsn,
                "ANALYTICS_SOURCE_TABLE": source.table,
                "ANALYTICS_WAREHOUSE_DIR": bucket.uri("warehouse"),
                "ANALYTICS_CATALOG_URI": database_url(
                    postgres_dsn, "postgresql+psycopg", catalog_db
                ),
                "ANALYTICS_LOCAL_DIR": str(working_dir / "local"),
                "ANALYTICS_START_DATE": march(1).isoformat(),
                "ANALYTICS_BACKFILL_DAYS_PER_RUN": str(DAYS_PER_RUN),
                # the schedule would only fire on 1 January: nothing runs but what a test launches
                "ANALYTICS_SCHEDULE_CRON": "0 0 1 1 *",
                "AWS_ENDPOINT_URL": s3_server,
                "AWS_ACCESS_KEY_ID": ACCESS_KEY_ID,
                "AWS_SECRET_ACCESS_KEY": SECRET_ACCESS_KEY,
                "AWS_REGION": REGION,
            }
            for variable in list(os.environ):
                if variable.startswith(("ANALYTICS_", "DAGSTER_", "AWS_")):
                    patch.delenv(variable)
            for variable, value in settings.items():
                patch.setenv(variable, value)
            # Dagster's commands load the .env of their working directory over the
            # environment: the deployment runs from a directory of its own, never from a
            # checkout whose .env holds someone's demo settings
            patch.chdir(working_dir)
            instance = DagsterInstance.from_config(str(home))
            try:
                with WorkspaceProcessContext(
                    instance, WorkspaceFileTarget([str(WORKSPACE)])
                ) as workspace:
                    yield Deployment(
                        home=home,
                        working_dir=working_dir,
                        environment=dict(os.environ),
                        instance=instance,
                        workspace=workspace,
                        source=source,
                        bucket=bucket,
                        catalog_url=settings["ANALYTICS_CATALOG_URI"],
                    )
            finally:
                instance.dispose()
    finally:
        drop_database(postgres_dsn, dagster_db)
        drop_database(postgres_dsn, catalog_db)


@pytest.fixture(scope="module")
def daemon(deployment: Deployment) -> Iterator[Daemon]:
    """`dagster-daemon run -w workspace.yaml` from the deployment's directory, in a
    process group of its own (its code server and the runs are its children), stopped
    with it."""
    log = deployment.home / "daemon.log"
    with log.open("wb") as output:
        process = subprocess.Popen(
            [str(DAEMON), "run", "-w", str(WORKSPACE)],
            cwd=deployment.working_dir,
            env=deployment.environment,
            stdout=output,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
    try:
        yield Daemon(process, log)
    finally:
        stop_group(process)


@pytest.fixture(scope="module", autouse=True)
def figures() -> Iterator[None]:
    """Prints what the tests measured (`pytest -s`), for docs/team-deployment.md."""
    yield
    print(f"\nteam deployment figures: {FIGURES}")


def stop_group(process: subprocess.Popen[bytes]) -> None:
    """SIGTERM to the process group, SIGKILL to what is left of it after 20 seconds."""
    try:
        os.killpg(process.pid, signal.SIGTERM)
        process.wait(timeout=20)
    except (ProcessLookupError, subprocess.TimeoutExpired):
        pass
    with contextlib.suppress(ProcessLookupError):
        os.killpg(process.pid, signal.SIGKILL)
    process.wait(timeout=10)


# --- GraphQL, as the UI sends it -----------------------------------------------------------

LAUNCH_BACKFILL = """
mutation($params: LaunchBackfillParams!) {
  launchPartitionBackfill(backfillParams: $params) {
    __typename
    ... on LaunchBackfillSuccess { backfillId }
    ... on PythonError { message stack }
    ... on InvalidSubsetError { message }
    ... on PartitionSetNotFoundError { message }
    ... on UnauthorizedError { message }
  }
}"""

LAUNCH_RUN = """
mutation($params: ExecutionParams!) {
  launchRun(executionParams: $params) {
    __typename
    ... on LaunchRunSuccess { run { runId } }
    ... on PythonError { message stack }
    ... on InvalidSubsetError { message }
    ... on RunConfigValidationInvalid { errors { message } }
  }
}"""

REEXECUTE = """
mutation($params: ReexecutionParams!) {
  launchRunReexecution(reexecutionParams: $params) {
    __typename
    ... on LaunchRunSuccess { run { runId } }
    ... on PythonError { message stack }
    ... on InvalidStepError { invalidStepKey }
    ... on RunConflict { message }
  }
}"""


def partitioned_assets(deployment: Deployment) -> list[str]:
    """The assets of daily_job on the daily partitions (all but model_prices)."""
    location = deployment.workspace.create_request_context().get_code_location(LOCATION)
    repository = location.get_repository("__repository__")
    return sorted(
        node.key.to_user_string()
        for node in repository.asset_graph.asset_nodes
        if node.is_partitioned
    )


# --- waiting and measuring ------------------------------------------------------------------


def wait_for(condition, timeout: float, what: str, daemon: Daemon, poll: float = 0.2):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        value = condition()
        if value:
            return value
        time.sleep(poll)
    pytest.fail(f"{what} within {timeout} s; the daemon's log ends:\n{daemon.output()}")


IN_PROGRESS = (DagsterRunStatus.STARTING, DagsterRunStatus.STARTED)
# What the tests measured, printed at the end of the module (docs/team-deployment.md)
FIGURES: dict[str, Any] = {}


def run_seconds(instance: DagsterInstance, run_id: str) -> float:
    stats = instance.get_run_stats(run_id)
    return stats.end_time - stats.launch_time


def backfill_runs(instance: DagsterInstance, backfill_id: str):
    return instance.get_runs(filters=RunsFilter(tags={"dagster/backfill": backfill_id}))


def most_at_once(instance: DagsterInstance, run_ids: list[str]) -> int:
    """The most runs in progress at one moment: each from its launch to its end."""
    edges = []
    for run_id in run_ids:
        stats = instance.get_run_stats(run_id)
        edges += [(stats.launch_time, 1), (stats.end_time, -1)]
    running = most = 0
    for _, step in sorted(edges):  # an end before a launch at the same instant
        running += step
        most = max(most, running)
    return most


def materialized(instance: DagsterInstance, run_ids: list[str]) -> Counter[tuple[str, str]]:
    """How many times each (asset, partition) was materialised by these runs."""
    counts: Counter[tuple[str, str]] = Counter()
    for run_id in run_ids:
        for entry in instance.all_logs(run_id, of_type=DagsterEventType.ASSET_MATERIALIZATION):
            materialization = entry.dagster_event.event_specific_data.materialization
            counts[(materialization.asset_key.to_user_string(), materialization.partition)] += 1
    return counts


def left_out(instance: DagsterInstance, run_ids: list[str]) -> dict[str, list[str]]:
    """The dates the insight steps left out, their windows incomplete when they ran."""
    dates: dict[str, list[str]] = {}
    for run_id in run_ids:
        for entry in instance.all_logs(run_id, of_type=DagsterEventType.ASSET_MATERIALIZATION):
            materialization = entry.dagster_event.event_specific_data.materialization
            for name in ("skipped_as_of_dates", "skipped_days"):
                if name in materialization.metadata and materialization.metadata[name].value:
                    dates.setdefault(materialization.asset_key.to_user_string(), []).extend(
                        materialization.metadata[name].value
                    )
    return dates


def run_range(run) -> tuple[str, str]:
    """The first and last day of a backfill run (a range, even of one day)."""
    return run.tags["dagster/asset_partition_range_start"], run.tags[
        "dagster/asset_partition_range_end"
    ]


# --- reading the warehouse ------------------------------------------------------------------


def duplicate_keys(lake: duckdb.DuckDBPyConnection) -> dict[str, int]:
    """Rows sharing their table's key, by table: none when every value landed once."""
    duplicates = {}
    for spec in LAKE_TABLES:
        key = ", ".join(spec.key)
        (extra,) = lake.execute(
            f"select count(*) - count(distinct ({key})) from {spec.name}"
        ).fetchone()
        if extra:
            duplicates[spec.name] = extra
    return duplicates


def catalog_tables(catalog_url: str) -> dict[str, str]:
    """Each table of the Iceberg catalog, with the location its metadata file is under."""
    engine = sqlalchemy.create_engine(catalog_url)
    try:
        with engine.connect() as connection:
            rows = connection.execute(
                sqlalchemy.text("select table_name, metadata_location from iceberg_tables")
            ).fetchall()
    finally:
        engine.dispose()
    return {name: location.split("/metadata/")[0] for name, location in rows}


def events_per_day(lake: duckdb.DuckDBPyConnection, first: dt.date, last: dt.date):
    """(day, rows, distinct ids) of the lake's events."""
    return lake.execute(
        "select event_date, count(*), count(distinct id) from events"
        " where event_date between $1 and $2 group by 1 order by 1",
        [first, last],
    ).fetchall()


def source_per_day(source: Source, first: dt.date, last: dt.date):
    """(day, rows, distinct ids) of the source's events."""
    with psycopg.connect(source.dsn) as connection:
        return connection.execute(
            sql.SQL(
                "select created_at::date, count(*), count(distinct id) from {}"
                " where created_at::date between %s and %s group by 1 order by 1"
            ).format(sql.Identifier(*source.table.split("."))),
            (first, last),
        ).fetchall()


def daily_metrics(lake: duckdb.DuckDBPyConnection, first: dt.date, last: dt.date):
    return lake.execute(
        "select date, total_messages, total_tokens, event_count from daily_metrics"
        " where organization_id = $1 and date between $2 and $3 order by date",
        [ORG, first, last],
    ).fetchall()


# --- the tests ------------------------------------------------------------------------------


def test_the_kubernetes_instance_is_the_team_instance_with_a_pod_per_run():
    """Not run on a cluster here: the file stays the tested one plus its run launcher."""
    kubernetes = yaml.safe_load(K8S_INSTANCE.read_text())
    launcher = kubernetes.pop("run_launcher")
    assert kubernetes == INSTANCE_SETTINGS
    assert (launcher["module"], launcher["class"]) == ("dagster_k8s", "K8sRunLauncher")
    assert {"job_namespace", "service_account_name", "instance_config_map"} <= set(
        launcher["config"]
    )


@dataclass
class Backfill:
    """The module's backfill, once its runs have ended."""

    id: str
    days: list[str]
    runs: list[DagsterRun]
    most_seen_in_progress: int


@pytest.fixture(scope="module")
def backfill(deployment: Deployment, request: pytest.FixtureRequest) -> Backfill:
    """The backfill of BACKFILL_DAYS as the UI launches "Materialize" of daily_job over a
    range: a job backfill, one run of every asset of the job (the prices included) per
    ANALYTICS_BACKFILL_DAYS_PER_RUN days. Launched before the daemon starts: the backfill
    daemon looks for work as it starts, then every 30 s, so it takes it up at once."""
    deployment.source.insert(*BACKFILL_EVENTS)
    instance = deployment.instance
    days = [day.isoformat() for day in BACKFILL_DAYS]
    started = time.monotonic()
    launched = deployment.graphql(
        LAUNCH_BACKFILL,
        {
            "params": {
                "selector": {
                    "partitionSetName": "daily_job_partition_set",
                    "repositorySelector": {
                        "repositoryName": "__repository__",
                        "repositoryLocationName": LOCATION,
                    },
                },
                "partitionNames": days,
                "fromFailure": False,
            }
        },
    )["launchPartitionBackfill"]
    assert launched["__typename"] == "LaunchBackfillSuccess", launched
    backfill_id = launched["backfillId"]
    daemon = request.getfixturevalue("daemon")
    most_seen = 0

    def runs_ended() -> bool:
        nonlocal most_seen
        runs = backfill_runs(instance, backfill_id)
        most_seen = max(most_seen, sum(run.status in IN_PROGRESS for run in runs))
        submitted = instance.get_backfill(backfill_id).last_submitted_partition_name == days[-1]
        return submitted and all(run.is_finished for run in runs)

    wait_for(runs_ended, 300, "the backfill's runs did not end", daemon)
    FIGURES["backfill_runs_seconds"] = round(time.monotonic() - started, 1)
    return Backfill(backfill_id, days, backfill_runs(instance, backfill_id), most_seen)


def test_a_backfill_is_split_into_runs_of_two_days_at_most_two_at_once(deployment, backfill):
    instance = deployment.instance
    days = backfill.days
    run_ids = [run.run_id for run in backfill.runs]
    FIGURES["backfill_runs"] = len(run_ids)
    FIGURES["run_seconds"] = [round(run_seconds(instance, run_id), 1) for run_id in run_ids]
    FIGURES["most_in_progress_at_once"] = most_at_once(instance, run_ids)
    FIGURES["as_of_dates_left_out"] = left_out(instance, run_ids)

    assert [run.status for run in backfill.runs] == [DagsterRunStatus.SUCCESS] * len(run_ids)
    # split by the backfill policy: runs of two days (the last one the remainder), each of
    # every asset of the job
    assert sorted(run_range(run) for run in backfill.runs) == [
        (days[0], days[1]),
        (days[2], days[3]),
        (days[4], days[4]),
    ]
    # never more than the queue's limit at once, from each run's launch to its end: the
    # third run waited for a free slot
    assert backfill.most_seen_in_progress <= MAX_CONCURRENT_RUNS
    assert FIGURES["most_in_progress_at_once"] == MAX_CONCURRENT_RUNS
    # every partition of every asset materialised once, the prices once a run
    assets = partitioned_assets(deployment)
    assert materialized(instance, run_ids) == Counter(
        {
            **{(name, day): 1 for name in assets for day in days},
            ("model_prices", None): len(run_ids),
        }
    )
    # and every value landed once
    first, last = BACKFILL_DAYS[0], BACKFILL_DAYS[-1]
    with deployment.lake() as lake:
        assert daily_metrics(lake, first, last) == BACKFILL_DAILY_METRICS
        assert events_per_day(lake, first, last) == [
            (day, count, count) for day, count in sorted(Counter(BACKFILL_EVENT_DAYS).items())
        ]
        assert events_per_day(lake, first, last) == source_per_day(deployment.source, first, last)
        assert duplicate_keys(lake) == {}
    # every table is in the PostgreSQL catalog, its files in the bucket, none on local disk
    assert catalog_tables(deployment.catalog_url) == {
        spec.name: deployment.bucket.uri(f"warehouse/analytics/{spec.name}") for spec in LAKE_TABLES
    }
    assert any(key.endswith(".parquet") for key in deployment.bucket.keys("warehouse/analytics/"))
    assert list((deployment.working_dir / "local").rglob("*.parquet")) == []


def insert_busy_day(source: Source) -> None:
    """BUSY_EVENTS messages of 10 tokens on BUSY_DAY, one a second from midnight."""
    source.execute(
        "insert into {table} (id, organization_id, event_type, properties, user_id, created_at)"
        f" select gen_random_uuid(), '{ORG}', 'message.sent', '{{{{\"tokens\": 10}}}}',"
        f" '{USER}', timestamp '{BUSY_DAY}' + n * interval '1 second'"
        f" from generate_series(0, {BUSY_EVENTS - 1}) as n"
    )


def worker_pid(instance: DagsterInstance, run_id: str) -> int | None:
    """The run worker's process id, from the event its code server logs at its launch."""
    for entry in instance.all_logs(run_id, of_type=DagsterEventType.ENGINE_EVENT):
        found = re.search(r"Started process for run \(pid: (\d+)\)", entry.message or "")
        if found:
            return int(found.group(1))
    return None


def step_started(instance: DagsterInstance, run_id: str, step: str) -> bool:
    return any(
        entry.step_key == step
        for entry in instance.all_logs(run_id, of_type=DagsterEventType.STEP_START)
    )


def test_a_killed_run_worker_is_failed_and_its_re_execution_lands_every_value_once(
    deployment, daemon
):
    insert_busy_day(deployment.source)
    instance = deployment.instance
    # BUSY_DAY's extraction and daily tables (and the prices they are priced with), as
    # one run of daily_job: the UI's "Materialize selected" of one partition
    selection = ["model_prices", "events", "organization_timezones", *DAILY_TABLE_NAMES]
    launched = deployment.graphql(
        LAUNCH_RUN,
        {
            "params": {
                "selector": {
                    "repositoryLocationName": LOCATION,
                    "repositoryName": "__repository__",
                    "jobName": "daily_job",
                    "assetSelection": [{"path": [name]} for name in selection],
                },
                "executionMetadata": {
                    "tags": [{"key": "dagster/partition", "value": BUSY_DAY.isoformat()}]
                },
            }
        },
    )["launchRun"]
    assert launched["__typename"] == "LaunchRunSuccess", launched
    run_id = launched["run"]["runId"]

    # SIGKILL to the run worker while it extracts the day: nothing of it can report
    wait_for(lambda: step_started(instance, run_id, "events"), 120, "no extraction", daemon, 0.05)
    pid = worker_pid(instance, run_id)
    assert pid is not None
    os.kill(pid, signal.SIGKILL)
    killed = time.monotonic()
    wait_for(lambda: instance.get_run_by_id(run_id).is_finished, 60, "no failure", daemon, 0.05)
    FIGURES["kill_to_failure_seconds"] = round(time.monotonic() - killed, 2)

    assert instance.get_run_by_id(run_id).status == DagsterRunStatus.FAILURE
    # within the monitor's poll: the code server saw its run process die (signal 9)
    assert FIGURES["kill_to_failure_seconds"] <= MONITORING["poll_interval_seconds"]
    assert any(
        f"Run execution process for {run_id} was terminated by signal 9" in (entry.message or "")
        for entry in instance.all_logs(run_id, of_type=DagsterEventType.ENGINE_EVENT)
    )
    interrupted = materialized(instance, [run_id])
    FIGURES["killed_run_materialised"] = sorted(name for name, _ in interrupted)

    started = time.monotonic()
    reexecuted = deployment.graphql(
        REEXECUTE, {"params": {"parentRunId": run_id, "strategy": "FROM_FAILURE"}}
    )["launchRunReexecution"]
    assert reexecuted["__typename"] == "LaunchRunSuccess", reexecuted
    retry_id = reexecuted["run"]["runId"]
    wait_for(lambda: instance.get_run_by_id(retry_id).is_finished, 180, "no retry", daemon)
    FIGURES["reexecution_seconds"] = round(time.monotonic() - started, 1)
    FIGURES["reexecution_steps_seconds"] = {
        stats.step_key: round(stats.end_time - stats.start_time, 1)
        for stats in instance.get_run_step_stats(retry_id)
    }

    assert instance.get_run_by_id(retry_id).status == DagsterRunStatus.SUCCESS
    # the re-execution materialised what the killed run had not, and only that
    everything = Counter(
        {
            ("model_prices", None): 1,
            **{(name, BUSY_DAY.isoformat()): 1 for name in selection if name != "model_prices"},
        }
    )
    assert interrupted != everything
    assert interrupted + materialized(instance, [retry_id]) == everything
    # every event of the day once, and counted once
    with deployment.lake() as lake:
        assert events_per_day(lake, BUSY_DAY, BUSY_DAY) == [(BUSY_DAY, BUSY_EVENTS, BUSY_EVENTS)]
        assert events_per_day(lake, BUSY_DAY, BUSY_DAY) == source_per_day(
            deployment.source, BUSY_DAY, BUSY_DAY
        )
        assert daily_metrics(lake, BUSY_DAY, BUSY_DAY) == [
            (BUSY_DAY, BUSY_EVENTS, 10 * BUSY_EVENTS, BUSY_EVENTS)
        ]
        assert duplicate_keys(lake) == {}


def test_the_daemon_marks_the_backfill_completed(deployment, backfill, daemon):
    """At its first tick after the last run ended (after the tests above, if they ran)."""
    instance = deployment.instance
    wait_for(
        lambda: instance.get_backfill(backfill.id).status != BulkActionStatus.REQUESTED,
        60,
        "the backfill was not marked done",
        daemon,
        1,
    )
    marked = instance.get_backfill(backfill.id)
    FIGURES["backfill_seconds"] = round(
        marked.backfill_end_timestamp - marked.backfill_timestamp, 1
    )
    assert marked.status == BulkActionStatus.COMPLETED_SUCCESS
