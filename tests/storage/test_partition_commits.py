"""Commits of the lakehouse (docs/contract.md, section 6) on local disk with a SQLite
catalog, no PostgreSQL or Dagster: a day replaced in one commit, the commits of parallel
runs, manifests kept few, time travel, every version's listing and a lost commit's
staged file. model_prices, partitioned by effective_from, stands for any table: three
columns to write. The end-to-end layer (tests/e2e/test_lakehouse.py) shows the commits
of Dagster runs and other engines reading the tables.
"""

import datetime as dt
from pathlib import Path

import pyarrow as pa
import pytest
from pyiceberg.catalog.sql import SqlCatalog
from pyiceberg.exceptions import ValidationException

from warehouse.provenance import Provenance
from warehouse.storage.catalog import Lakehouse
from warehouse.storage.partition_records import partition_records
from warehouse.storage.reading import listing
from warehouse.storage.writing import commit_partitions, stage_partition
from warehouse.tables import MODEL_PRICES


@pytest.fixture
def lakehouse(tmp_path):
    """A local warehouse with its SQLite catalog inside it, as the pipeline opens one."""
    location = tmp_path / "warehouse"
    return Lakehouse(str(location), f"sqlite:///{location / 'catalog.db'}")


def replace_partition(lakehouse, spec, day, rows):
    """Publishes `rows` as the table's partition `day`, as a step does (no settings)."""
    staged = stage_partition(lakehouse, spec, day, rows, Provenance().record(spec))
    commit_partitions(lakehouse, spec, [staged], {})


def data_files(lakehouse, spec):
    """The data files of the table's current snapshot."""
    return list(listing(lakehouse, spec).data_files)


MARCH_1, MARCH_2 = dt.date(2025, 3, 1), dt.date(2025, 3, 2)
APRIL_1 = dt.date(2025, 4, 1)


def prices(day, *models):
    return pa.table(
        {
            "model": list(models),
            "effective_from": [day] * len(models),
            "usd_per_million_tokens": [1.0] * len(models),
        }
    )


def models_by_day(lakehouse):
    rows = lakehouse.table(MODEL_PRICES).scan().to_arrow().to_pylist()
    return sorted((row["effective_from"], row["model"]) for row in rows)


def test_a_day_staged_before_another_runs_commit_of_another_day_commits_after_it(lakehouse):
    replace_partition(lakehouse, MODEL_PRICES, MARCH_1, prices(MARCH_1, "a"))
    staged = stage_partition(lakehouse, MODEL_PRICES, MARCH_1, prices(MARCH_1, "b"), {})
    replace_partition(lakehouse, MODEL_PRICES, MARCH_2, prices(MARCH_2, "c"))  # another run

    assert commit_partitions(lakehouse, MODEL_PRICES, [staged], {})

    table = lakehouse.table(MODEL_PRICES)
    assert [snapshot.summary["analytics.partitions"] for snapshot in table.snapshots()] == [
        "2025-03-01",
        "2025-03-02",
        "2025-03-01",
    ]
    assert models_by_day(lakehouse) == [(MARCH_1, "b"), (MARCH_2, "c")]


def test_a_day_staged_before_another_runs_commit_of_that_day_replaces_it(lakehouse):
    replace_partition(lakehouse, MODEL_PRICES, MARCH_1, prices(MARCH_1, "a"))
    staged = stage_partition(lakehouse, MODEL_PRICES, MARCH_1, prices(MARCH_1, "b"), {})
    replace_partition(lakehouse, MODEL_PRICES, MARCH_1, prices(MARCH_1, "c"))  # another run

    assert commit_partitions(lakehouse, MODEL_PRICES, [staged], {})

    # the last commit wins whole: no row of the day the other run published is left
    assert models_by_day(lakehouse) == [(MARCH_1, "b")]
    assert len(lakehouse.table(MODEL_PRICES).snapshots()) == 3
    assert len(data_files(lakehouse, MODEL_PRICES)) == 1


