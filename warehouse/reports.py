"""HTML reports: one self-contained page per organisation and as-of date, plus an index.

A report covers the trailing `REPORT_DAYS` days of one organisation against the same
number of days before, on the organisation's own calendar: its figures come from the
`_local` tables and name the zone. Anomalies and data quality exist only by UTC day and
say so. Each as-of date's pages are built in a temporary folder beside `reports/<date>/`
and renamed into place, so a reader never sees a half-written set. A backfill writes one
folder per date, and its sections are read a week of as-of dates at a time (one query each
per week), written, then dropped: the cards compare every as-of date's two windows of
distinct users, so a range read in one query held memory in proportion to its length
(in one process, 120 as-of dates peaked ~455 MiB above 20; issue 13), and a range's
reports kept until the end would too. A week reads only its own 2 * REPORT_DAYS days of
partitions, as the insights do (`warehouse/insights.py`).
"""

from __future__ import annotations

import datetime as dt
import shutil
import uuid
from collections import defaultdict
from collections.abc import Collection, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import duckdb

from warehouse.insights import as_of_chunks
from warehouse.lakehouse import Lakehouse
from warehouse.report_html import Report, Row, render_index, render_report
from warehouse.sql_files import load_sql
from warehouse.tables import (
    AGENT_METRICS_LOCAL,
    DAILY_ACTIVE_USERS_LOCAL,
    DAILY_MEASUREMENTS_LOCAL,
    DAILY_METRICS_LOCAL,
    DATA_QUALITY,
    EVENT_COUNTS_LOCAL,
    METRIC_ANOMALIES,
)
from warehouse.views import connect

REPORT_DAYS = 30
TOP_AGENTS = 10
SECTIONS = ("cards", "days", "top_agents", "event_mix", "anomalies", "data_quality")
INDEX_FILE_NAME = "index.html"
# the tables the sections read: those of the cards' comparison (the window and the one
# before) and those read over the window only
COMPARED = (
    DAILY_METRICS_LOCAL,
    AGENT_METRICS_LOCAL,
    DAILY_ACTIVE_USERS_LOCAL,
    DAILY_MEASUREMENTS_LOCAL,
)
WINDOWED = (EVENT_COUNTS_LOCAL, DATA_QUALITY, METRIC_ANOMALIES)


@dataclass(frozen=True)
class ReportFolder:
    """One as-of date's published folder: its reports and each file's size in bytes."""

    as_of_date: dt.date
    path: Path
    reports: list[Report]
    sizes: dict[str, int]


@dataclass(frozen=True)
class WrittenReports:
    """What `write_reports` wrote: how many folders, and the newest as-of date's in full.

    Only the newest folder is kept (the run's metadata shows it): keeping every folder's
    reports would make a backfill's memory grow with its range.
    """

    folder_count: int
    newest: ReportFolder


def reports_dir(local_dir: Path) -> Path:
    return local_dir / "reports"


def _records(
    connection: duckdb.DuckDBPyConnection, section: str, parameters: dict[str, object]
) -> list[Row]:
    """The section's rows; its SQL gets the parameters it names (DuckDB refuses others)."""
    statement = load_sql(f"reports/select_report_{section}")
    used = {name: value for name, value in parameters.items() if f"${name}" in statement}
    cursor = connection.execute(statement, used)
    columns = [description[0] for description in cursor.description]
    return [dict(zip(columns, values, strict=True)) for values in cursor.fetchall()]


def _by_key(rows: list[Row], *key: str) -> dict[tuple[Any, ...], list[Row]]:
    grouped: dict[tuple[Any, ...], list[Row]] = defaultdict(list)
    for row in rows:
        grouped[tuple(str(row[name]) for name in key)].append(row)
    return grouped


def _unknown_day(days: list[Row], day: dt.date) -> list[Row]:
    """The rows with `day`'s figures unknown (NULL, a gap in the charts), not zero."""
    keys = ("as_of_date", "organization_id", "date")
    return [
        {name: value if name in keys else None for name, value in row.items()}
        if row["date"] == day
        else row
        for row in days
    ]


