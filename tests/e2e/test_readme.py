"""The README's and the analysts' guide's promises, executed: the Quick start's run
command, and every query of docs/analysts.md against an answer worked out by hand."""

import datetime as dt
import os
import re
import subprocess
import sys
import uuid
from dataclasses import dataclass
from pathlib import Path

import duckdb
import pytest

from tests.e2e.support import fresh_source, pipeline_runner
from warehouse.settings import PROJECT_ROOT
from warehouse.views import duckdb_path

README = (PROJECT_ROOT / "README.md").read_text()
ANALYSTS = (PROJECT_ROOT / "docs" / "analysts.md").read_text()
DEMO_ORGANIZATION = "48492a28-ce06-9bde-0f4f-8e33ae26c8b9"
# the demo's second organisation, and one the queries never ask for
SECOND_ORGANIZATION = "0f53f5c1-e116-1210-a2b4-9a29ea1457be"
OTHER_ORGANIZATION = "00000000-0000-4000-8000-0000000000f1"
DEMO_AGENT = "fc8ce2bd-8539-c58e-e4c0-8e63cd9c30b9"


def _section(text: str, title: str) -> str:
    start = text.index(f"## {title}\n")
    end = text.find("\n## ", start + 1)
    return text[start : end if end != -1 else None]


def _code_blocks(text: str, language: str) -> list[str]:
    return re.findall(rf"```{language}\n(.*?)```", text, flags=re.DOTALL)


QUERIES = _code_blocks(ANALYSTS, "sql")


def test_the_guide_shows_every_question_the_platform_asks():
    for macro in ("overview(", "agent_analytics(", "top_agents_between(", "usage_trends("):
        assert any(macro in query for query in QUERIES), macro
    for macro in ("event_counts_between(", "usage_trends_local(", "organizations := ["):
        assert any(macro in query for query in QUERIES), macro
    assert any("from events" in query for query in QUERIES)


YESTERDAY = dt.datetime.now(dt.UTC).date() - dt.timedelta(days=1)
TODAY = YESTERDAY + dt.timedelta(days=1)
NOON = dt.datetime.combine(YESTERDAY, dt.time(12))


@pytest.fixture(scope="module")
def demo_like_warehouse(postgres_dsn, tmp_path_factory):
    """Yesterday's events of the demo's organisation and agent, one of them invalid, and
    a message of two other organisations; materialised over the day before too (empty)."""
    warehouse_dir = tmp_path_factory.mktemp("readme") / "warehouse"
    at = f"{YESTERDAY} 12:00"
    agent = {"organization_id": DEMO_ORGANIZATION, "resource_type": "agent"}
    with fresh_source(postgres_dsn) as source:
        source.insert(
            {
                **agent,
                "resource_id": DEMO_AGENT,
                "event_type": "conversation.started",
                "created_at": at,
            },
            {**agent, "resource_id": DEMO_AGENT, "event_type": "message.sent", "created_at": at},
            {
                **agent,
                "resource_id": DEMO_AGENT,
                "event_type": "message.received",
                "properties": {"tokens": 12, "responseTime": 800},
                "created_at": at,
            },
            {
                **agent,
                "resource_id": DEMO_AGENT,
                "event_type": "message.rated",
                "properties": {"rating": 5},
                "created_at": at,
            },
            {
                **agent,
                "event_type": "message.sent",
                "properties": {"tokens": "x"},
                "created_at": at,
            },
            *(
                {
                    "organization_id": organization,
                    "event_type": "message.sent",
                    "user_id": uuid.UUID(int=1),
                    "created_at": at,
                }
                for organization in (SECOND_ORGANIZATION, OTHER_ORGANIZATION)
            ),
        )
        run = pipeline_runner(source, warehouse_dir)
        assert run(str(YESTERDAY - dt.timedelta(days=1)), str(YESTERDAY)).success
    return warehouse_dir


@dataclass(frozen=True)
class Refused:
    """A query the warehouse answers with a refusal: its sentence."""

    sentence: str


def _uuid(text: str) -> uuid.UUID:
    return uuid.UUID(text)


