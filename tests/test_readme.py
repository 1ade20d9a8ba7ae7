"""The README's promises, executed: every query it shows, and its run command."""

import datetime as dt
import os
import re
import subprocess
import sys
import uuid
from pathlib import Path

import duckdb
import pytest

from warehouse.settings import PROJECT_ROOT
from warehouse.views import duckdb_path

README = (PROJECT_ROOT / "README.md").read_text()
DEMO_ORGANIZATION = "48492a28-ce06-9bde-0f4f-8e33ae26c8b9"
DEMO_AGENT = "fc8ce2bd-8539-c58e-e4c0-8e63cd9c30b9"


def _section(title: str) -> str:
    start = README.index(f"## {title}\n")
    end = README.find("\n## ", start + 1)
    return README[start : end if end != -1 else None]


def _code_blocks(text: str, language: str) -> list[str]:
    return re.findall(rf"```{language}\n(.*?)```", text, flags=re.DOTALL)


QUERIES = _code_blocks(_section("Query the warehouse"), "sql")


def test_the_query_section_shows_every_question_the_platform_asks():
    section = _section("Query the warehouse")
    for macro in ("overview(", "agent_analytics(", "top_agents_between(", "usage_trends("):
        assert macro in section
    assert "from events" in section and "event_counts_between(" in section


@pytest.fixture
def recent_demo_like_warehouse(source, run_pipeline):
    """Yesterday's events of the demo's organisation and agent, one of them invalid."""
    yesterday = YESTERDAY
    at = f"{yesterday} 12:00"
    agent = {"organization_id": DEMO_ORGANIZATION, "resource_type": "agent"}
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
        {**agent, "event_type": "message.sent", "properties": {"tokens": "x"}, "created_at": at},
    )
    assert run_pipeline(str(yesterday - dt.timedelta(days=1)), str(yesterday)).success


YESTERDAY = dt.datetime.now(dt.UTC).date() - dt.timedelta(days=1)
NOON = dt.datetime.combine(YESTERDAY, dt.time(12))
# What each README query answers on `recent_demo_like_warehouse`, worked out by hand from
# its five events; rows are compared sorted, since the README orders some by ties.
EXPECTED = {
    "from overview(": [
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
    "from agent_analytics(": [(1, 2, 800.0, 800.0, 800.0, 12, 0, 5.0, 1)],
    "from top_agents_between(": [(1, uuid.UUID(DEMO_AGENT), 2, 1, 800.0, 5.0)],
    "from usage_trends(": [
        (YESTERDAY - dt.timedelta(days=back), 3 if back == 0 else 0, 1 if back == 0 else 0, 0, 0)
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
}


def _expected(statement: str) -> list[tuple]:
    (rows,) = [rows for marker, rows in EXPECTED.items() if marker in statement]
    return rows


def _sorted(rows: list[tuple]) -> list[tuple]:
    return sorted(rows, key=lambda row: tuple((value is None, str(value)) for value in row))


def test_every_readme_query_is_checked_against_an_answer_worked_out_by_hand():
    assert len(QUERIES) == len(EXPECTED)
    for statement in QUERIES:
        _expected(statement)


def test_every_readme_query_answers_on_utc_days_whatever_the_shells_time_zone(
    recent_demo_like_warehouse, warehouse_dir, subtests
):
    """One warehouse, every query, in shells a day ahead of UTC and 11 hours behind it."""
    for time_zone in ("Pacific/Kiritimati", "Pacific/Pago_Pago"):
        with duckdb.connect(str(duckdb_path(warehouse_dir)), read_only=True) as connection:
            connection.execute(f"set TimeZone = '{time_zone}'")
            for number, statement in enumerate(QUERIES):
                with subtests.test(query=number, time_zone=time_zone):
                    rows = connection.execute(statement).fetchall()
                    assert _sorted(rows) == _sorted(_expected(statement))


def test_the_readme_run_command_builds_a_queryable_warehouse(tmp_path: Path):
    """The demo on a small size, with its embedded PostgreSQL, as the Quick start runs it."""
    run_command = _code_blocks(_section("Quick start"), "bash")[0]
    assert run_command.strip().endswith(".venv/bin/analytics-warehouse demo")
    environment = {
        key: value for key, value in os.environ.items() if not key.startswith("ANALYTICS_")
    }
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


def test_every_macro_analysts_see_is_documented_in_the_query_section():
    macros = re.findall(
        r"create or replace macro (\w+)", (PROJECT_ROOT / "sql/catalog/macros.sql").read_text()
    )
    section = _section("Query the warehouse")
    assert len(macros) >= 14
    assert [name for name in macros if f"`{name}" not in section] == []
