"""The validity rules of numeric properties (docs/contract.md, sections 1 and 4) through
the real source: a smoke test of the typed columns.

The rules are pinned case by case in the fast layer (tests/rules/test_validity_rules.py),
on JSON text that PostgreSQL's jsonb gives back unchanged. Here the `tokens` cases (an
integer, a number with a zero fraction, a string, a boolean, an object, an array...) go
through a jsonb column, COPY and one Dagster run over their days, and must reach
`events`, `data_quality`, `daily_metrics` and `agent_metrics` as the fast layer says.
"""

from __future__ import annotations

from collections.abc import Iterator

import duckdb
import pytest
from dagster import AssetSelection, materialize

from assets.partitions import partition_range_tags
from assets.resources import SourceResource
from tests.e2e.support import defs, fresh_source, lakehouse_resource
from tests.rules.test_validity_rules import (
    AGENT,
    FIRST_DAY,
    ORG,
    TOKENS,
    Lake,
    day_of,
    expected_typed,
    ids,
)
from warehouse.views import duckdb_path


@pytest.fixture(scope="module")
def lake(postgres_dsn: str, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Lake]:
    """Every `tokens` case as one agent event on its own day, materialised by one Dagster run."""
    warehouse_dir = tmp_path_factory.mktemp("validity") / "warehouse"
    with fresh_source(postgres_dsn) as source:
        source.insert(
            *[
                {
                    "organization_id": ORG,
                    "event_type": case.event_type,
                    "resource_type": "agent",
                    "resource_id": AGENT,
                    "properties": case.properties,
                    "created_at": f"{day_of(case)} 12:00",
                }
                for case in TOKENS
            ]
        )
        result = materialize(
            list(defs.assets or []),
            resources={
                **defs.resources,
                "source": SourceResource(dsn=source.dsn, table=source.table),
                "lakehouse": lakehouse_resource(warehouse_dir),
            },
            # Only the tables the test reads: the other daily tables and the insights are
            # not what these rules are about, and each would be computed for every case's day.
            selection=AssetSelection.assets(
                "events", "daily_metrics", "agent_metrics", "data_quality"
            ),
            tags=partition_range_tags(FIRST_DAY, max(day_of(case) for case in TOKENS)),
        )
    assert result.success
    with duckdb.connect(str(duckdb_path(warehouse_dir)), read_only=True) as connection:
        yield Lake(connection)


@pytest.mark.parametrize("case", TOKENS, ids=ids(TOKENS))
def test_tokens_is_valid_only_as_an_integral_json_number_at_least_zero(lake, case):
    assert lake.typed(case) == expected_typed(case)
    assert lake.issues(case) == case.issues
    assert lake.daily_metrics(case)[1] == (case.tokens or 0)
    assert lake.agent_metrics(case)[0] == (case.tokens or 0)