# What each query of docs/analysts.md answers on `demo_like_warehouse`, worked out by hand
# from its seven events (the first day is the day before yesterday, which has none; no
# zone table: every organisation in UTC); rows are compared sorted, since some queries
# order by ties.
EXPECTED = {
    # every daily table published both days; a UTC organisation's local day is its UTC day
    "as last_complete_local_day": [(YESTERDAY - dt.timedelta(days=1), YESTERDAY, YESTERDAY)],
    "overview(utc_today() - 6, utc_today())": Refused(
        f"overview({TODAY - dt.timedelta(days=6)}, {TODAY}) needs {TODAY}, which the warehouse "
        f"does not hold (it is not over yet: today is {TODAY} UTC); the last complete day is "
        f"{YESTERDAY}"
    ),
    "round(change_pct, 1)": [
        ("agent_count", 1.0, 0.0, None),
        ("avg_response_time", 800.0, None, None),
        ("error_count", 0.0, 0.0, None),
        ("p95_response_time", 800.0, None, None),
        ("total_conversations", 1.0, 0.0, None),
        ("total_cost_usd", 0.0, 0.0, None),  # the 12 tokens have no model, so no price
        ("total_messages", 3.0, 0.0, None),
        ("total_tokens", 12.0, 0.0, None),
        ("unique_users", 0.0, 0.0, None),
        ("workflow_executions", 0.0, 0.0, None),
    ],
    # the organisation not asked for is left out
    "metric in ('total_messages', 'unique_users')": [
        (_uuid(DEMO_ORGANIZATION), "total_messages", 3.0, 0.0),
        (_uuid(DEMO_ORGANIZATION), "unique_users", 0.0, 0.0),
        (_uuid(SECOND_ORGANIZATION), "total_messages", 1.0, 0.0),
        (_uuid(SECOND_ORGANIZATION), "unique_users", 1.0, 0.0),
    ],
    "from agent_analytics(": [(1, 2, 800.0, 800.0, 800.0, 12, 0, 5.0, 1)],
    "from top_agents_between(": [(1, _uuid(DEMO_AGENT), 2, 1, 800.0, 5.0)],
    "from usage_trends(": [
        (YESTERDAY - dt.timedelta(days=back), 3 if back == 0 else 0, 1 if back == 0 else 0, 0, 0)
        for back in range(7)
    ],
    # up to yesterday, the organisation's last complete local day (in UTC)
    "from usage_trends_local(": [
        (
            YESTERDAY - dt.timedelta(days=back),
            "UTC",
            3 if back == 0 else 0,
            1 if back == 0 else 0,
            0,
        )
        for back in range(7)
    ],
    "from events": [
        (NOON, "conversation.started", "agent", None, None, None),
        (NOON, "message.rated", "agent", None, None, 5.0),
        (NOON, "message.received", "agent", 12, 800.0, None),
        (NOON, "message.sent", "agent", None, None, None),
        (NOON, "message.sent", "agent", None, None, None),
    ],
    "from event_counts_between(": [
        ("conversation.started", 1),
        ("message.rated", 1),
        ("message.received", 1),
        ("message.sent", 2),
    ],
    # the 12 tokens have no model, so no price (section 8)
    "from data_quality": [("invalid_tokens", 1), ("missing_agent_id", 1), ("unpriced_tokens", 1)],
    "from model_usage": [(None, 12, None)],
    # a day is scored against at least 14 earlier days with a row: none here
    "from metric_anomalies": [],
    "from organization_timezones": [
        (_uuid(organization), None, "UTC")
        for organization in (DEMO_ORGANIZATION, SECOND_ORGANIZATION, OTHER_ORGANIZATION)
    ],
}


def _expected(statement: str) -> list[tuple] | Refused:
    (rows,) = [rows for marker, rows in EXPECTED.items() if marker in statement]
    return rows


def _sorted(rows: list[tuple]) -> list[tuple]:
    return sorted(rows, key=lambda row: tuple((value is None, str(value)) for value in row))


def test_every_query_of_the_guide_is_checked_against_an_answer_worked_out_by_hand():
    assert len(QUERIES) == len(EXPECTED)
    for statement in QUERIES:
        _expected(statement)


def test_every_query_of_the_guide_answers_on_utc_days_whatever_the_shells_time_zone(
    demo_like_warehouse, subtests
):
    """One warehouse, every query, in shells a day ahead of UTC and 11 hours behind it."""
    for time_zone in ("Pacific/Kiritimati", "Pacific/Pago_Pago"):
        with duckdb.connect(str(duckdb_path(demo_like_warehouse)), read_only=True) as connection:
            connection.execute(f"set TimeZone = '{time_zone}'")
            for number, statement in enumerate(QUERIES):
                with subtests.test(query=number, time_zone=time_zone):
                    expected = _expected(statement)
                    if isinstance(expected, Refused):
                        with pytest.raises(duckdb.InvalidInputException) as refused:
                            connection.execute(statement).fetchall()
                        assert expected.sentence in str(refused.value)
                    else:
                        rows = connection.execute(statement).fetchall()
                        assert _sorted(rows) == _sorted(expected)


def test_every_macro_and_view_analysts_see_is_documented_in_the_guide(demo_like_warehouse):
    with duckdb.connect(str(duckdb_path(demo_like_warehouse)), read_only=True) as connection:
        macros = [
            name
            for (name,) in connection.execute(
                "select distinct function_name from duckdb_functions()"
                " where not internal and function_type in ('macro', 'table_macro')"
            ).fetchall()
        ]
        tables = [
            name
            for (name,) in connection.execute(
                "select table_name from information_schema.tables"
            ).fetchall()
        ]
    assert len(macros) >= 40 and len(tables) >= 20
    assert [name for name in macros + tables if f"`{name}" not in ANALYSTS] == []


def test_the_readme_run_command_builds_a_queryable_warehouse(tmp_path: Path):
    """The demo on a small size, with its embedded PostgreSQL, as the Quick start runs it."""
    run_command = _code_blocks(_section(README, "Quick start"), "bash")[0]
    assert run_command.strip().endswith(".venv/bin/analytics-warehouse demo")
    environment = {
        key: value for key, value in os.environ.items() if not key.startswith("ANALYTICS_")
    }
    # the test's own embedded source and warehouse, not the checkout's data/
    environment["ANALYTICS_EMBEDDED_POSTGRES"] = str(tmp_path / "postgres")
    environment["ANALYTICS_WAREHOUSE_DIR"] = str(tmp_path / "warehouse")
    environment["DAGSTER_HOME"] = str(tmp_path / "dagster_home")
    demo = subprocess.run(
        [
            str(Path(sys.executable).with_name("analytics-warehouse")),
            "demo",
            "--days",
            "2",
            "--events-per-day",
            "300",
        ],
        env=environment,
        cwd=tmp_path,  # the demo writes its settings to the working directory's .env
        capture_output=True,
        text=True,
        timeout=600,
        check=False,
    )
    assert demo.returncode == 0, demo.stderr
    analytics = tmp_path / "warehouse" / "analytics.duckdb"
    assert f"DuckDB views and macros:    {analytics}" in demo.stdout
    assert analytics.exists()
    assert "Busiest organisations" in demo.stdout
    assert "select * from overview(" in demo.stdout
