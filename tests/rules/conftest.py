"""The fast layer: the contract's rules on the functional core, over DuckDB alone.

A test writes its events by hand into a `Source`, materialises days with `run_pipeline`
(every table, computed in memory by the same functions the assets call) and reads the
result with `query`, through the same views and macros as `analytics.duckdb`. No
PostgreSQL, no Iceberg, no Dagster: the end-to-end layer (`tests/e2e/`) shows those.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest

from tests.rules.memory_warehouse import MemoryWarehouse, Source


@pytest.fixture
def source() -> Source:
    return Source()


@pytest.fixture
def warehouse(source: Source) -> MemoryWarehouse:
    return MemoryWarehouse(source)


@pytest.fixture
def run_pipeline(warehouse: MemoryWarehouse) -> Callable[..., None]:
    return warehouse.materialize


@pytest.fixture
def query(warehouse: MemoryWarehouse) -> Callable[..., list[tuple[Any, ...]]]:
    return warehouse.query
