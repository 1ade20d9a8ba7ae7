"""Upgrade in place: a warehouse of the previous release becomes the Iceberg lakehouse.

The previous release kept every table as plain Parquet, one file per table and day at
`<warehouse>/lake/<table>/<YYYY-MM-DD>.parquet`, beside `analytics.duckdb`. Its raw days
may already be pruned from the source, so the upgrade never re-extracts: every old file
becomes its day's partition of the Iceberg table, in one overwrite commit, so running the
conversion again over the same files gives the same tables. When every file is
converted, `lake/` is renamed to `lake.parquet-backup/` (nothing is deleted: remove it
once the upgraded warehouse has been checked) and `analytics.duckdb` is rebuilt over the
new tables. A warehouse whose `lake/` was already moved aside is refused, and so is a
folder with no old lake at all.
"""

from __future__ import annotations

import datetime as dt
import re
from dataclasses import dataclass, replace
from pathlib import Path

import duckdb
import pyarrow as pa

from warehouse.engine import compute_connection
from warehouse.provenance import Provenance, code_version
from warehouse.storage.catalog import (
    NAMESPACE,
    Lakehouse,
    LakehouseError,
    is_s3,
    stores_uuid_ids,
)
from warehouse.storage.reading import published_days, register_tables
from warehouse.storage.writing import commit_partitions, stage_partition
from warehouse.tables import ALERTS_SENT, LAKE_TABLES, TableSpec
from warehouse.views import publish_views

OLD_LAKE_DIR = "lake"
BACKUP_DIR = "lake.parquet-backup"
# The name a table is written under while its ids are rewritten as text.
REWRITE_SUFFIX = "__text_ids"
_OLD_FILE_NAME = re.compile(r"^(\d{4}-\d{2}-\d{2})\.parquet$")


class UpgradeRefused(LakehouseError):
    """The folder cannot be upgraded; the message says why in one sentence."""


@dataclass(frozen=True)
class Upgraded:
    """What an upgrade wrote (rows per table) and where the old data stays."""

    rows_per_table: dict[str, int]
    kept: str


def upgrade_in_place(lakehouse: Lakehouse, local_dir: Path) -> Upgraded:
    """Upgrades the warehouse at ANALYTICS_WAREHOUSE_DIR.

    A first-release Parquet lake is converted into the Iceberg tables; Iceberg tables that
    store their ids as Iceberg uuid (the third release) get them rewritten as text.
    """
    location = lakehouse.location
    first_release = not is_s3(location) and (
        (Path(location) / OLD_LAKE_DIR).is_dir() or (Path(location) / BACKUP_DIR).is_dir()
    )
    with_uuid_ids = (
        tables_with_uuid_ids(lakehouse) if not first_release and lakehouse.has_catalog() else []
    )
    if with_uuid_ids:
        return Upgraded(
            rewrite_ids_as_text(lakehouse, with_uuid_ids, local_dir),
            f"the old tables' files stay in {location}/{NAMESPACE}/<table>/ (delete them once "
            "the upgraded warehouse is checked); time travel starts again from now",
        )
    if is_s3(location):
        raise UpgradeRefused(
            f"ANALYTICS_WAREHOUSE_DIR {location} is on S3, but the previous release only wrote "
            "local warehouses: run the upgrade on the local folder it used"
        )
    return Upgraded(
        upgrade_parquet_lake(lakehouse, Path(location), local_dir),
        f"the old lake is kept in {location}/{BACKUP_DIR}",
    )


def upgrade_parquet_lake(
    lakehouse: Lakehouse, old_warehouse_dir: Path, local_dir: Path | None = None
) -> dict[str, int]:
    """Writes every old Parquet file into its Iceberg partition; returns rows per table.

    Afterwards `lake/` is kept as `lake.parquet-backup/` and the views are rebuilt in
    `local_dir` (the old warehouse folder unless given).
    """
    old_lake = old_warehouse_dir / OLD_LAKE_DIR
    backup = old_warehouse_dir / BACKUP_DIR
    if not old_lake.is_dir():
        if backup.is_dir():
            raise UpgradeRefused(
                f"{old_warehouse_dir} is already upgraded: its previous-release lake is kept "
                f"in {backup} and there is no {old_lake} left to convert"
            )
        raise UpgradeRefused(
            f"{old_warehouse_dir} is not a previous-release warehouse: it has no "
            f"{OLD_LAKE_DIR}/ folder of Parquet files to convert"
        )
    if backup.exists():
        raise UpgradeRefused(
            f"{backup} already exists from an earlier upgrade: move it elsewhere so that "
            f"{old_lake} can be kept there after its conversion"
        )
    old_files = {spec: _old_files(old_lake, spec) for spec in LAKE_TABLES}
    rows_per_table: dict[str, int] = {}
    summary = {"analytics.code-version": code_version(), "analytics.upgraded-from": "release 1"}
    with duckdb.connect() as connection:
        for spec, files in old_files.items():
            rows_per_table[spec.name] = 0
            for day, path in files:
                rows = _read_old_file(connection, spec, day, path)
                staged = stage_partition(lakehouse, spec, day, rows, Provenance().record(spec))
                commit_partitions(lakehouse, spec, [staged], summary)
                rows_per_table[spec.name] += rows.num_rows
    old_lake.rename(backup)
    publish_views(lakehouse, local_dir or old_warehouse_dir)
    return rows_per_table


