"""Tables the third release wrote with ids as Iceberg uuid: refused for writing in one
sentence, and rewritten by `upgrade` with their ids as text, rows and records kept."""

import datetime as dt
import uuid

import pyarrow as pa
import pytest
from pyiceberg.schema import Schema
from pyiceberg.types import NestedField, StringType, UUIDType

from warehouse.storage.catalog import (
    NAMESPACE,
    Lakehouse,
    LakehouseError,
    iceberg_schema,
    partition_spec,
)
from warehouse.storage.partition_records import encode_record, record_property
from warehouse.storage.reading import published_days
from warehouse.storage.writing import stage_partition
from warehouse.tables import EVENT_COUNTS
from warehouse.upgrade import upgrade_in_place

ORG = uuid.UUID("00000000-0000-4000-8000-00000000000a")
DAY = dt.date(2025, 3, 2)


def third_release_schema() -> Schema:
    return Schema(
        *(
            NestedField(
                field.field_id,
                field.name,
                UUIDType() if field.name == "organization_id" else field.field_type,
                required=False,
            )
            for field in iceberg_schema(EVENT_COUNTS).fields
        )
    )


@pytest.fixture
def lakehouse(tmp_path):
    """event_counts as the third release left it: one day, its id a uuid, its day recorded."""
    lakehouse = Lakehouse(str(tmp_path / "warehouse"), f"sqlite:///{tmp_path / 'catalog.db'}")
    lakehouse.catalog.create_namespace_if_not_exists(NAMESPACE)
    schema = third_release_schema()
    table = lakehouse.catalog.create_table(
        (NAMESPACE, EVENT_COUNTS.name), schema, partition_spec=partition_spec(schema, EVENT_COUNTS)
    )
    table.append(
        pa.table(
            {
                "organization_id": pa.array([ORG.bytes], pa.binary(16)),
                "date": pa.array([DAY], pa.date32()),
                "event_type": ["message.sent"],
                "event_count": pa.array([7], pa.int64()),
            }
        )
    )
    record = {"timezones_table": ""}
    table.transaction().set_properties(
        {record_property(DAY): encode_record(record)}
    ).commit_transaction()
    return lakehouse


def test_writing_into_a_table_with_uuid_ids_is_refused_naming_the_upgrade(lakehouse):
    with pytest.raises(LakehouseError) as refused:
        stage_partition(lakehouse, EVENT_COUNTS, DAY, pa.table({}), {})

    assert "run `analytics-warehouse upgrade` once" in str(refused.value)


def test_the_upgrade_rewrites_uuid_ids_as_text_keeping_rows_and_records(lakehouse, tmp_path):
    upgraded = upgrade_in_place(lakehouse, tmp_path / "local")

    assert upgraded.rows_per_table == {EVENT_COUNTS.name: 1}
    table = Lakehouse(lakehouse.location, lakehouse.catalog_uri).table(EVENT_COUNTS)
    assert isinstance(table.schema().find_field("organization_id").field_type, StringType)
    assert table.scan().to_arrow().to_pylist() == [
        {"organization_id": str(ORG), "date": DAY, "event_type": "message.sent", "event_count": 7}
    ]
    assert published_days(lakehouse, EVENT_COUNTS) == {DAY: {"timezones_table": ""}}