def test_a_day_replaced_again_and_again_leaves_no_manifest_of_only_deleted_files(lakehouse):
    for model in "abcde":
        replace_partition(lakehouse, MODEL_PRICES, MARCH_1, prices(MARCH_1, model))
    replace_partition(lakehouse, MODEL_PRICES, MARCH_2, prices(MARCH_2, "f"))

    table = lakehouse.table(MODEL_PRICES)
    latest, before = table.snapshots()[-1], table.snapshots()[-2]
    manifests = latest.manifests(table.io)
    # the live file of each day; the deletions of the earlier replacements are not carried
    assert sorted(manifest.added_files_count for manifest in manifests) == [1, 1]
    assert sorted(
        (m.added_files_count, m.deleted_files_count) for m in before.manifests(table.io)
    ) == [
        (0, 1),  # the snapshot that replaced the day keeps the file it deleted
        (1, 0),
    ]
    assert models_by_day(lakehouse) == [(MARCH_1, "e"), (MARCH_2, "f")]
    first = table.scan(snapshot_id=table.snapshots()[0].snapshot_id).to_arrow()
    assert first["model"].to_pylist() == ["a"]  # time travel still reads every version


def test_a_months_manifests_are_merged_into_one_once_a_third_arrives(lakehouse):
    """Each commit writes a manifest; a month keeps at most two (MANIFESTS_PER_MONTH)."""
    march = [dt.date(2025, 3, day) for day in (1, 2, 3)]
    for day, model in zip(march, "abc", strict=True):
        replace_partition(lakehouse, MODEL_PRICES, day, prices(day, model))
    replace_partition(lakehouse, MODEL_PRICES, APRIL_1, prices(APRIL_1, "d"))

    table = lakehouse.table(MODEL_PRICES)
    by_snapshot = [
        sorted(manifest.existing_files_count + manifest.added_files_count for manifest in m)
        for m in (snapshot.manifests(table.io) for snapshot in table.snapshots())
    ]
    # files per manifest after each commit: the third of March merges March's three
    assert by_snapshot == [[1], [1, 1], [3], [1, 3]]
    assert models_by_day(lakehouse) == [*zip(march, "abc", strict=True), (APRIL_1, "d")]
    second = table.scan(snapshot_id=table.snapshots()[1].snapshot_id).to_arrow()
    assert sorted(second["model"].to_pylist()) == ["a", "b"]  # time travel reads as before
    # the manifests the merging commit wrote and merged away are deleted: none is orphaned
    listed = {
        Path(manifest.manifest_path).name
        for snapshot in table.snapshots()
        for manifest in snapshot.manifests(table.io)
    }
    metadata = Path(table.location().removeprefix("file://"), "metadata")
    assert {path.name for path in metadata.glob("*-m*.avro")} == listed


def test_every_version_of_a_table_lists_the_files_its_scan_reads(lakehouse):
    def scanned(table, snapshot):
        return sorted(task.file.file_path for task in table.scan(snapshot_id=snapshot).plan_files())

    listed = []
    for day, model in [(MARCH_1, "a"), (MARCH_2, "b"), (MARCH_1, "c"), (MARCH_2, "d")]:
        replace_partition(lakehouse, MODEL_PRICES, day, prices(day, model))
        listed.append(len(data_files(lakehouse, MODEL_PRICES)))  # each version in turn
    assert listed == [1, 2, 2, 2]  # a file per day

    table = lakehouse.table(MODEL_PRICES)
    for snapshot in table.snapshots():
        planned = lakehouse.planned(MODEL_PRICES, snapshot_id=snapshot.snapshot_id)
        files = sorted(task.file.file_path for task in planned)
        assert files == scanned(table, snapshot.snapshot_id)
    assert data_files(lakehouse, MODEL_PRICES) == scanned(table, None) != []


