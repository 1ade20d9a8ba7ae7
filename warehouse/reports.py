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
from collections.abc import Callable, Iterable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import duckdb

from warehouse.insights import as_of_chunks
from warehouse.report_html import Report, Row, render_dates_index, render_index, render_report
from warehouse.sql_files import load_sql
from warehouse.storage.catalog import Lakehouse
from warehouse.tables import (
    AGENT_METRICS_LOCAL,
    DAILY_ACTIVE_USERS_LOCAL,
    DAILY_MEASUREMENTS_LOCAL,
    DAILY_METRICS_LOCAL,
    DATA_QUALITY,
    EVENT_COUNTS_LOCAL,
    METRIC_ANOMALIES,
    MODEL_USAGE,
    ORGANIZATION_TIMEZONES,
)
from warehouse.views import connect

REPORT_DAYS = 30
ONE_DAY = dt.timedelta(days=1)
TOP_AGENTS = 10
SECTIONS = (
    "cards",
    "days",
    "top_agents",
    "event_mix",
    "anomalies",
    "cost_coverage",
    "data_quality",
)
INDEX_FILE_NAME = "index.html"
# the tables the sections read: those of the cards' comparison (the window and the one
# before) and those read over the window only
COMPARED = (
    DAILY_METRICS_LOCAL,
    AGENT_METRICS_LOCAL,
    DAILY_ACTIVE_USERS_LOCAL,
    DAILY_MEASUREMENTS_LOCAL,
)
WINDOWED = (EVENT_COUNTS_LOCAL, DATA_QUALITY, METRIC_ANOMALIES, MODEL_USAGE)
# what the completeness of each organisation's local days is judged by
ZONES = ORGANIZATION_TIMEZONES


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


def _records_rows(
    connection: duckdb.DuckDBPyConnection, section: str, parameters: dict[str, object]
) -> duckdb.DuckDBPyConnection:
    """The section's query, run; its SQL gets the parameters it names (DuckDB refuses
    others)."""
    statement = load_sql(f"reports/select_report_{section}")
    used = {
        name: value
        for name, value in {**parameters, "window_days": REPORT_DAYS}.items()
        if f"${name}" in statement
    }
    return connection.execute(statement, used)


def _records(
    connection: duckdb.DuckDBPyConnection, section: str, parameters: dict[str, object]
) -> list[Row]:
    """The section's rows as dicts."""
    cursor = _records_rows(connection, section, parameters)
    columns = [description[0] for description in cursor.description]
    return [dict(zip(columns, values, strict=True)) for values in cursor.fetchall()]


def _by_key(rows: list[Row], *key: str) -> dict[tuple[Any, ...], list[Row]]:
    grouped: dict[tuple[Any, ...], list[Row]] = defaultdict(list)
    for row in rows:
        grouped[tuple(str(row[name]) for name in key)].append(row)
    return grouped


def _no_data_before_first_day(days: list[Row]) -> list[Row]:
    """The days outside the warehouse with their figures unknown (NULL, a gap in the
    charts), never zero."""
    keys = ("as_of_date", "organization_id", "date", "within_warehouse")
    return [
        row
        if row["within_warehouse"]
        else {name: (row[name] if name in keys else None) for name in row}
        for row in days
    ]


