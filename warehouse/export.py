"""Exports a published table or macro result for a date range, through DuckDB's own COPY.

DuckDB reads the lakehouse's tables (through the Iceberg catalog, as the pipeline does)
and writes the file itself, so types survive (UUID, DATE, JSON). It never opens
`analytics.duckdb`, so an export neither waits for a pipeline run nor for an analyst's
shell. `--as-of` reads every table as it was at that moment (time travel, within the
snapshot retention). The file is written under a temporary name beside the output and
renamed, so an interrupted export leaves no half file behind.
"""

from __future__ import annotations

import datetime as dt
import os
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from enum import IntEnum
from pathlib import Path

import duckdb

from warehouse.settings import ConfigurationError, checked_date
from warehouse.storage.catalog import Lakehouse, is_s3
from warehouse.tables import (
    DAILY_METRICS,
    DATA_QUALITY,
    EVENTS,
    LAKE_TABLES,
    MODEL_PRICES,
    TableSpec,
)
from warehouse.views import connect


class ExitCode(IntEnum):
    """The export command's exit status, documented in docs/reports.md."""

    OK = 0
    BAD_INPUT = 2
    OUTPUT_EXISTS = 3
    WAREHOUSE_MISSING = 4


class ExportError(Exception):
    """An export refused before writing anything; the message says what to change."""

    def __init__(self, message: str, exit_code: ExitCode) -> None:
        super().__init__(message)
        self.exit_code = exit_code


# Every published view (a table added to the warehouse is exportable with it) and the
# date column its range filters on.
VIEW_DATE_COLUMNS: dict[TableSpec, str] = {spec: spec.date_column for spec in LAKE_TABLES}
# Why a view has no organisation to keep; every other one has organization_id.
WITHOUT_ORGANIZATION = {
    DATA_QUALITY.name: "its issues include events without one",
    MODEL_PRICES.name: "a price applies to every organisation",
}
# Each exportable macro and its call; every one has an organization_id column.
MACRO_CALLS = {
    "overview": "overview($start_date, $end_date)",
    "overview_local": "overview_local($start_date, $end_date)",
    "usage_trends": "usage_trends($start_date, $end_date)",
    "usage_trends_local": "usage_trends_local($start_date, $end_date)",
    "event_counts_between": "event_counts_between($start_date, $end_date)",
    "top_agents_between": "top_agents_between($start_date, $end_date, $top)",
    "agent_analytics": "agent_analytics($agent_id, $start_date, $end_date)",
}
EXPORTABLE = sorted([spec.name for spec in VIEW_DATE_COLUMNS] + list(MACRO_CALLS))
COPY_OPTIONS = {
    "csv": "format csv, header",
    "parquet": "format parquet, compression zstd",
    "jsonl": "format json",  # DuckDB writes one JSON object per line
}
FORMAT_EXTENSIONS = {f".{name}": name for name in COPY_OPTIONS}
DEFAULT_TOP = 10


@dataclass(frozen=True)
class ExportRequest:
    table: str
    start: str
    end: str
    output: Path
    lakehouse: Lakehouse
    file_format: str | None = None
    organization: str | None = None
    agent: str | None = None
    top: int | None = None
    force: bool = False
    progress: bool = False
    as_of: dt.datetime | None = None


def _date(text: str, what: str) -> dt.date:
    try:
        return checked_date(text, what)
    except ConfigurationError as error:
        raise ExportError(str(error), ExitCode.BAD_INPUT) from None


def _uuid(text: str, what: str) -> str:
    try:
        return str(uuid.UUID(text))
    except ValueError:
        raise ExportError(f"{what} must be a UUID, got {text!r}", ExitCode.BAD_INPUT) from None


def _validate(request: ExportRequest) -> tuple[dt.date, dt.date]:
    start, end = _date(request.start, "--start"), _date(request.end, "--end")
    if start > end:
        raise ExportError(f"--start {start} is after --end {end}", ExitCode.BAD_INPUT)
    if request.table not in EXPORTABLE:
        raise ExportError(
            f"unknown table {request.table!r}; choose one of {', '.join(EXPORTABLE)}",
            ExitCode.BAD_INPUT,
        )
    if request.top is not None and request.table != "top_agents_between":
        raise ExportError("--top applies only to top_agents_between", ExitCode.BAD_INPUT)
    if (request.agent is None) == (request.table == "agent_analytics"):
        raise ExportError(
            "--agent is required by agent_analytics and only by it", ExitCode.BAD_INPUT
        )
    if request.organization is not None and request.table in WITHOUT_ORGANIZATION:
        raise ExportError(
            f"{request.table} has no organization_id: {WITHOUT_ORGANIZATION[request.table]}",
            ExitCode.BAD_INPUT,
        )
    return start, end


def output_format(output: Path, file_format: str | None) -> str:
    """The format to write: `--format`, else the output's extension; never two that differ."""
    implied = FORMAT_EXTENSIONS.get(output.suffix.lower())
    if file_format is not None and file_format not in COPY_OPTIONS:
        raise ExportError(
            f"unknown format {file_format!r}; choose one of {', '.join(COPY_OPTIONS)}",
            ExitCode.BAD_INPUT,
        )
    if file_format and implied and file_format != implied:
        raise ExportError(
            f"--format {file_format} contradicts the extension of {output}", ExitCode.BAD_INPUT
        )
    chosen = file_format or implied
    if chosen is None:
        raise ExportError(
            f"cannot tell the format of {output} from its extension: name it .csv, .parquet "
            "or .jsonl, or pass --format",
            ExitCode.BAD_INPUT,
        )
    return chosen


