"""The validity rules of numeric properties (docs/contract.md, sections 1 and 4).

A valid value reaches the typed column of `events` and the metrics; an invalid one is
NULL there, counts as missing for every metric and raises its `data_quality` issue; an
absent key or JSON null is missing but not invalid. Every case is one event of an agent
on a day of its own, so a single materialisation over all the days serves every case and
each day's tables show that case alone. Each case's JSON text is the text PostgreSQL's
jsonb gives back for it, unchanged, so the source's typing plays no part in these cases
(tests/e2e/test_validity_rules.py runs the `tokens` cases through it).
"""

from __future__ import annotations

import datetime as dt
import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

import duckdb
import pytest

from tests.rules.memory_warehouse import MemoryWarehouse, Source

ORG = uuid.UUID("00000000-0000-4000-8000-00000000000a")
AGENT = uuid.UUID("00000000-0000-4000-8000-0000000000a1")
FIRST_DAY = dt.date(2025, 1, 1)


@dataclass(frozen=True)
class Case:
    """One event's properties and what the contract makes of them."""

    name: str
    event_type: str
    properties: str | None
    tokens: int | None = None
    response_time_ms: float | None = None
    rating: float | None = None
    issues: tuple[str, ...] = ()


TOKENS = [
    Case("integer", "message.sent", '{"tokens": 150}', tokens=150),
    Case("zero", "message.sent", '{"tokens": 0}', tokens=0),
    # 150.0 is a JSON number with an integral value: valid (type_events.sql decides so).
    Case("integral 150.0", "message.sent", '{"tokens": 150.0}', tokens=150),
    Case("on any event type", "conversation.started", '{"tokens": 7}', tokens=7),
    Case("string", "message.sent", '{"tokens": "150"}', issues=("invalid_tokens",)),
    Case("negative", "message.sent", '{"tokens": -5}', issues=("invalid_tokens",)),
    Case("boolean", "message.sent", '{"tokens": true}', issues=("invalid_tokens",)),
    Case("object", "message.sent", '{"tokens": {"n": 150}}', issues=("invalid_tokens",)),
    Case("array", "message.sent", '{"tokens": [150]}', issues=("invalid_tokens",)),
    Case("fractional", "message.sent", '{"tokens": 12.5}', issues=("invalid_tokens",)),
    Case("invalid on any type", "agent.created", '{"tokens": "x"}', issues=("invalid_tokens",)),
]

RESPONSE_TIMES = [
    Case("integer", "message.received", '{"responseTime": 1200}', response_time_ms=1200),
    Case("fractional", "message.received", '{"responseTime": 12.5}', response_time_ms=12.5),
    Case("zero", "message.received", '{"responseTime": 0}', response_time_ms=0),
    Case(
        "negative",
        "message.received",
        '{"responseTime": -5}',
        issues=("invalid_response_time",),
    ),
    Case(
        "string",
        "message.received",
        '{"responseTime": "1200"}',
        issues=("invalid_response_time",),
    ),
    Case(
        "boolean",
        "message.received",
        '{"responseTime": false}',
        issues=("invalid_response_time",),
    ),
]

RATINGS = [
    Case("1", "message.rated", '{"rating": 1}', rating=1),
    Case("5", "message.rated", '{"rating": 5}', rating=5),
    Case("4", "message.rated", '{"rating": 4}', rating=4),
    Case("4.5", "message.rated", '{"rating": 4.5}', rating=4.5),
    Case("0", "message.rated", '{"rating": 0}', issues=("invalid_rating",)),
    Case("6", "message.rated", '{"rating": 6}', issues=("invalid_rating",)),
    Case("7", "message.rated", '{"rating": 7}', issues=("invalid_rating",)),
    Case("string", "message.rated", '{"rating": "5"}', issues=("invalid_rating",)),
]

MISSING = [
    Case("tokens null", "message.sent", '{"tokens": null}'),
    Case("tokens absent", "message.sent", '{"other": 1}'),
    Case("responseTime null", "message.received", '{"responseTime": null}'),
    Case("responseTime absent", "message.received", "{}"),
    Case("rating null", "message.rated", '{"rating": null}'),
    Case("rating absent", "message.rated", '{"comment": "ok"}'),
]

MALFORMED = [
    Case(name, event_type, properties, issues=("malformed_properties",))
    for name, event_type, properties in [
        ("array", "message.received", '[{"tokens": 5, "responseTime": 100}]'),
        ("string", "message.received", '"{\\"tokens\\": 5, \\"responseTime\\": 100}"'),
        ("number", "message.rated", "5"),
        ("JSON null", "message.rated", "null"),
    ]
]

SQL_NULL = [
    Case("message.received", "message.received", None),
    Case("message.rated", "message.rated", None),
]

# The typed columns apply the rules on every event type; only the issues and the
# metrics are tied to message.received and message.rated.
OTHER_EVENT_TYPES = [
    Case(
        "responseTime on message.sent",
        "message.sent",
        '{"responseTime": 300}',
        response_time_ms=300,
    ),
    Case("invalid responseTime on message.sent", "message.sent", '{"responseTime": "x"}'),
    Case("rating on message.received", "message.received", '{"rating": 4}', rating=4),
    Case("invalid rating on message.sent", "message.sent", '{"rating": 9}'),
]