def tables_with_uuid_ids(lakehouse: Lakehouse) -> list[TableSpec]:
    """The tables whose ids are Iceberg uuid, as the third release stored them."""
    return [
        spec
        for spec in (*LAKE_TABLES, ALERTS_SENT)
        if lakehouse.exists(spec) and stores_uuid_ids(lakehouse.table(spec))
    ]


def rewrite_ids_as_text(
    lakehouse: Lakehouse, tables: list[TableSpec], local_dir: Path
) -> dict[str, int]:
    """Rewrites each table with its ids as text, keeping its rows and its partition records.

    An Iceberg column cannot change from uuid to string, so each table is written anew
    beside the old one (one day at a time, one commit), the old table is dropped from the
    catalog, and the new one takes its name. The old table's files stay on disk, and its
    snapshots go with it: time travel starts again from the upgrade.
    """
    rows_per_table: dict[str, int] = {}
    summary = {"analytics.code-version": code_version(), "analytics.upgraded-from": "release 3"}
    for spec in tables:
        records = published_days(lakehouse, spec)
        rewritten = replace(spec, name=f"{spec.name}{REWRITE_SUFFIX}")
        if lakehouse.exists(rewritten):  # an upgrade interrupted before: start again
            lakehouse.catalog.drop_table((NAMESPACE, rewritten.name))
        staged = []
        rows_per_table[spec.name] = 0
        for day in sorted({*lakehouse.file_days(spec), *records}):
            with compute_connection() as connection:
                register_tables(lakehouse, connection, [spec], day, day)
                rows = connection.sql(f"select * from {spec.name}").to_arrow_table()
            staged.append(stage_partition(lakehouse, rewritten, day, rows, records.get(day, {})))
            rows_per_table[spec.name] += rows.num_rows
        if staged:
            commit_partitions(lakehouse, rewritten, staged, summary)
        else:
            lakehouse.table(rewritten)  # created empty, as the old one was
        lakehouse.catalog.drop_table((NAMESPACE, spec.name))
        lakehouse.catalog.rename_table((NAMESPACE, rewritten.name), (NAMESPACE, spec.name))
        lakehouse.forget(spec, rewritten)
    publish_views(lakehouse, local_dir)
    return rows_per_table


def _old_files(old_lake: Path, spec: TableSpec) -> list[tuple[dt.date, Path]]:
    """The table's day files, oldest first; a table the old lake never had has none."""
    directory = old_lake / spec.name
    if not directory.is_dir():
        return []
    files = []
    for path in sorted(directory.glob("*.parquet")):
        match = _OLD_FILE_NAME.match(path.name)
        if match is None:
            raise UpgradeRefused(
                f"{path} is not a day file of the previous release's lake (named "
                "YYYY-MM-DD.parquet): move it out of the lake and run the upgrade again"
            )
        files.append((dt.date.fromisoformat(match.group(1)), path))
    return files


def _read_old_file(
    connection: duckdb.DuckDBPyConnection, spec: TableSpec, day: dt.date, path: Path
) -> pa.Table:
    """One old file as Arrow in the contract's columns: UUIDs and JSON as text."""
    columns = ", ".join(
        f"{column.name}::varchar as {column.name}" if column.duckdb_type == "JSON" else column.name
        for column in spec.columns
    )
    # a column the contract added since release 1 (total_cost_usd) reads as NULL
    typed_nulls = ", ".join(
        f"null::{column.duckdb_type} as {column.name}" for column in spec.columns
    )
    stored = (
        f"(select {typed_nulls} where false union all by name select * from read_parquet($path))"
    )
    try:
        rows = connection.sql(
            f"select {columns} from {stored}", params={"path": str(path)}
        ).to_arrow_table()
        [(other_days,)] = connection.sql(
            f"select count(*) from read_parquet($path)"
            f" where {spec.date_column} is distinct from $day",
            params={"path": str(path), "day": day},
        ).fetchall()
    except duckdb.Error as error:
        reason = str(error).splitlines()[0]
        raise UpgradeRefused(f"Cannot read {path} as {spec.name}: {reason}") from None
    if other_days:
        raise UpgradeRefused(
            f"{path} holds {other_days} rows whose {spec.date_column} is not {day}, so it "
            "cannot become that day's partition"
        )
    return rows
