"""The README's promises, executed: every query it shows, and its run command."""

import datetime as dt
import os
import re
import subprocess
import sys
from pathlib import Path

import pytest

from warehouse.settings import PROJECT_ROOT

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
    yesterday = dt.datetime.now(dt.UTC).date() - dt.timedelta(days=1)
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


@pytest.mark.parametrize("statement", QUERIES, ids=[f"query{i}" for i in range(len(QUERIES))])
def test_every_readme_query_answers_on_a_fresh_warehouse(
    statement, recent_demo_like_warehouse, query
):
    assert query(statement), "the README shows an answer, so the query must return rows"


def test_the_readme_run_command_builds_a_queryable_warehouse(tmp_path: Path):
    """The demo on a small size, with its embedded PostgreSQL, as the Quick start runs it."""
    run_command = _code_blocks(_section("Quick start"), "bash")[0]
    assert run_command.strip().endswith(".venv/bin/analytics-warehouse demo")
    environment = {
        key: value for key, value in os.environ.items() if not key.startswith("ANALYTICS_")
    }
    environment["ANALYTICS_WAREHOUSE_DIR"] = str(tmp_path / "warehouse")
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