ALL_CASES = [
    *TOKENS,
    *RESPONSE_TIMES,
    *RATINGS,
    *MISSING,
    *MALFORMED,
    *SQL_NULL,
    *OTHER_EVENT_TYPES,
]


def day_of(case: Case) -> dt.date:
    return FIRST_DAY + dt.timedelta(days=ALL_CASES.index(case))


def ids(cases: list[Case]) -> list[str]:
    return [case.name for case in cases]


@dataclass
class Lake:
    """The warehouse's views, opened once for every case (opening them parses the macros)."""

    connection: duckdb.DuckDBPyConnection

    def query(self, statement: str, case: Case) -> list[tuple[Any, ...]]:
        return self.connection.execute(statement, [day_of(case)]).fetchall()

    def typed(self, case: Case) -> tuple[Any, ...]:
        (row,) = self.query(
            "select tokens, response_time_ms, rating from events where event_date = ?", case
        )
        return row

    def issues(self, case: Case) -> tuple[str, ...]:
        """The day's validity issues (section 1); a price for valid tokens is section 8's,
        tested in test_costs.py, so `unpriced_tokens` is left out here."""
        rows = self.query(
            "select issue from data_quality where date = ? and issue <> 'unpriced_tokens'"
            " order by issue",
            case,
        )
        return tuple(issue for (issue,) in rows)

    def daily_metrics(self, case: Case) -> tuple[Any, ...]:
        (row,) = self.query(
            "select event_count, total_tokens, avg_response_time, p50_response_time,"
            " p95_response_time from daily_metrics where date = ?",
            case,
        )
        return row

    def agent_metrics(self, case: Case) -> tuple[Any, ...]:
        (row,) = self.query(
            "select total_tokens, avg_response_time, satisfaction_score, rating_count"
            " from agent_metrics where date = ?",
            case,
        )
        return row


@pytest.fixture(scope="module")
def lake() -> Iterator[Lake]:
    """Every case as one agent event on its own day, materialised in one go."""
    source = Source()
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
            for case in ALL_CASES
        ]
    )
    warehouse = MemoryWarehouse(source)
    # Only the tables the tests read: the insights are not what these rules are about,
    # and each would be computed for every case's day.
    warehouse.materialize(
        FIRST_DAY,
        day_of(ALL_CASES[-1]),
        steps={"events", "organization_timezones", "daily_tables"},
    )
    with warehouse.connect() as connection:
        yield Lake(connection)


def expected_typed(case: Case) -> tuple[Any, ...]:
    return (case.tokens, case.response_time_ms, case.rating)


@pytest.mark.parametrize("case", TOKENS, ids=ids(TOKENS))
def test_tokens_is_valid_only_as_an_integral_json_number_at_least_zero(lake, case):
    assert lake.typed(case) == expected_typed(case)
    assert lake.issues(case) == case.issues
    assert lake.daily_metrics(case)[1] == (case.tokens or 0)
    assert lake.agent_metrics(case)[0] == (case.tokens or 0)


@pytest.mark.parametrize("case", RESPONSE_TIMES, ids=ids(RESPONSE_TIMES))
def test_response_time_is_valid_only_as_a_json_number_at_least_zero(lake, case):
    assert lake.typed(case) == expected_typed(case)
    assert lake.issues(case) == case.issues
    value = case.response_time_ms
    assert lake.daily_metrics(case)[2:] == (value, value, value)
    assert lake.agent_metrics(case)[1] == value


@pytest.mark.parametrize("case", RATINGS, ids=ids(RATINGS))
def test_rating_is_valid_only_as_a_json_number_from_1_to_5(lake, case):
    assert lake.typed(case) == expected_typed(case)
    assert lake.issues(case) == case.issues
    assert lake.agent_metrics(case)[2:] == (case.rating, 1 if case.rating is not None else 0)


@pytest.mark.parametrize("case", MISSING, ids=ids(MISSING))
def test_absent_key_or_json_null_is_missing_not_invalid(lake, case):
    assert lake.typed(case) == (None, None, None)
    assert lake.issues(case) == ()
    assert lake.daily_metrics(case) == (1, 0, None, None, None)
    assert lake.agent_metrics(case) == (0, None, None, 0)


@pytest.mark.parametrize("case", MALFORMED, ids=ids(MALFORMED))
def test_properties_that_is_not_a_json_object_is_malformed_with_every_property_missing(lake, case):
    assert lake.typed(case) == (None, None, None)
    assert lake.issues(case) == ("malformed_properties",)
    assert lake.daily_metrics(case) == (1, 0, None, None, None)
    assert lake.agent_metrics(case) == (0, None, None, 0)


@pytest.mark.parametrize("case", SQL_NULL, ids=ids(SQL_NULL))
def test_sql_null_properties_is_an_empty_object_without_issue(lake, case):
    assert lake.typed(case) == (None, None, None)
    assert lake.issues(case) == ()
    assert lake.daily_metrics(case) == (1, 0, None, None, None)
    assert lake.agent_metrics(case) == (0, None, None, 0)


@pytest.mark.parametrize("case", OTHER_EVENT_TYPES, ids=ids(OTHER_EVENT_TYPES))
def test_typed_columns_apply_the_rules_on_every_event_type_but_metrics_read_only_theirs(lake, case):
    assert lake.typed(case) == expected_typed(case)
    assert lake.issues(case) == ()
    assert lake.daily_metrics(case) == (1, 0, None, None, None)
    assert lake.agent_metrics(case) == (0, None, None, 0)
