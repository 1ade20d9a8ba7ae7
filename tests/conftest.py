"""Shared fixtures: a real PostgreSQL, a fresh source table per test, and Dagster runs.

The PostgreSQL at 127.0.0.1:5432 (user postgres, trust) is used when it answers;
otherwise an embedded one is started for the session. Every test gets its own schema,
dropped afterwards, and its own warehouse folder.

`run_pipeline` materialises every asset unless told which: a test that reads only some
tables names them with `select=` or `@pytest.mark.assets(...)` (on the test, or as the
module's `pytestmark`), and only those assets and what they need upstream are run.
"""

from __future__ import annotations

import datetime as dt
import json
import uuid
from collections.abc import Callable, Iterable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import duckdb
import psycopg
import pytest
from dagster import AssetSelection, ExecuteInProcessResult, materialize
from psycopg import sql

from assets.partitions import partition_range_tags
from assets.resources import SourceDatabase, Warehouse
from pipelines.definitions import defs
from pipelines.demo import local_or_embedded_postgres
from warehouse.demo_events import create_events_table
from warehouse.lakehouse import Lakehouse
from warehouse.settings import default_catalog_uri
from warehouse.views import duckdb_path

CHROMIUM = Path("/usr/bin/chromium")
CHROMIUM_ARGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
]


@pytest.fixture(scope="session")
def postgres_dsn(tmp_path_factory: pytest.TempPathFactory) -> str:
    return local_or_embedded_postgres(tmp_path_factory.mktemp("pgdata"))


@dataclass
class Source:
    """One test's source table, with a helper to insert hand-written events."""

    dsn: str
    table: str

    def insert(self, *events: dict[str, Any]) -> None:
        """Inserts events; `properties` is JSON text (or a dict), `created_at` a string."""
        schema, name = self.table.split(".")
        statement = sql.SQL(
            "insert into {} (id, organization_id, event_type, resource_type, resource_id,"
            " properties, user_id, created_at) values (%s, %s, %s, %s, %s, %s::jsonb, %s, %s)"
        ).format(sql.Identifier(schema, name))
        rows = [
            (
                event.get("id", uuid.uuid4()),
                event.get("organization_id"),
                event.get("event_type"),
                event.get("resource_type"),
                event.get("resource_id"),
                _json_text(event.get("properties")),
                event.get("user_id"),
                event["created_at"],
            )
            for event in events
        ]
        with psycopg.connect(self.dsn) as connection:
            connection.cursor().executemany(statement, rows)

    def execute(self, statement: str) -> None:
        with psycopg.connect(self.dsn, autocommit=True) as connection:
            connection.execute(statement.format(table=self.table))


def _json_text(properties: object) -> str | None:
    if properties is None or isinstance(properties, str):
        return properties
    return json.dumps(properties)


@contextmanager
def fresh_source(postgres_dsn: str) -> Iterator[Source]:
    """An empty source table in a schema of its own, dropped afterwards."""
    schema = f"test_{uuid.uuid4().hex[:12]}"
    table = f"{schema}.analytics_events"
    create_events_table(postgres_dsn, table)
    yield Source(dsn=postgres_dsn, table=table)
    with psycopg.connect(postgres_dsn, autocommit=True) as connection:
        connection.execute(sql.SQL("drop schema {} cascade").format(sql.Identifier(schema)))


@pytest.fixture
def source(postgres_dsn: str) -> Iterator[Source]:
    with fresh_source(postgres_dsn) as created:
        yield created


@pytest.fixture
def warehouse_dir(tmp_path: Path) -> Path:
    return tmp_path / "warehouse"


def warehouse_resource(warehouse_dir: Path, **overrides: Any) -> Warehouse:
    """The warehouse resource of a local warehouse with its embedded SQLite catalog."""
    location = str(warehouse_dir)
    settings = {
        "location": location,
        "catalog_uri": default_catalog_uri(location),
        "local_dir": location,
        **overrides,
    }
    return Warehouse(**settings)


@pytest.fixture
def lakehouse(warehouse_dir: Path) -> Lakehouse:
    return warehouse_resource(warehouse_dir).lakehouse()