def build_query(request: ExportRequest) -> tuple[str, dict[str, object]]:
    """The selection to copy and its parameters; raises ExportError on bad input."""
    start, end = _validate(request)
    parameters: dict[str, object] = {"start_date": start, "end_date": end}
    conditions = []
    order = ""
    views = {spec.name: spec for spec in VIEW_DATE_COLUMNS}
    if request.table in views:
        spec = views[request.table]
        source = spec.name
        conditions.append(f"{VIEW_DATE_COLUMNS[spec]} between $start_date and $end_date")
        order = f" order by {', '.join(spec.key)}"
    else:
        source = MACRO_CALLS[request.table]
        if request.table == "top_agents_between":
            parameters["top"] = request.top or DEFAULT_TOP
        if request.agent is not None:
            parameters["agent_id"] = _uuid(request.agent, "--agent")
    if request.organization is not None:
        conditions.append("organization_id = $organization_id")
        parameters["organization_id"] = _uuid(request.organization, "--organization")
    where = f" where {' and '.join(conditions)}" if conditions else ""
    return f"select * from {source}{where}{order}", parameters


@contextmanager
def atomic_path(final_path: Path) -> Iterator[Path]:
    """Yields a temporary path beside `final_path`; renames it over `final_path` on success."""
    temporary = final_path.with_name(f".{final_path.name}.{uuid.uuid4().hex}.tmp")
    try:
        yield temporary
        os.replace(temporary, final_path)
    finally:
        temporary.unlink(missing_ok=True)


def _require_warehouse(lakehouse: Lakehouse) -> None:
    local_missing = not is_s3(lakehouse.location) and not Path(lakehouse.location).is_dir()
    if local_missing or not lakehouse.exists(EVENTS):
        raise ExportError(
            f"no warehouse at {lakehouse.location} (no analytics tables in its catalog): "
            "materialise it first or set ANALYTICS_WAREHOUSE_DIR",
            ExitCode.WAREHOUSE_MISSING,
        )


def _require_history(lakehouse: Lakehouse, request: ExportRequest, now: dt.datetime) -> None:
    """Refuses an `--as-of` the tables cannot answer: in the future, or before the first
    snapshot of the table exported (of daily_metrics, which every macro reads)."""
    if request.as_of is None:
        return
    if request.as_of > now:
        raise ExportError(
            f"--as-of {request.as_of:%Y-%m-%dT%H:%M} is in the future: it is "
            f"{now:%Y-%m-%dT%H:%M} UTC now",
            ExitCode.BAD_INPUT,
        )
    views = {spec.name: spec for spec in VIEW_DATE_COLUMNS}
    spec = views.get(request.table, DAILY_METRICS)
    snapshots = lakehouse.table(spec).snapshots()
    if not snapshots:
        raise ExportError(f"--as-of: {spec.name} has no snapshot yet", ExitCode.BAD_INPUT)
    first = dt.datetime.fromtimestamp(min(s.timestamp_ms for s in snapshots) / 1000, dt.UTC)
    if request.as_of < first:
        raise ExportError(
            f"--as-of {request.as_of:%Y-%m-%dT%H:%M} is before {spec.name}'s first snapshot, "
            f"{first:%Y-%m-%dT%H:%M:%S} UTC: time travel reaches that far back at most (and "
            "no further than ANALYTICS_SNAPSHOT_RETENTION_DAYS)",
            ExitCode.BAD_INPUT,
        )


def export(request: ExportRequest) -> int:
    """Writes the request's rows to its output file; returns how many were written."""
    query, parameters = build_query(request)
    file_format = output_format(request.output, request.file_format)
    if not request.output.parent.is_dir():
        raise ExportError(
            f"the folder {request.output.parent} does not exist: create it first",
            ExitCode.BAD_INPUT,
        )
    _require_warehouse(request.lakehouse)
    _require_history(request.lakehouse, request, dt.datetime.now(dt.UTC))
    if request.output.exists() and not request.force:
        raise ExportError(
            f"{request.output} already exists; pass --force to replace it", ExitCode.OUTPUT_EXISTS
        )
    with (
        connect(request.lakehouse, as_of=request.as_of) as connection,
        atomic_path(request.output) as temporary,
    ):
        connection.execute(f"set enable_progress_bar = {str(request.progress).lower()}")
        try:
            result = connection.execute(
                f"copy ({query}) to $destination ({COPY_OPTIONS[file_format]})",
                {**parameters, "destination": str(temporary)},
            ).fetchone()
        except duckdb.InvalidInputException as error:
            # a macro's refusal (an incomplete range) or a bad argument: DuckDB's sentence
            raise ExportError(
                str(error).removeprefix("Invalid Input Error: ").splitlines()[0],
                ExitCode.BAD_INPUT,
            ) from None
    return int(result[0]) if result else 0
