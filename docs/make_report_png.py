"""Regenerates the documentation's demo pictures and outputs from a real default demo.

    .venv/bin/python -m docs.make_report_png

Runs the README's demo command (`analytics-warehouse demo`, its defaults: 60 days of
10,000 events) with `--seed` into a fresh schema of the PostgreSQL on 127.0.0.1:5432 (an
embedded one when none answers), with the warehouse and DAGSTER_HOME in a temporary
folder, then writes from that warehouse:

- `docs/report.png`: the report of the busiest organisation on the day before the last
  as-of date (the newest report whose last local day is complete: the last one waits for
  today's UTC day), screenshot in Debian's Chromium (`/usr/bin/chromium`) with the
  tests' launch arguments, and the date in its caption in `docs/reports.md`;
- the output box after each query of the README's "Query the warehouse" section, as
  `.venv/bin/duckdb -readonly analytics.duckdb -c "<query>"` prints it.

Nothing else in either file changes, and the schema is dropped afterwards. The README's
queries count back from `utc_today()`, so the boxes show the days before the run.
"""

from __future__ import annotations

import datetime as dt
import os
import re
import subprocess
import sys
import tempfile
import uuid
from pathlib import Path

PROJECT_ROOT = Path(__file__).resolve().parents[1]
if str(PROJECT_ROOT) not in sys.path:  # run as a plain script
    sys.path.insert(0, str(PROJECT_ROOT))

import duckdb  # noqa: E402
import psycopg  # noqa: E402
from psycopg import sql  # noqa: E402

from pipelines.demo import local_or_embedded_postgres  # noqa: E402

BIN = Path(sys.executable).parent
README = PROJECT_ROOT / "README.md"
REPORTS_DOC = PROJECT_ROOT / "docs" / "reports.md"
REPORT_PNG = PROJECT_ROOT / "docs" / "report.png"
VIEWPORT = {"width": 1200, "height": 900}
# a query block, then the output box that follows it
QUERY_AND_OUTPUT = re.compile(r"(```sql\n(.*?)```\n\n```text\n)(.*?)(```)", re.DOTALL)
CAPTION = re.compile(r"(organisation `)[0-9a-f]{8}(-…` of the demo, as of )\d{4}-\d{2}-\d{2}")


def run_demo(scratch: Path) -> tuple[Path, str, str]:
    """The default demo into a fresh schema: the warehouse folder, the DSN and the schema.

    This process keeps the demo's environment, so that importing the tests' conftest (for
    the Chromium arguments) reads the temporary warehouse's settings, not the project's.
    """
    dsn = local_or_embedded_postgres(scratch / "postgres")
    schema = f"docs_demo_{uuid.uuid4().hex[:8]}"
    warehouse = scratch / "warehouse"
    for name in [name for name in os.environ if name.startswith("ANALYTICS_")]:
        del os.environ[name]
    os.environ.update(
        ANALYTICS_SOURCE_DSN=dsn,
        ANALYTICS_SOURCE_TABLE=f"{schema}.analytics_events",
        ANALYTICS_WAREHOUSE_DIR=str(warehouse),
        DAGSTER_HOME=str(scratch / "dagster_home"),
    )
    (scratch / "dagster_home").mkdir()
    command = [str(BIN / "analytics-warehouse"), "demo", "--seed"]
    print("$", " ".join(command), f"(source table {schema}.analytics_events)", flush=True)
    subprocess.run(command, cwd=PROJECT_ROOT, check=True)
    return warehouse, dsn, schema


def busiest_organisation(database: Path) -> tuple[dt.date, str]:
    """The newest complete as-of date and the organisation with most messages in its 30 days.

    The last as-of date's local day waits for today's UTC day, so its reports are not final
    (docs/reports.md): the day before is the newest complete one.
    """
    with duckdb.connect(str(database), read_only=True) as connection:
        rows = connection.sql(
            "select as_of_date, organization_id::varchar from period_comparison"
            " where window_days = 30 and metric = 'total_messages'"
            " and as_of_date < (select max(as_of_date) from period_comparison)"
            " order by as_of_date desc, current_value desc limit 1"
        ).fetchall()
    assert rows, "the demo published no period_comparison"
    return rows[0][0], rows[0][1]


def screenshot(report: Path, output: Path) -> None:
    sys.path.insert(0, str(PROJECT_ROOT / "tests"))
    from conftest import CHROMIUM, CHROMIUM_ARGS
    from playwright.sync_api import sync_playwright

    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=str(CHROMIUM), args=CHROMIUM_ARGS)
        try:
            page = browser.new_context(offline=True, viewport=VIEWPORT).new_page()
            page.goto(report.as_uri())
            page.screenshot(path=str(output), full_page=True)
        finally:
            browser.close()


def query_output(database: Path, query: str) -> str:
    result = subprocess.run(
        [str(BIN / "duckdb"), "-readonly", str(database), "-c", query],
        capture_output=True,
        text=True,
        check=True,
    )
    return result.stdout


def refresh_readme_outputs(database: Path) -> int:
    """Replaces the box after each query of "Query the warehouse"; returns how many."""
    text = README.read_text()
    start = text.index("## Query the warehouse\n")
    end = text.find("\n## ", start + 1)
    end = len(text) if end == -1 else end
    section = text[start:end]
    count = 0

    def replace(match: re.Match[str]) -> str:
        nonlocal count
        count += 1
        return match[1] + query_output(database, match[2]) + match[4]

    section = QUERY_AND_OUTPUT.sub(replace, section)
    README.write_text(text[:start] + section + text[end:])
    return count


def main() -> None:
    with tempfile.TemporaryDirectory(prefix="docs-demo-") as scratch_name:
        scratch = Path(scratch_name)
        warehouse, dsn, schema = run_demo(scratch)
        try:
            database = warehouse / "analytics.duckdb"
            as_of, organisation = busiest_organisation(database)
            report = warehouse / "reports" / as_of.isoformat() / f"{organisation}.html"
            screenshot(report, REPORT_PNG)
            print(f"wrote {REPORT_PNG.relative_to(PROJECT_ROOT)}: {organisation}, as of {as_of}")
            caption = REPORTS_DOC.read_text()
            REPORTS_DOC.write_text(
                CAPTION.sub(rf"\g<1>{organisation[:8]}\g<2>{as_of}", caption, count=1)
            )
            boxes = refresh_readme_outputs(database)
            print(f"refreshed {boxes} query outputs in README.md")
        finally:
            with psycopg.connect(dsn, autocommit=True) as connection:
                connection.execute(
                    sql.SQL("drop schema if exists {} cascade").format(sql.Identifier(schema))
                )


if __name__ == "__main__":
    main()
