"""The test layers: `tests/rules/` and `tests/storage/` run on DuckDB and local files alone
(the fast layer, `pytest -m "not e2e"`), `tests/e2e/` through PostgreSQL, Iceberg, S3,
Dagster and a browser (marked `e2e`). Every test runs in a temporary working directory,
so a developer's `.env` (the demo writes one) never shapes it."""

from pathlib import Path

import pytest

E2E = Path(__file__).resolve().parent / "e2e"


def pytest_configure(config: pytest.Config) -> None:
    config.addinivalue_line("markers", "e2e: end to end, through the real pieces (tests/e2e/)")


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    for item in items:
        if Path(str(item.path)).is_relative_to(E2E):
            item.add_marker(pytest.mark.e2e)


@pytest.fixture(autouse=True)
def _away_from_the_project(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(tmp_path)
