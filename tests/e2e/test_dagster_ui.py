"""After the quick start, the UI is a working installation: a newcomer's path, end to end.

The demo runs as the quick start runs it (no source set: its embedded PostgreSQL, which
it stops when it ends), then `analytics-warehouse ui` starts from the same folder with no
variable of the warehouse's set, so every setting the UI's runs use comes from the `.env`
the demo wrote. Headless Chromium (Debian's `chromium`; the test fails, never skips,
without it) checks the asset graph; a backfill of `daily_job` over the demo's days is
launched through the webserver's GraphQL API, the mutation the job page's "Materialize
all" dialog sends, and runs under `dagster dev`'s daemon. The demo's variables the test
does set (its source's folder, its warehouse and DAGSTER_HOME) only keep it out of the
checkout's own `data/` and `.dagster/`. Screenshots land in tests/e2e/artifacts/.
"""

import contextlib
import datetime as dt
import json
import os
import signal
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.request
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import duckdb
import pytest
from playwright.sync_api import Page

from warehouse.tables import LAKE_TABLES

COMMAND = str(Path(sys.executable).with_name("analytics-warehouse"))
DEMO_DAYS = 3
YESTERDAY = dt.datetime.now(dt.UTC).date() - dt.timedelta(days=1)
DEMO_PARTITIONS = [str(YESTERDAY - dt.timedelta(days=back)) for back in reversed(range(DEMO_DAYS))]
STARTUP_SECONDS = 180
BACKFILL_SECONDS = 420
STOP_SECONDS = 30

LAUNCH_BACKFILL = """
mutation Launch($params: LaunchBackfillParams!) {
  launchPartitionBackfill(backfillParams: $params) {
    __typename
    ... on LaunchBackfillSuccess { backfillId }
    ... on PythonError { message }
    ... on InvalidSubsetError { message }
    ... on UnauthorizedError { message }
  }
}
"""
BACKFILL = """
query Backfill($id: String!) {
  partitionBackfillOrError(backfillId: $id) {
    __typename
    ... on PartitionBackfill { status runs { id status } }
    ... on PythonError { message }
  }
}
"""
LOCATIONS = """
{
  workspaceOrError {
    ... on Workspace {
      locationEntries {
        name
        loadStatus
        locationOrLoadError { __typename ... on PythonError { message } }
      }
    }
  }
}
"""
PARTITION_KEYS = """
query Keys($key: AssetKeyInput!) {
  assetNodeOrError(assetKey: $key) { ... on AssetNode { partitionKeys } }
}
"""
INSTIGATORS = """
{
  repositoriesOrError {
    ... on RepositoryConnection {
      nodes {
        schedules { name scheduleState { status } }
        sensors { name sensorState { status } }
      }
    }
  }
}
"""
ASSET_NODES = "{ assetNodes { assetKey { path } } }"
FINISHED = {"COMPLETED", "COMPLETED_SUCCESS", "COMPLETED_FAILED", "FAILED", "CANCELED"}


@dataclass
class DagsterUI:
    url: str
    folder: Path
    log: Path

    def graphql(self, query: str, variables: dict[str, Any] | None = None) -> dict[str, Any]:
        request = urllib.request.Request(
            f"{self.url}/graphql",
            data=json.dumps({"query": query, "variables": variables or {}}).encode(),
            headers={"Content-Type": "application/json"},
        )
        with urllib.request.urlopen(request, timeout=60) as response:
            body = json.loads(response.read())
        assert "errors" not in body, body["errors"]
        return body["data"]


def newcomers_environment() -> dict[str, str]:
    """This machine's environment without any setting of the warehouse or of Dagster's."""
    return {
        key: value
        for key, value in os.environ.items()
        if not key.startswith("ANALYTICS_") and key != "DAGSTER_HOME"
    }


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def daily_metrics(folder: Path) -> list[tuple[Any, ...]]:
    with duckdb.connect(str(folder / "warehouse" / "analytics.duckdb"), read_only=True) as db:
        return db.execute(
            "select organization_id, date, total_messages, unique_users, total_tokens"
            " from daily_metrics order by all"
        ).fetchall()