def test_a_table_read_again_after_another_process_committed_is_its_new_version(lakehouse):
    """A Lakehouse serves one step and keeps the tables it loads; `reload` refreshes the
    kept table in place, and a new Lakehouse reads the catalog's current version."""
    replace_partition(lakehouse, MODEL_PRICES, MARCH_1, prices(MARCH_1, "a"))
    kept = lakehouse.table(MODEL_PRICES)
    assert data_files(lakehouse, MODEL_PRICES)  # planned and kept for that snapshot
    another_process = Lakehouse(lakehouse.location, lakehouse.catalog_uri)

    replace_partition(another_process, MODEL_PRICES, MARCH_1, prices(MARCH_1, "b"))
    # until read again, the step reads the version it loaded
    assert models_by_day(lakehouse) == [(MARCH_1, "a")]
    assert lakehouse.reload(MODEL_PRICES) is kept  # read again, in place

    assert models_by_day(lakehouse) == [(MARCH_1, "b")]
    assert data_files(lakehouse, MODEL_PRICES) == data_files(another_process, MODEL_PRICES)
    assert lakehouse.table(MODEL_PRICES) is kept
    assert len(kept.snapshots()) == 2
    # a new Lakehouse (the next step) reads the new version too
    assert models_by_day(Lakehouse(lakehouse.location, lakehouse.catalog_uri)) == [(MARCH_1, "b")]


def test_a_failed_commit_deletes_its_staged_file_and_the_day_stays_as_published(
    lakehouse, monkeypatch
):
    another_run = Lakehouse(lakehouse.location, lakehouse.catalog_uri)
    replace_partition(lakehouse, MODEL_PRICES, MARCH_1, prices(MARCH_1, "a"))
    staged = stage_partition(lakehouse, MODEL_PRICES, MARCH_1, prices(MARCH_1, "b"), {})
    replace_partition(another_run, MODEL_PRICES, MARCH_1, prices(MARCH_1, "c"))
    load = lakehouse.table
    racing = True

    def load_then_another_run_replaces_the_day_again(spec):
        table = load(spec)
        if racing:
            replace_partition(another_run, MODEL_PRICES, MARCH_1, prices(MARCH_1, "d"))
        return table

    monkeypatch.setattr(lakehouse, "table", load_then_another_run_replaces_the_day_again)

    with pytest.raises(ValidationException):  # the commit and each of its replans lost
        commit_partitions(lakehouse, MODEL_PRICES, [staged], {})
    racing = False

    assert models_by_day(lakehouse) == [(MARCH_1, "d")]
    assert not Path(staged.path.removeprefix("file://")).exists()


def test_a_commit_that_only_records_settings_and_loses_a_race_is_made_again(lakehouse, monkeypatch):
    """An empty day's commit writes no file, only its record; when another run's commit
    lands while the catalog swaps it in (the catalog then refuses: CommitFailedException),
    it is made again from the table's new version, keeping the other run's day."""
    replace_partition(lakehouse, MODEL_PRICES, MARCH_1, prices(MARCH_1, "a"))
    another_process = Lakehouse(lakehouse.location, lakehouse.catalog_uri)
    write_metadata = SqlCatalog._write_metadata
    raced = []

    def write_then_lose_the_race(catalog, *args, **kwargs):
        write_metadata(*args, **kwargs)
        if not raced:
            raced.append(True)  # the other run's commit, between the write and the swap
            replace_partition(another_process, MODEL_PRICES, MARCH_2, prices(MARCH_2, "b"))

    monkeypatch.setattr(SqlCatalog, "_write_metadata", write_then_lose_the_race)
    empty_day = stage_partition(
        lakehouse, MODEL_PRICES, APRIL_1, prices(APRIL_1), {"prices_sha256": "abc"}
    )

    assert commit_partitions(lakehouse, MODEL_PRICES, [empty_day], {})

    assert raced == [True]
    reread = Lakehouse(lakehouse.location, lakehouse.catalog_uri)
    assert models_by_day(reread) == [(MARCH_1, "a"), (MARCH_2, "b")]
    assert partition_records(reread.table(MODEL_PRICES))[APRIL_1] == {"prices_sha256": "abc"}
