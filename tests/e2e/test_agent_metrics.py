"""agent_metrics (docs/contract.md, section 2) end to end: the smoke tests of the asset.

The rules are pinned in the fast layer (tests/rules/test_agent_metrics.py); here two of
them run through PostgreSQL, Dagster and the published analytics.duckdb: a range run's
rows per organisation, agent and day, and valid ratings read from the source's jsonb.
"""

import datetime as dt
import uuid

import pytest

ORG = uuid.UUID("00000000-0000-4000-8000-00000000000a")
AGENT = uuid.UUID("00000000-0000-4000-8000-0000000000a1")
OTHER_AGENT = uuid.UUID("00000000-0000-4000-8000-0000000000a2")
IDLE_AGENT = uuid.UUID("00000000-0000-4000-8000-0000000000a3")
DAY = "2025-03-01"
# Every test reads agent_metrics alone: the run is that table and what it is computed from.
pytestmark = pytest.mark.assets("agent_metrics")


def agent_event(event_type, agent=AGENT, **fields):
    return {
        "organization_id": ORG,
        "event_type": event_type,
        "resource_type": "agent",
        "resource_id": agent,
        "created_at": f"{DAY} 10:00",
        **fields,
    }


def rated(rating, agent=AGENT):
    return agent_event("message.rated", agent, properties={"rating": rating})


def metric(query, column, agent=AGENT):
    """The column's value in the one agent_metrics row of ORG and `agent`."""
    return query(
        f"select {column} from agent_metrics where organization_id = ? and agent_id = ?",
        [ORG, agent],
    )


def test_one_row_per_organisation_agent_and_day(source, run_pipeline, query):
    source.insert(
        agent_event("message.sent"),
        agent_event("message.sent"),
        agent_event("message.sent", OTHER_AGENT),
        agent_event("message.sent", created_at="2025-03-02 10:00"),
    )

    assert run_pipeline("2025-03-01", "2025-03-02").success

    assert query("select organization_id, agent_id, date from agent_metrics order by all") == [
        (ORG, AGENT, dt.date(2025, 3, 1)),
        (ORG, AGENT, dt.date(2025, 3, 2)),
        (ORG, OTHER_AGENT, dt.date(2025, 3, 1)),
    ]


def test_satisfaction_score_is_the_mean_of_valid_ratings_and_rating_count_their_number(
    source, run_pipeline, query
):
    source.insert(
        rated(5),
        rated(4),
        rated(2.5),
        rated(7),
        rated("5"),
        rated(None),
        agent_event("message.received", properties={"rating": 1}),
        rated(1, OTHER_AGENT),
        agent_event("message.sent", IDLE_AGENT),
        rated(0, IDLE_AGENT),
    )

    assert run_pipeline(DAY).success

    columns = "satisfaction_score, rating_count"
    assert metric(query, columns) == [(pytest.approx(11.5 / 3), 3)]
    assert metric(query, columns, IDLE_AGENT) == [(None, 0)]
