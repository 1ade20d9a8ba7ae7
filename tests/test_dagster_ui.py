"""The Dagster UI end to end: `dagster dev` on this project, driven by headless Chromium.

The test starts `dagster dev -w workspace.yaml` (webserver and daemon, as an operator
would) with a temporary DAGSTER_HOME and a per-test source schema and warehouse, checks
the asset graph in the browser, launches a three-day backfill through the webserver's
GraphQL API (the mutation the UI's backfill dialog sends), and queries the warehouse it
built. Screenshots land in tests/artifacts/. It needs Debian's `chromium` at
/usr/bin/chromium and fails, never skips, without it: browser downloads are not possible
here, so Playwright drives the system browser.
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
import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import duckdb
import pytest
from playwright.sync_api import Page

from warehouse.tables import DAILY_TABLES, EVENTS, LAKE_TABLES, MODEL_PRICES
from warehouse.views import duckdb_path

PROJECT_ROOT = Path(__file__).resolve().parents[1]
ORG = uuid.UUID("00000000-0000-4000-8000-000000000001")
DAYS = [dt.date(2025, 3, 1), dt.date(2025, 3, 2), dt.date(2025, 3, 3)]
# the partitioned assets (model_prices is one table for every day)
ASSETS = [spec.name for spec in LAKE_TABLES if spec is not MODEL_PRICES]
STARTUP_SECONDS = 180
BACKFILL_SECONDS = 420

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
BACKFILL_STATUS = """
query Backfill($id: String!) {
  partitionBackfillOrError(backfillId: $id) {
    __typename
    ... on PartitionBackfill { status }
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
MATERIALIZED_PARTITIONS = """
query Partitions($key: AssetKeyInput!, $partitions: [String!]) {
  assetOrError(assetKey: $key) {
    ... on Asset { assetMaterializations(partitions: $partitions) { partition } }
  }
}
"""
ASSET_NODES = "{ assetNodes { assetKey { path } } }"
FINISHED = {"COMPLETED", "COMPLETED_SUCCESS", "COMPLETED_FAILED", "FAILED", "CANCELED"}


@dataclass
class DagsterUI:
    url: str
    warehouse_dir: Path
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


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def wait_until_loaded(ui: DagsterUI, process: subprocess.Popen[bytes]) -> None:
    """Waits for the webserver and the code location, failing early if `dagster dev` exits."""
    deadline = time.monotonic() + STARTUP_SECONDS
    while time.monotonic() < deadline:
        if process.poll() is not None:
            pytest.fail(f"dagster dev exited early:\n{ui.log.read_text()[-3000:]}")
        try:
            entries = ui.graphql(LOCATIONS)["workspaceOrError"]["locationEntries"]
            if entries and all(entry["loadStatus"] == "LOADED" for entry in entries):
                return
        except (urllib.error.URLError, ConnectionError):
            pass
        time.sleep(1)
    pytest.fail(
        f"dagster dev did not load within {STARTUP_SECONDS}s:\n{ui.log.read_text()[-3000:]}"
    )


def stop(process: subprocess.Popen[bytes]) -> None:
    """Interrupts `dagster dev` and its children (its own session), then kills what is left."""
    try:
        os.killpg(process.pid, signal.SIGINT)
        process.wait(timeout=20)
    except subprocess.TimeoutExpired:
        pass
    except ProcessLookupError:
        return
    with contextlib.suppress(ProcessLookupError):
        os.killpg(process.pid, signal.SIGKILL)
    process.wait()


@pytest.fixture
def dagster_ui(source, warehouse_dir, tmp_path) -> Iterator[DagsterUI]:
    source.insert(
        *[
            {
                "organization_id": ORG,
                "event_type": event_type,
                "user_id": uuid.UUID(int=index + 1),
                "created_at": f"{day.isoformat()} 10:0{index}",
            }
            for day in DAYS
            for index, event_type in enumerate(["message.sent", "conversation.started"])
        ]
    )
    dagster_home = tmp_path / "dagster_home"
    dagster_home.mkdir()
    (dagster_home / "dagster.yaml").write_text("telemetry:\n  enabled: false\n")
    port = free_port()
    env = {
        **os.environ,
        "DAGSTER_HOME": str(dagster_home),
        "ANALYTICS_SOURCE_DSN": source.dsn,
        "ANALYTICS_SOURCE_TABLE": source.table,
        "ANALYTICS_WAREHOUSE_DIR": str(warehouse_dir),
        "ANALYTICS_START_DATE": "2025-01-01",
    }
    ui = DagsterUI(f"http://127.0.0.1:{port}", warehouse_dir, tmp_path / "dagster_dev.log")
    with ui.log.open("wb") as log:
        process = subprocess.Popen(
            [
                str(Path(sys.executable).parent / "dagster"),
                "dev",
                "-w",
                "workspace.yaml",
                "-h",
                "127.0.0.1",
                "-p",
                str(port),
            ],
            cwd=PROJECT_ROOT,
            env=env,
            stdout=log,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
    try:
        wait_until_loaded(ui, process)
        yield ui
    finally:
        stop(process)


@pytest.fixture
def page(chromium) -> Page:
    return chromium.new_page(viewport={"width": 1800, "height": 3400})


def dismiss_welcome(page: Page) -> None:
    """A fresh DAGSTER_HOME greets the first visit with a community dialog."""
    skip = page.get_by_role("button", name="Skip")
    if skip.count():
        skip.click()


def launch_backfill(ui: DagsterUI) -> str:
    launched = ui.graphql(
        LAUNCH_BACKFILL,
        {
            "params": {
                "assetSelection": [{"path": [name]} for name in ASSETS],
                "partitionNames": [day.isoformat() for day in DAYS],
            }
        },
    )["launchPartitionBackfill"]
    assert launched["__typename"] == "LaunchBackfillSuccess", launched
    return launched["backfillId"]


def wait_for_backfill(ui: DagsterUI, backfill_id: str) -> str:
    deadline = time.monotonic() + BACKFILL_SECONDS
    while time.monotonic() < deadline:
        backfill = ui.graphql(BACKFILL_STATUS, {"id": backfill_id})["partitionBackfillOrError"]
        if backfill.get("status") in FINISHED:
            return backfill["status"]
        time.sleep(2)
    pytest.fail(f"backfill {backfill_id} unfinished after {BACKFILL_SECONDS}s")


def materialized(ui: DagsterUI, asset: str) -> set[str]:
    partitions = [day.isoformat() for day in DAYS]
    found = ui.graphql(
        MATERIALIZED_PARTITIONS, {"key": {"path": [asset]}, "partitions": partitions}
    )
    return {event["partition"] for event in found["assetOrError"]["assetMaterializations"]}


def test_the_ui_shows_every_asset_and_backfills_three_days(dagster_ui, page, artifacts_dir):
    (location,) = dagster_ui.graphql(LOCATIONS)["workspaceOrError"]["locationEntries"]
    assert location["locationOrLoadError"]["__typename"] == "RepositoryLocation", location

    page.goto(f"{dagster_ui.url}/locations", wait_until="networkidle")
    dismiss_welcome(page)
    page.get_by_text("analytics_warehouse").first.wait_for(state="visible", timeout=30_000)
    assert page.get_by_text("Loaded", exact=True).is_visible()

    page.goto(f"{dagster_ui.url}/asset-groups", wait_until="networkidle")
    dismiss_welcome(page)
    page.keyboard.press("Alt+e")  # the graph's "Expand all groups" shortcut
    nodes = dagster_ui.graphql(ASSET_NODES)["assetNodes"]
    every_asset = {"/".join(node["assetKey"]["path"]) for node in nodes}
    assert set(ASSETS) <= every_asset
    for name in sorted(every_asset):
        page.get_by_text(name, exact=True).first.wait_for(state="visible", timeout=30_000)
    page.screenshot(path=artifacts_dir / "asset_graph.png")

    backfill_id = launch_backfill(dagster_ui)
    assert wait_for_backfill(dagster_ui, backfill_id) == "COMPLETED_SUCCESS"

    expected = {day.isoformat() for day in DAYS}
    for name in ASSETS:
        assert expected <= materialized(dagster_ui, name), name
    with duckdb.connect(str(duckdb_path(dagster_ui.warehouse_dir)), read_only=True) as catalog:
        assert catalog.execute(
            "select date, total_messages, total_conversations, unique_users"
            " from daily_metrics order by date"
        ).fetchall() == [(day, 1, 1, 2) for day in DAYS]
        assert catalog.execute(f"select count(*) from {EVENTS.name}").fetchone() == (6,)
        for spec in DAILY_TABLES:
            catalog.execute(f"select count(*) from {spec.name}").fetchone()

    page.goto(f"{dagster_ui.url}/runs/b/{backfill_id}", wait_until="networkidle")
    dismiss_welcome(page)
    page.get_by_text(backfill_id).first.wait_for(state="visible", timeout=30_000)
    assert page.get_by_text("Succeeded", exact=True).first.is_visible()
    page.screenshot(path=artifacts_dir / "backfill.png")
