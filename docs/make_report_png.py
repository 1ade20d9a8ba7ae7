"""Regenerates the documentation's demo picture and query outputs from a real default demo.

    .venv/bin/python -m docs.make_report_png [--scratch DIR]

Runs the Quick start's demo (`analytics-warehouse demo`, its defaults) with `--seed` into
a fresh schema of the PostgreSQL on 127.0.0.1:5432 (an embedded one when none answers),
from a scratch folder of its own: the demo writes its settings into the `.env` of its
working directory, and the project's own `.env` (a developer's demo) must neither shape
this run nor be overwritten by it. The warehouse and DAGSTER_HOME live in that folder too.
From that warehouse it then writes:

- `docs/report.png`: the report of the busiest organisation on the day before the newest
  report date, screenshot in Debian's Chromium (`/usr/bin/chromium`) with the tests'
  launch arguments, and the organisation and date in its caption in `docs/reports.md`. The
  busiest organisation is west of UTC, so on the newest date its window ends a day early
  (docs/reports.md): the day before shows a report whose window ends on its own date;
- the output box after each query of `docs/analysts.md`, as `.venv/bin/duckdb -readonly
  analytics.duckdb -c "<query>"` prints it (a refusal as its error line).

Nothing else in either file changes, and the source schema is dropped once the demo is
built. The queries count back from `utc_today()`, so the boxes show the days before the
run: run the script and commit its outputs on the same UTC day. `--scratch DIR` keeps the
scratch folder in DIR, and a second call with the same DIR reuses its warehouse instead
of running the demo again (the demo takes a while; the outputs need only its warehouse).
"""

from __future__ import annotations

import argparse
import datetime as dt
import os
import re
import subprocess
import sys
import tempfile
import uuid
from contextlib import ExitStack
from pathlib import Path

PROJECT_ROOT = Path(__file__).resolve().parents[1]
if str(PROJECT_ROOT) not in sys.path:  # run as a plain script
    sys.path.insert(0, str(PROJECT_ROOT))

import duckdb  # noqa: E402
import psycopg  # noqa: E402
from psycopg import sql  # noqa: E402

from warehouse.embedded_postgres import local_or_embedded_postgres  # noqa: E402

BIN = Path(sys.executable).parent
ANALYSTS_DOC = PROJECT_ROOT / "docs" / "analysts.md"
REPORTS_DOC = PROJECT_ROOT / "docs" / "reports.md"
REPORT_PNG = PROJECT_ROOT / "docs" / "report.png"
VIEWPORT = {"width": 1200, "height": 900}
# a query block, then the output box right after it (the query never spans two blocks)
QUERY_AND_OUTPUT = re.compile(
    r"(```sql\n((?:(?!```).)*?)```\n\n```text\n)((?:(?!```).)*?)(```)", re.DOTALL
)
CAPTION = re.compile(r"(organisation `)[0-9a-f]{8}(-…` of the demo, as of )\d{4}-\d{2}-\d{2}")


def run_demo(scratch: Path) -> None:
    """The default demo into a fresh schema, its warehouse in `scratch/warehouse`.

    The source schema is dropped once the warehouse is built: the outputs read the
    warehouse alone. This process keeps the demo's environment, so that importing the
    tests' support module (for the Chromium arguments) reads the scratch settings.
    """
    dsn = local_or_embedded_postgres(scratch / "postgres")
    schema = f"docs_demo_{uuid.uuid4().hex[:8]}"
    (scratch / "dagster_home").mkdir(exist_ok=True)
    command = [str(BIN / "analytics-warehouse"), "demo", "--seed"]
    print("$", " ".join(command), f"(source table {schema}.analytics_events)", flush=True)
    try:
        subprocess.run(
            command,
            cwd=scratch,
            env={
                **os.environ,
                "ANALYTICS_SOURCE_DSN": dsn,
                "ANALYTICS_SOURCE_TABLE": f"{schema}.analytics_events",
            },
            check=True,
        )
    finally:
        with psycopg.connect(dsn, autocommit=True) as connection:
            connection.execute(
                sql.SQL("drop schema if exists {} cascade").format(sql.Identifier(schema))
            )


