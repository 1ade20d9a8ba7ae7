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
from pathlib import Path

import duckdb
import pyarrow as pa

from warehouse.lakehouse import Lakehouse, LakehouseError, lakehouse_from_settings
from warehouse.settings import StorageSettings, is_s3
from warehouse.tables import LAKE_TABLES, TableSpec
from warehouse.views import publish_views

OLD_LAKE_DIR = "lake"
BACKUP_DIR = "lake.parquet-backup"
_OLD_FILE_NAME = re.compile(r"^(\d{4}-\d{2}-\d{2})\.parquet$")


class UpgradeRefused(LakehouseError):
    """The folder cannot be upgraded; the message says why in one sentence."""


def upgrade_in_place(settings: StorageSettings) -> dict[str, int]:
    """Converts the previous release's lake in ANALYTICS_WAREHOUSE_DIR; rows per table."""
    location = settings.warehouse_location
    if is_s3(location):
        raise UpgradeRefused(
            f"ANALYTICS_WAREHOUSE_DIR {location} is on S3, but the previous release only wrote "
            "local warehouses: run the upgrade on the local folder it used"
        )
    lakehouse = lakehouse_from_settings(settings)
    return upgrade_parquet_lake(lakehouse, Path(location), settings.local_dir)


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
    with duckdb.connect(config={"arrow_lossless_conversion": True}) as connection:
        for spec, files in old_files.items():
            rows_per_table[spec.name] = 0
            for day, path in files:
                rows = _read_old_file(connection, spec, day, path)
                lakehouse.replace_partition(spec, day, rows)
                rows_per_table[spec.name] += rows.num_rows
    old_lake.rename(backup)
    publish_views(lakehouse, local_dir or old_warehouse_dir)
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
    """One old file as Arrow in the contract's columns: UUIDs as Arrow uuid, JSON as text."""
    columns = ", ".join(
        f"{column.name}::varchar as {column.name}" if column.duckdb_type == "JSON" else column.name
        for column in spec.columns
    )
    try:
        rows = connection.sql(
            f"select {columns} from read_parquet($path)", params={"path": str(path)}
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
