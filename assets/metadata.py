"""What the Dagster UI shows about each table: its columns, and per partition its row count
and a preview (a range run reports each day's own, not the range's total)."""

from __future__ import annotations

from typing import Any

import pyarrow as pa
from dagster import MetadataValue, TableColumn, TableRecord, TableSchema

from warehouse.storage.writing import HEAD_ROWS as PREVIEW_ROWS
from warehouse.storage.writing import StagedPartition
from warehouse.tables import TableSpec

# Who answers for the warehouse's tables in the Dagster UI.
OWNERS = ["team:analytics-engineering"]


def column_schema(spec: TableSpec) -> TableSchema:
    return TableSchema(
        columns=[
            TableColumn(column.name, column.duckdb_type.lower(), description=column.description)
            for column in spec.columns
        ]
    )


def definition_metadata(spec: TableSpec) -> dict[str, Any]:
    return {"dagster/column_schema": column_schema(spec), "key": ", ".join(spec.key)}


def _cell(value: object) -> str | int | float | bool | None:
    """A value as Dagster's table metadata holds it: numbers and booleans as themselves."""
    return value if value is None or isinstance(value, bool | int | float | str) else str(value)


def preview_table(table: pa.Table, rows: int = PREVIEW_ROWS) -> MetadataValue:
    """The first `rows` of `table`, rendered by the UI as a table."""
    records = table.slice(0, rows).to_pylist()
    return MetadataValue.table(
        records=[
            TableRecord({name: _cell(value) for name, value in row.items()}) for row in records
        ],
        schema=TableSchema(
            columns=[TableColumn(field.name, str(field.type)) for field in table.schema]
        ),
    )


def partition_metadata(staged: StagedPartition) -> dict[str, Any]:
    """What one partition's materialization shows: its own row count and preview."""
    metadata: dict[str, Any] = {"dagster/row_count": MetadataValue.int(staged.num_rows)}
    if staged.num_rows:
        metadata["preview"] = preview_table(staged.head)
    return metadata