def load_reports(
    lakehouse: Lakehouse, as_of_dates: list[dt.date], waiting: Collection[dt.date] = ()
) -> dict[dt.date, list[Report]]:
    """Every report of the given as-of dates: one per organisation with a counted event in
    its window or the window before (the previous period of its cards), on local days.

    `waiting` are the as-of dates whose own local day is not computed yet (it needs the
    next UTC day): their reports say so and show that day as unknown.
    """
    parameters = {
        "first_as_of": min(as_of_dates),
        "last_as_of": max(as_of_dates),
        "window_days": REPORT_DAYS,
        "top_agents": TOP_AGENTS,
    }
    # the windows and the ones before (the cards' previous period), of the tables the
    # sections read: listing a table's files costs a scan plan
    first = min(as_of_dates) - dt.timedelta(days=2 * REPORT_DAYS - 1)
    tables = [*COMPARED, *WINDOWED]
    with connect(lakehouse, first, max(as_of_dates), tables=tables) as connection:
        sections = {name: _records(connection, name, parameters) for name in SECTIONS}
    per_report = {
        name: _by_key(rows, "as_of_date", "organization_id")
        for name, rows in sections.items()
        if name != "data_quality"
    }
    quality = _by_key(sections["data_quality"], "as_of_date")
    reports: dict[dt.date, list[Report]] = {day: [] for day in as_of_dates}
    for as_of_text, organization_id in per_report["cards"]:
        as_of_date = dt.date.fromisoformat(as_of_text)
        if as_of_date not in reports:
            continue
        key = (as_of_text, organization_id)
        cards = per_report["cards"][key]
        days = per_report["days"][key]
        reports[as_of_date].append(
            Report(
                as_of_date=as_of_date,
                organization_id=organization_id,
                timezone=cards[0]["timezone"],
                waiting=as_of_date in waiting,
                cards=cards,
                days=_unknown_day(days, as_of_date) if as_of_date in waiting else days,
                top_agents=per_report["top_agents"].get(key, []),
                event_mix=per_report["event_mix"].get(key, []),
                anomalies=per_report["anomalies"].get(key, []),
                data_quality=quality.get((as_of_text,), []),
            )
        )
    return reports


@contextmanager
def atomic_directory(final_path: Path) -> Iterator[Path]:
    """Yields an empty temporary folder beside `final_path`; puts it in place on success.

    A rename cannot replace a non-empty folder, so the previous one is moved aside first
    and deleted once the new one is in place.
    """
    final_path.parent.mkdir(parents=True, exist_ok=True)
    temporary = final_path.with_name(f".{final_path.name}.{uuid.uuid4().hex}.tmp")
    retired = final_path.with_name(f".{final_path.name}.{uuid.uuid4().hex}.old")
    temporary.mkdir()
    try:
        yield temporary
        if final_path.exists():
            final_path.rename(retired)
        temporary.rename(final_path)
    finally:
        shutil.rmtree(temporary, ignore_errors=True)
        shutil.rmtree(retired, ignore_errors=True)


def write_reports(
    lakehouse: Lakehouse,
    local_dir: Path,
    as_of_dates: list[dt.date],
    waiting: Collection[dt.date] = (),
) -> WrittenReports:
    """Writes `reports/<date>/` for each as-of date: a page per organisation and an index.

    The dates are read, rendered and written a week at a time, in ascending order, so
    memory holds one week's reports however long the range. `waiting`: the as-of dates
    whose local day waits for the next UTC day (load_reports).
    """
    written: WrittenReports | None = None
    for chunk in as_of_chunks(as_of_dates):
        for as_of_date, reports in load_reports(lakehouse, chunk, waiting).items():
            folder = _write_folder(local_dir, as_of_date, reports)
            written = WrittenReports(written.folder_count + 1 if written else 1, folder)
    if written is None:
        raise ValueError("write_reports needs at least one as-of date")
    return written


def _write_folder(local_dir: Path, as_of_date: dt.date, reports: list[Report]) -> ReportFolder:
    """Renders and publishes one as-of date's pages and index, replacing its folder."""
    final_path = reports_dir(local_dir) / as_of_date.isoformat()
    pages = {report.file_name: render_report(report) for report in reports}
    pages[INDEX_FILE_NAME] = render_index(as_of_date, reports)
    with atomic_directory(final_path) as folder:
        for file_name, html in pages.items():
            (folder / file_name).write_text(html, encoding="utf-8")
    sizes = {file_name: len(html.encode()) for file_name, html in pages.items()}
    return ReportFolder(as_of_date, final_path, reports, sizes)
