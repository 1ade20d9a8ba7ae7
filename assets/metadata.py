"""What the Dagster UI shows about each table: its columns, and per partition its row count
and a preview (a range run reports each day's own, not the range's total)."""

from __future__ import annotations

from typing import Any

import pyarrow as pa
from dagster import MetadataValue, TableColumn, TableSchema

from warehouse.lakehouse import HEAD_ROWS as PREVIEW_ROWS
from warehouse.lakehouse import StagedPartition
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


def preview_markdown(table: pa.Table) -> str:
    """The first rows of `table` as a Markdown table, values in their text form."""
    rows = table.slice(0, PREVIEW_ROWS).to_pylist()
    header = "| " + " | ".join(table.column_names) + " |"
    rule = "|" + "---|" * len(table.column_names)
    body = [
        "| " + " | ".join(_cell(row[name]) for name in table.column_names) + " |" for row in rows
    ]
    return "\n".join([header, rule, *body])


def _cell(value: object) -> str:
    if value is None:
        return "NULL"
    if isinstance(value, float):
        return f"{value:.6g}"
    return str(value)


def partition_metadata(staged: StagedPartition) -> dict[str, Any]:
    """What one partition's materialization shows: its own row count and preview."""
    metadata: dict[str, Any] = {"dagster/row_count": MetadataValue.int(staged.num_rows)}
    if staged.num_rows:
        metadata["preview"] = MetadataValue.md(preview_markdown(staged.head))
    return metadata
