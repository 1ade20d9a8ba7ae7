"""The contract of warehouse/storage/pyiceberg_patches.py, the only code on pyiceberg's
internals: run these against a new pyiceberg before adding it to TESTED_VERSIONS."""

import datetime as dt

import pyarrow as pa
import pytest
from pyiceberg.manifest import ManifestContent

from warehouse.storage.catalog import Lakehouse
from warehouse.storage.pyiceberg_patches import (
    MANIFESTS_PER_MONTH,
    TESTED_VERSIONS,
    UntestedPyiceberg,
    require_tested_pyiceberg,
)
from warehouse.storage.reading import listing
from warehouse.storage.writing import commit_partitions, stage_partition
from warehouse.tables import EVENT_COUNTS

ORG = "00000000-0000-4000-8000-00000000000a"


@pytest.fixture
def lakehouse(tmp_path):
    location = str(tmp_path / "warehouse")
    return Lakehouse(location, f"sqlite:///{tmp_path / 'catalog.db'}")


def rows(day, count):
    return pa.table(
        {
            "organization_id": pa.array([ORG], pa.string()),
            "date": pa.array([day], pa.date32()),
            "event_type": ["message.sent"],
            "event_count": pa.array([count], pa.int64()),
        }
    )


def publish(lakehouse, day, count):
    staged = stage_partition(lakehouse, EVENT_COUNTS, day, rows(day, count), {})
    commit_partitions(lakehouse, EVENT_COUNTS, [staged], {})


def data_manifests(lakehouse):
    table = lakehouse.table(EVENT_COUNTS)
    return [
        manifest
        for manifest in table.current_snapshot().manifests(table.io)
        if manifest.content == ManifestContent.DATA
    ]


def test_the_installed_pyiceberg_is_one_the_patches_were_tested_with():
    import pyiceberg

    assert pyiceberg.__version__ in TESTED_VERSIONS
    require_tested_pyiceberg()


def test_an_untested_pyiceberg_is_refused_in_one_sentence():
    with pytest.raises(UntestedPyiceberg) as refused:
        require_tested_pyiceberg("0.99.0")
    assert str(refused.value).startswith(
        "pyiceberg 0.99.0 is installed, but warehouse/storage/pyiceberg_patches.py was tested "
        "with 0.12.0 only"
    )


def test_a_replaced_partition_reads_only_its_new_rows(lakehouse):
    day = dt.date(2025, 3, 1)
    publish(lakehouse, day, 1)
    publish(lakehouse, day, 2)

    files = listing(lakehouse, EVENT_COUNTS).data_files
    table = lakehouse.table(EVENT_COUNTS)
    assert table.scan().to_arrow().column("event_count").to_pylist() == [2]
    assert len(files) == 1


def test_a_deletes_only_manifest_is_kept_only_by_the_snapshot_that_wrote_it(lakehouse):
    day = dt.date(2025, 3, 1)
    for count in range(4):
        publish(lakehouse, day, count)

    table = lakehouse.table(EVENT_COUNTS)
    current = table.current_snapshot()
    deletes_only = [
        manifest
        for manifest in current.manifests(table.io)
        if not manifest.has_added_files() and not manifest.has_existing_files()
    ]
    assert [manifest.added_snapshot_id for manifest in deletes_only] == [current.snapshot_id]


def test_a_months_manifests_are_merged_into_one_once_there_are_more_than_the_limit(lakehouse):
    march = [dt.date(2025, 3, day) for day in range(1, MANIFESTS_PER_MONTH + 2)]
    for day in march:
        publish(lakehouse, day, 1)
    publish(lakehouse, dt.date(2025, 4, 1), 1)

    manifests = data_manifests(lakehouse)
    assert len(manifests) == 2  # one for March, one for April
    table = lakehouse.table(EVENT_COUNTS)
    assert sorted(table.scan().to_arrow().column("date").to_pylist()) == [
        *march,
        dt.date(2025, 4, 1),
    ]


def test_the_record_and_the_files_of_a_day_land_in_one_commit(lakehouse):
    day = dt.date(2025, 3, 1)
    staged = stage_partition(lakehouse, EVENT_COUNTS, day, rows(day, 1), {"setting": "a"})
    commit_partitions(lakehouse, EVENT_COUNTS, [staged], {"dagster-run-id": "run-1"})

    table = lakehouse.reload(EVENT_COUNTS)
    assert table.properties["analytics.partition.2025-03-01"] == '{"setting":"a"}'
    summary = table.current_snapshot().summary
    assert summary["dagster-run-id"] == "run-1"
    assert summary["analytics.setting"] == "a"
    assert summary["analytics.partitions"] == "2025-03-01"
    assert len(table.metadata.metadata_log) == 1  # the create, then this one commit