PipelineRunner = Callable[..., ExecuteInProcessResult]
Selection = str | Iterable[str] | AssetSelection


def pytest_configure(config: pytest.Config) -> None:
    config.addinivalue_line(
        "markers",
        "assets(*names): the assets (or one AssetSelection) run_pipeline materialises by "
        "default, with everything upstream of them (with no name or no mark, every asset)",
    )


def with_upstream(select: Selection) -> AssetSelection:
    """The named assets (or the selection) and every asset upstream of them."""
    if isinstance(select, str):
        select = [select]
    if not isinstance(select, AssetSelection):
        select = AssetSelection.assets(*select)
    return select.upstream()


def pipeline_runner(
    source: Source, warehouse_dir: Path, select: Selection | None = None
) -> PipelineRunner:
    """Materialises assets through Dagster for one day or a single-run range.

    Every asset, unless `select` (here or in the call) names some, as asset names or an
    AssetSelection: then those and what they need upstream (`events`, `model_prices`,
    `organization_timezones`, the daily tables under an insight...), which is all most
    tests read and a fraction of the whole pipeline's time.
    """
    default = select

    def run(
        first_day: str,
        last_day: str | None = None,
        *,
        select: Selection | None = None,
        raise_on_error: bool = True,
        run_config: dict[str, Any] | None = None,
    ) -> ExecuteInProcessResult:
        resources = {
            "source": SourceDatabase(dsn=source.dsn, table=source.table),
            "warehouse": warehouse_resource(warehouse_dir),
        }
        assets = list(defs.assets or [])
        select = default if select is None else select
        selection = None if select is None else with_upstream(select)
        if last_day is None:
            return materialize(
                assets,
                resources=resources,
                partition_key=first_day,
                raise_on_error=raise_on_error,
                run_config=run_config,
                selection=selection,
            )
        return materialize(
            assets,
            resources=resources,
            tags=partition_range_tags(first_day, last_day),
            raise_on_error=raise_on_error,
            run_config=run_config,
            selection=selection,
        )

    return run


@pytest.fixture
def run_pipeline(
    request: pytest.FixtureRequest, source: Source, warehouse_dir: Path
) -> PipelineRunner:
    """`pipeline_runner` of the test's source and warehouse; `@pytest.mark.assets(*names)`
    on the test (or as its module's `pytestmark`) is its default selection."""
    marker = request.node.get_closest_marker("assets")
    marked: Selection | None = None
    if marker is not None and marker.args:
        marked = marker.args[0] if len(marker.args) == 1 else marker.args
    return pipeline_runner(source, warehouse_dir, marked)


Query = Callable[..., list[tuple[Any, ...]]]


def warehouse_query(warehouse_dir: Path) -> Query:
    """Runs SQL against the published analytics.duckdb, as an analyst would."""

    def run(statement: str, parameters: Sequence[Any] | None = None) -> list[tuple[Any, ...]]:
        with duckdb.connect(str(duckdb_path(warehouse_dir)), read_only=True) as connection:
            return connection.execute(statement, parameters).fetchall()

    return run


@pytest.fixture
def query(warehouse_dir: Path) -> Query:
    return warehouse_query(warehouse_dir)


def day(text: str) -> dt.date:
    return dt.date.fromisoformat(text)


@pytest.fixture
def artifacts_dir() -> Path:
    """Where browser tests leave their screenshots (git-ignored)."""
    directory = Path(__file__).resolve().parent / "artifacts"
    directory.mkdir(exist_ok=True)
    return directory


@pytest.fixture
def chromium() -> Iterator[Any]:
    """Debian's Chromium driven by Playwright; fails, never skips, when it is missing.

    Playwright cannot download its own browser here, so the test command installs
    Debian's `chromium` package and Playwright launches that executable.
    """
    if not CHROMIUM.exists():
        pytest.fail(
            f"{CHROMIUM} is missing: install Debian's browser with "
            "`apt-get update && apt-get install -y chromium`."
        )
    from playwright.sync_api import sync_playwright

    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=str(CHROMIUM), args=CHROMIUM_ARGS)
        try:
            yield browser
        finally:
            browser.close()