def load_reports(
    connection: duckdb.DuckDBPyConnection, as_of_dates: list[dt.date]
) -> dict[dt.date, list[Report]]:
    """Every report of the given as-of dates: one per organisation with a counted event in
    its window or the window before (the previous period of its cards), on local days.

    A report covers the organisation's latest complete window up to its as-of date: the
    window ends on the as-of date when that local day is complete, else on the
    organisation's last complete local day (docs/contract.md, section 10), and the report
    says so. The organisations are read in groups that end on the same day.
    """
    first, last = min(as_of_dates), max(as_of_dates)
    first_day = connection.execute("select warehouse_first_day()").fetchone()[0]  # type: ignore[index]
    complete_until = {
        str(organization): day
        for organization, day in _records_rows(
            connection, "organizations", {"first_as_of": first, "last_as_of": last}
        ).fetchall()
        if day is not None
    }
    ends: dict[dt.date, list[str]] = defaultdict(list)
    for organization, day in complete_until.items():
        if day >= first - ONE_DAY:  # the reads reach one day before the dates, no further
            ends[min(last, day)].append(organization)
    sections: dict[str, dict[tuple[Any, ...], list[Row]]] = {name: {} for name in SECTIONS}
    for end, organizations in ends.items():
        parameters = {
            "first_as_of": min(first, end),
            "last_as_of": end,
            "window_days": REPORT_DAYS,
            "top_agents": TOP_AGENTS,
            "organizations": organizations,
        }
        for name in SECTIONS:
            if name != "data_quality":
                rows = _records(connection, name, parameters)
                sections[name].update(_by_key(rows, "as_of_date", "organization_id"))
    quality = _by_key(
        _records(
            connection,
            "data_quality",
            {"first_as_of": first, "last_as_of": last, "window_days": REPORT_DAYS},
        ),
        "as_of_date",
    )
    reports: dict[dt.date, list[Report]] = {day: [] for day in as_of_dates}
    for as_of_date in as_of_dates:
        for organization, day in sorted(complete_until.items()):
            covered = min(as_of_date, day)
            if organization not in ends[min(last, day)]:
                continue
            key = (covered.isoformat(), organization)
            cards = sections["cards"].get(key)
            if not cards:
                continue
            reports[as_of_date].append(
                Report(
                    as_of_date=as_of_date,
                    last_day=covered,
                    first_day=first_day,
                    organization_id=organization,
                    timezone=cards[0]["timezone"],
                    comparable=bool(cards[0]["comparable"]),
                    cards=cards,
                    days=_no_data_before_first_day(sections["days"][key]),
                    top_agents=sections["top_agents"].get(key, []),
                    event_mix=sections["event_mix"].get(key, []),
                    anomalies=sections["anomalies"].get(key, []),
                    cost_coverage=next(iter(sections["cost_coverage"].get(key, [])), None),
                    data_quality=quality.get((as_of_date.isoformat(),), []),
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
    on_written: Callable[[int], None] = lambda _: None,
) -> WrittenReports:
    """Writes `reports/<date>/` for each as-of date: a page per organisation and an index.

    The dates are read, rendered and written a week at a time, in ascending order, so
    memory holds one week's reports however long the range. The index of every report
    date is rewritten after them.
    """
    written: WrittenReports | None = None
    for chunk in as_of_chunks(as_of_dates):
        # the windows and the ones before (the cards' previous period), of the tables the
        # sections read: listing a table's files costs a scan plan
        first = min(chunk) - ONE_DAY - dt.timedelta(days=2 * REPORT_DAYS - 1)
        with connect(
            lakehouse, first, max(chunk), tables=[*COMPARED, *WINDOWED, ZONES]
        ) as connection:
            loaded = load_reports(connection, chunk)
        for as_of_date, reports in loaded.items():
            folder = _write_folder(local_dir, as_of_date, reports, as_of_dates)
            written = WrittenReports(written.folder_count + 1 if written else 1, folder)
            on_written(written.folder_count)
    if written is None:
        raise ValueError("write_reports needs at least one as-of date")
    _write_dates_index(local_dir)
    return written


def _write_dates_index(local_dir: Path) -> None:
    """`reports/index.html`: every report date, newest first, each linking its folder."""
    root = reports_dir(local_dir)
    dates = sorted(
        (
            dt.date.fromisoformat(folder.name)
            for folder in root.iterdir()
            if _is_date_folder(folder)
        ),
        reverse=True,
    )
    temporary = root / f".{INDEX_FILE_NAME}.{uuid.uuid4().hex}.tmp"
    temporary.write_text(render_dates_index(dates), encoding="utf-8")
    temporary.replace(root / INDEX_FILE_NAME)


def _is_date_folder(path: Path) -> bool:
    try:
        dt.date.fromisoformat(path.name)
    except ValueError:
        return False
    return path.is_dir() and (path / INDEX_FILE_NAME).exists()


def _neighbour_dates(
    local_dir: Path, as_of_date: dt.date, being_written: Iterable[dt.date]
) -> tuple[dt.date | None, dt.date | None]:
    """The report dates before and after `as_of_date`, for the index's links: those
    written before and those this run writes (after it, in ascending order)."""
    root = reports_dir(local_dir)
    dates = {*being_written}
    if root.is_dir():
        dates.update(dt.date.fromisoformat(f.name) for f in root.iterdir() if _is_date_folder(f))
    earlier = [day for day in dates if day < as_of_date]
    later = [day for day in dates if day > as_of_date]
    return (max(earlier) if earlier else None), (min(later) if later else None)


def _write_folder(
    local_dir: Path, as_of_date: dt.date, reports: list[Report], being_written: list[dt.date]
) -> ReportFolder:
    """Renders and publishes one as-of date's pages and index, replacing its folder."""
    final_path = reports_dir(local_dir) / as_of_date.isoformat()
    pages = {report.file_name: render_report(report) for report in reports}
    neighbours = _neighbour_dates(local_dir, as_of_date, being_written)
    pages[INDEX_FILE_NAME] = render_index(as_of_date, reports, *neighbours)
    with atomic_directory(final_path) as folder:
        for file_name, html in pages.items():
            (folder / file_name).write_text(html, encoding="utf-8")
    sizes = {file_name: len(html.encode()) for file_name, html in pages.items()}
    return ReportFolder(as_of_date, final_path, reports, sizes)
