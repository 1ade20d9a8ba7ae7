"""What the end-to-end tests share besides fixtures (tests/e2e/conftest.py): a source
table to insert hand-written events into, the code location at its defaults, runs
through Dagster, reads of the published analytics.duckdb, and the lakehouse's own
writes for tests that set a table up by hand."""

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
from dagster import AssetSelection, ExecuteInProcessResult, materialize
from psycopg import sql

from assets.partitions import partition_range_tags
from assets.resources import LakehouseResource, SourceResource
from pipelines.configuration import load_configuration
from pipelines.definitions import build_definitions
from warehouse.demo_events import create_events_table
from warehouse.provenance import Provenance
from warehouse.storage.catalog import Lakehouse
from warehouse.storage.reading import listing
from warehouse.storage.writing import commit_partitions, stage_partition
from warehouse.tables import TableSpec
from warehouse.views import duckdb_path

# The code location with every setting at its default, as a test builds runs from it.
defs = build_definitions(load_configuration({}))

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


def lakehouse_resource(warehouse_dir: Path, **overrides: Any) -> LakehouseResource:
    """The lakehouse resource of a local warehouse with its embedded SQLite catalog."""
    return LakehouseResource(location=str(warehouse_dir), **overrides)


def replace_partition(lakehouse: Lakehouse, spec: TableSpec, day: dt.date, rows: Any) -> None:
    """Publishes `rows` as the table's partition `day`, as a step does (no settings)."""
    staged = stage_partition(lakehouse, spec, day, rows, Provenance().record(spec))
    commit_partitions(lakehouse, spec, [staged], {})


def data_files(
    lakehouse: Lakehouse,
    spec: TableSpec,
    first: dt.date | None = None,
    last: dt.date | None = None,
) -> list[str]:
    """The data files of the table's current snapshot, within [first, last] if given."""
    return list(listing(lakehouse, spec, first, last).data_files)


PipelineRunner = Callable[..., ExecuteInProcessResult]
Selection = str | Iterable[str] | AssetSelection


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
            **defs.resources,
            "source": SourceResource(dsn=source.dsn, table=source.table),
            "lakehouse": lakehouse_resource(warehouse_dir),
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


Query = Callable[..., list[tuple[Any, ...]]]


def warehouse_query(warehouse_dir: Path) -> Query:
    """Runs SQL against the published analytics.duckdb, as an analyst would."""

    def run(statement: str, parameters: Sequence[Any] | None = None) -> list[tuple[Any, ...]]:
        with duckdb.connect(str(duckdb_path(warehouse_dir)), read_only=True) as connection:
            return connection.execute(statement, parameters).fetchall()

    return run


def day(text: str) -> dt.date:
    return dt.date.fromisoformat(text)