@pytest.fixture(scope="module")
def demo_folder(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The folder a newcomer ran the quick start's demo in (on a few days, small)."""
    folder = tmp_path_factory.mktemp("newcomer")
    environment = newcomers_environment()
    environment.update(
        ANALYTICS_EMBEDDED_POSTGRES=str(folder / "postgres"),
        ANALYTICS_WAREHOUSE_DIR=str(folder / "warehouse"),
        DAGSTER_HOME=str(folder / "dagster_home"),
    )
    demo = subprocess.run(
        [COMMAND, "demo", "--days", str(DEMO_DAYS), "--events-per-day", "60"],
        env=environment,
        cwd=folder,
        capture_output=True,
        text=True,
        timeout=600,
        check=False,
    )
    assert demo.returncode == 0, demo.stderr
    return folder


def wait_until_loaded(ui: DagsterUI, process: subprocess.Popen[bytes]) -> None:
    """Waits for the webserver and the code location, failing early if the UI exits."""
    deadline = time.monotonic() + STARTUP_SECONDS
    while time.monotonic() < deadline:
        if process.poll() is not None:
            pytest.fail(f"analytics-warehouse ui exited early:\n{ui.log.read_text()[-3000:]}")
        try:
            entries = ui.graphql(LOCATIONS)["workspaceOrError"]["locationEntries"]
            if entries and all(entry["loadStatus"] == "LOADED" for entry in entries):
                return
        except (urllib.error.URLError, ConnectionError):
            pass
        time.sleep(1)
    pytest.fail(f"the UI did not load within {STARTUP_SECONDS}s:\n{ui.log.read_text()[-3000:]}")


def process_group_alive(pid: int) -> bool:
    try:
        os.killpg(pid, 0)
    except ProcessLookupError:
        return False
    return True


@dataclass
class RunningUI:
    ui: DagsterUI
    process: subprocess.Popen[bytes]


@pytest.fixture(scope="module")
def running_ui(demo_folder: Path) -> Iterator[RunningUI]:
    """`analytics-warehouse ui` in the demo's folder, nothing set by hand."""
    port = free_port()
    ui = DagsterUI(f"http://127.0.0.1:{port}", demo_folder, demo_folder / "ui.log")
    with ui.log.open("wb") as log:
        process = subprocess.Popen(
            [COMMAND, "ui", "--port", str(port)],
            cwd=demo_folder,
            env=newcomers_environment(),
            stdout=log,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
    try:
        wait_until_loaded(ui, process)
        yield RunningUI(ui, process)
    finally:
        with contextlib.suppress(ProcessLookupError):
            os.killpg(process.pid, signal.SIGKILL)
        process.wait()


@pytest.fixture
def page(chromium) -> Page:
    return chromium.new_page(viewport={"width": 1800, "height": 3400})


def dismiss_welcome(page: Page) -> None:
    """A fresh DAGSTER_HOME greets the first visit with a community dialog."""
    skip = page.get_by_role("button", name="Skip")
    if skip.count():
        skip.click()


def launch_job_backfill(ui: DagsterUI, partitions: list[str]) -> str:
    launched = ui.graphql(
        LAUNCH_BACKFILL,
        {
            "params": {
                "selector": {
                    "partitionSetName": "daily_job_partition_set",
                    "repositorySelector": {
                        "repositoryName": "__repository__",
                        "repositoryLocationName": "analytics_warehouse",
                    },
                },
                "partitionNames": partitions,
                "fromFailure": False,
            }
        },
    )["launchPartitionBackfill"]
    assert launched["__typename"] == "LaunchBackfillSuccess", launched
    return launched["backfillId"]


def wait_for_backfill(ui: DagsterUI, backfill_id: str) -> dict[str, Any]:
    deadline = time.monotonic() + BACKFILL_SECONDS
    while time.monotonic() < deadline:
        backfill = ui.graphql(BACKFILL, {"id": backfill_id})["partitionBackfillOrError"]
        if backfill.get("status") in FINISHED:
            return backfill
        time.sleep(2)
    pytest.fail(f"backfill {backfill_id} unfinished after {BACKFILL_SECONDS}s")


def test_the_ui_loads_the_code_location_and_shows_every_asset(running_ui, page, artifacts_dir):
    ui = running_ui.ui
    (location,) = ui.graphql(LOCATIONS)["workspaceOrError"]["locationEntries"]
    assert location["locationOrLoadError"]["__typename"] == "RepositoryLocation", location

    nodes = ui.graphql(ASSET_NODES)["assetNodes"]
    every_asset = {"/".join(node["assetKey"]["path"]) for node in nodes}
    assert {spec.name for spec in LAKE_TABLES} <= every_asset
    page.goto(f"{ui.url}/assets", wait_until="networkidle")
    dismiss_welcome(page)
    for name in sorted(every_asset):
        page.get_by_text(name, exact=True).first.wait_for(state="visible", timeout=60_000)
    page.wait_for_load_state("networkidle")
    dismiss_welcome(page)
    page.screenshot(path=artifacts_dir / "asset_catalog.png")


def test_the_partitions_begin_at_the_demos_first_day(running_ui):
    found = running_ui.ui.graphql(PARTITION_KEYS, {"key": {"path": ["daily_metrics"]}})
    keys = found["assetNodeOrError"]["partitionKeys"]

    assert keys[0] == DEMO_PARTITIONS[0]
    assert keys[-1] == DEMO_PARTITIONS[-1]


def test_the_schedule_and_the_sensors_are_running(running_ui):
    (repository,) = running_ui.ui.graphql(INSTIGATORS)["repositoriesOrError"]["nodes"]

    assert {
        schedule["name"]: schedule["scheduleState"]["status"]
        for schedule in repository["schedules"]
    } == {"daily_schedule": "RUNNING"}
    assert {sensor["sensorState"]["status"] for sensor in repository["sensors"]} == {"RUNNING"}


def test_a_backfill_from_the_ui_runs_on_the_demos_source_and_settings_in_one_run(
    running_ui, demo_folder, page, artifacts_dir
):
    ui = running_ui.ui
    built_by_the_demo = daily_metrics(demo_folder)

    started = time.monotonic()
    backfill_id = launch_job_backfill(ui, DEMO_PARTITIONS)
    backfill = wait_for_backfill(ui, backfill_id)
    print(f"a {DEMO_DAYS}-day backfill of daily_job: {time.monotonic() - started:.0f} s")

    assert backfill["status"] == "COMPLETED_SUCCESS", ui.log.read_text()[-3000:]
    assert [run["status"] for run in backfill["runs"]] == ["SUCCESS"]
    # the same source (its embedded server started again), zones and warehouse
    assert daily_metrics(demo_folder) == built_by_the_demo
    assert len(built_by_the_demo) > DEMO_DAYS
    page.goto(f"{ui.url}/runs/b/{backfill_id}", wait_until="networkidle")
    dismiss_welcome(page)
    page.get_by_text(backfill_id).first.wait_for(state="visible", timeout=30_000)
    page.get_by_text("Succeeded", exact=True).first.wait_for(state="visible", timeout=30_000)
    page.screenshot(path=artifacts_dir / "backfill.png")


def test_the_ui_stops_with_its_children_on_sigterm(running_ui):
    process = running_ui.process
    process.send_signal(signal.SIGTERM)

    assert process.wait(timeout=STOP_SECONDS) == 0
    deadline = time.monotonic() + STOP_SECONDS
    while process_group_alive(process.pid) and time.monotonic() < deadline:
        time.sleep(0.5)
    assert not process_group_alive(process.pid)
