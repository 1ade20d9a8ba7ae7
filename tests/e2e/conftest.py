"""The end-to-end layer's fixtures: a real PostgreSQL, a fresh source table per test, a
warehouse folder per test, runs through Dagster, and Debian's Chromium.

The PostgreSQL at 127.0.0.1:5432 (user postgres, trust) is used when it answers;
otherwise an embedded one is started for the session. Every test gets its own schema,
dropped afterwards, and its own warehouse folder. `run_pipeline` materialises every asset
unless told which: a test that reads only some tables names them with `select=` or
`@pytest.mark.assets(...)` (on the test, or as the module's `pytestmark`), and only those
assets and what they need upstream are run. The helpers the tests import are in
`tests/e2e/support.py`.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from tests.e2e.support import (
    CHROMIUM,
    CHROMIUM_ARGS,
    PipelineRunner,
    Query,
    Selection,
    Source,
    fresh_source,
    lakehouse_resource,
    pipeline_runner,
    warehouse_query,
)
from warehouse.embedded_postgres import local_or_embedded_postgres
from warehouse.storage.catalog import Lakehouse


@pytest.fixture(scope="session")
def postgres_dsn(tmp_path_factory: pytest.TempPathFactory) -> str:
    return local_or_embedded_postgres(tmp_path_factory.mktemp("pgdata"))


@pytest.fixture
def source(postgres_dsn: str) -> Iterator[Source]:
    with fresh_source(postgres_dsn) as created:
        yield created


@pytest.fixture
def warehouse_dir(tmp_path: Path) -> Path:
    return tmp_path / "warehouse"


@pytest.fixture
def lakehouse(warehouse_dir: Path) -> Lakehouse:
    return lakehouse_resource(warehouse_dir).open()


def pytest_configure(config: pytest.Config) -> None:
    config.addinivalue_line(
        "markers",
        "assets(*names): the assets (or one AssetSelection) run_pipeline materialises by "
        "default, with everything upstream of them (with no name or no mark, every asset)",
    )


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


@pytest.fixture
def query(warehouse_dir: Path) -> Query:
    return warehouse_query(warehouse_dir)


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