def use_scratch(scratch: Path) -> None:
    """Points this process at the scratch folder's warehouse, and at nothing else."""
    for name in [name for name in os.environ if name.startswith("ANALYTICS_")]:
        del os.environ[name]
    os.environ.update(
        ANALYTICS_WAREHOUSE_DIR=str(scratch / "warehouse"),
        DAGSTER_HOME=str(scratch / "dagster_home"),
    )


def busiest_organisation(warehouse: Path) -> tuple[dt.date, str]:
    """The day before the newest report date, and the organisation with most messages in
    the 30 days up to it."""
    dates = sorted(
        dt.date.fromisoformat(folder.name)
        for folder in (warehouse / "reports").iterdir()
        if (folder / "index.html").exists() and re.fullmatch(r"\d{4}-\d{2}-\d{2}", folder.name)
    )
    assert len(dates) >= 2, "the demo wrote fewer than two report dates"
    as_of = dates[-2]
    with duckdb.connect(str(warehouse / "analytics.duckdb"), read_only=True) as connection:
        rows = connection.execute(
            "select organization_id::varchar from daily_metrics_local"
            " where date between $as_of::date - 29 and $as_of"
            " group by organization_id order by sum(total_messages) desc limit 1",
            {"as_of": as_of},
        ).fetchall()
    assert rows, "the demo published no daily_metrics_local"
    return as_of, rows[0][0]


def screenshot(report: Path, output: Path) -> None:
    from playwright.sync_api import sync_playwright

    from tests.e2e.support import CHROMIUM, CHROMIUM_ARGS

    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=str(CHROMIUM), args=CHROMIUM_ARGS)
        try:
            page = browser.new_context(offline=True, viewport=VIEWPORT).new_page()
            page.goto(report.as_uri())
            page.screenshot(path=str(output), full_page=True)
        finally:
            browser.close()


def query_output(database: Path, query: str) -> str:
    """What the DuckDB shell prints for the query: its table, or its refusal."""
    result = subprocess.run(
        [str(BIN / "duckdb"), "-readonly", str(database), "-c", query],
        capture_output=True,
        text=True,
        check=False,
    )
    if result.returncode != 0:
        # a macro's refusal is the documented answer to some queries; keep its sentence
        return result.stderr.strip() + "\n"
    return result.stdout


def refresh_query_outputs(database: Path) -> int:
    """Replaces the box after each query of docs/analysts.md; returns how many."""
    count = 0

    def replace(match: re.Match[str]) -> str:
        nonlocal count
        count += 1
        return match[1] + query_output(database, match[2]) + match[4]

    ANALYSTS_DOC.write_text(QUERY_AND_OUTPUT.sub(replace, ANALYSTS_DOC.read_text()))
    return count


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--scratch", type=Path, help="keep (and reuse) the demo in this folder")
    arguments = parser.parse_args()
    with ExitStack() as stack:
        if arguments.scratch is None:
            scratch = Path(stack.enter_context(tempfile.TemporaryDirectory(prefix="docs-demo-")))
        else:
            scratch = arguments.scratch.resolve()
            scratch.mkdir(parents=True, exist_ok=True)
        use_scratch(scratch)
        warehouse = scratch / "warehouse"
        if not (warehouse / "analytics.duckdb").exists():
            run_demo(scratch)
        as_of, organisation = busiest_organisation(warehouse)
        report = warehouse / "reports" / as_of.isoformat() / f"{organisation}.html"
        screenshot(report, REPORT_PNG)
        print(f"wrote {REPORT_PNG.relative_to(PROJECT_ROOT)}: {organisation}, as of {as_of}")
        caption = REPORTS_DOC.read_text()
        REPORTS_DOC.write_text(
            CAPTION.sub(rf"\g<1>{organisation[:8]}\g<2>{as_of}", caption, count=1)
        )
        boxes = refresh_query_outputs(warehouse / "analytics.duckdb")
        print(f"refreshed {boxes} query outputs in {ANALYSTS_DOC.relative_to(PROJECT_ROOT)}")


if __name__ == "__main__":
    main()
