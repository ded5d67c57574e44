import pytest

from factory.errors import VersionNotFound
from factory.store import ParentRef, TableWriter
from helpers import as_table, full_rows
from schemas import TABLES


@pytest.mark.parametrize("table", list(TABLES))
def test_round_trip_of_every_table(store, table):
    rows = full_rows(table, 7)
    with TableWriter(store, table, stage="test", config={"x": 1}, rows_per_part=3) as writer:
        assert writer.write(as_table(table, rows)) == 7
        manifest = writer.commit()
    assert manifest.row_count == 7 and len(manifest.parts) == 3
    back = store.read(table).sort_by(TABLES[table].key)
    assert back.to_pylist() == as_table(table, rows).to_pylist()
    assert back.schema.metadata[b"schema_version"] == str(TABLES[table].version).encode()
    assert store.check(manifest) == []


def test_append_skips_present_keys_and_records_lineage(store):
    with TableWriter(store, "prompts", stage="import", config={"f": "a"}) as w:
        w.write(full_rows("prompts", 5))
        first = w.commit()
    with TableWriter(store, "prompts", stage="import", config={"f": "b"}) as w:
        assert w.write(full_rows("prompts", 8)) == 3  # rows 0-4 already there
        second = w.commit()
    assert second.row_count == 8 and second.parents == [ParentRef("prompts", first.id)]
    assert store.read("prompts").num_rows == 8
    assert store.read("prompts", first.id).num_rows == 5
    assert store.read("prompts", "1").num_rows == 5  # by sequence number
    assert [m.id for m in store.versions("prompts")] == [first.id, second.id]


def test_rerun_of_finished_work_makes_no_new_version(store):
    for _ in range(2):
        with TableWriter(store, "prompts", stage="import", config={}) as w:
            w.write(full_rows("prompts", 4))
            w.commit()
    assert len(store.versions("prompts")) == 1


def test_upsert_replaces_rows_with_the_same_key(store):
    rows = full_rows("verdicts", 4)
    for row in rows:
        row["status"] = "error" if row["verdict_id"].endswith(("1", "3")) else "ok"
    with TableWriter(store, "verdicts", stage="verify", config={}) as w:
        w.write(rows)
        w.commit()
    retried = [dict(r, status="ok", label="consistent") for r in rows if r["status"] == "error"]
    with TableWriter(store, "verdicts", stage="verify", config={"retry": True}, mode="upsert") as w:
        w.write(retried)
        manifest = w.commit()
    back = {r["verdict_id"]: r for r in store.read("verdicts").to_pylist()}
    assert manifest.row_count == 4 and len(back) == 4
    assert {r["status"] for r in back.values()} == {"ok"}
    assert back["verdict_id-1"]["label"] == "consistent" and back["verdict_id-0"]["label"] == "label-0"


def test_replace_holds_only_the_new_rows(store):
    with TableWriter(store, "rollouts", stage="rollouts", config={}) as w:
        w.write(full_rows("rollouts", 5))
        first = w.commit()
    with TableWriter(store, "rollouts", stage="rewards", config={"profile": "veripo"}, mode="replace",
                     parents=[ParentRef("rollouts", first.id)]) as w:
        w.write(full_rows("rollouts", 2))
        second = w.commit()
    assert store.read("rollouts").num_rows == 2 and store.read("rollouts", first.id).num_rows == 5
    assert second.parents == [ParentRef("rollouts", first.id)]


def test_unknown_version_is_named(store):
    with pytest.raises(VersionNotFound, match="prompts version 'nope' does not exist"):
        store.resolve("prompts", "nope")


def test_temporary_files_are_never_read(store):
    with TableWriter(store, "prompts", stage="import", config={}) as w:
        w.write(full_rows("prompts", 3))
        w.commit()
    (store_tmp := store.path("prompts", "tmp", "half.parquet.tmp"))
    with open(store_tmp, "wb") as handle:
        handle.write(b"PAR1 half written")
    assert store.read("prompts").num_rows == 3
    with TableWriter(store, "prompts", stage="import", config={}) as w:
        assert w.adopted_rows == 0


def test_lineage_walks_parents(store):
    with TableWriter(store, "prompts", stage="import", config={}) as w:
        w.write(full_rows("prompts", 2))
        prompts = w.commit()
    with TableWriter(store, "rollouts", stage="rollouts", config={},
                     parents=[ParentRef("prompts", prompts.id)]) as w:
        w.write(full_rows("rollouts", 2))
        rollouts = w.commit()
    walk = [(depth, m.table, m.id) for depth, m in store.lineage(rollouts)]
    assert walk == [(0, "rollouts", rollouts.id), (1, "prompts", prompts.id)]


def test_check_detects_tampered_parts(store):
    with TableWriter(store, "prompts", stage="import", config={}) as w:
        w.write(full_rows("prompts", 2))
        manifest = w.commit()
    with open(store.path(manifest.parts[0].path), "ab") as handle:
        handle.write(b"x")
    assert "bytes, manifest says" in store.check(manifest)[0]


def test_a_number_names_the_sequence_even_when_a_hash_starts_with_it(store):
    made = []
    for n in range(1, 12):
        with TableWriter(store, "prompts", stage="import", config={"n": n}) as w:
            w.write(full_rows("prompts", n))
            made.append(w.commit())
    for manifest in made:
        assert store.resolve("prompts", str(manifest.seq)).id == manifest.id
        assert store.resolve("prompts", manifest.id.split("-")[1]).id == manifest.id


def test_adopted_parts_never_duplicate_rows_another_run_committed(store):
    """A run dies leaving parts; another run (other config) commits some of the same keys; the first run
    resumes: the new version holds each key once."""
    with TableWriter(store, "rollouts", stage="rollouts", config={"run": "a"}, rows_per_part=5) as w:
        w.write(full_rows("rollouts", 10))
        w.flush()  # two parts on disk, then the run "dies" before its manifest
    with TableWriter(store, "rollouts", stage="rollouts", config={"run": "b"}) as w:
        w.write(full_rows("rollouts", 4, start=3))  # keys 3..6 overlap the dead run's parts
        w.commit()
    with TableWriter(store, "rollouts", stage="rollouts", config={"run": "a"}, rows_per_part=5) as w:
        assert w.adopted_rows == 6  # keys 0-2 and 7-9; 3-6 are already in the base
        w.write(full_rows("rollouts", 10))
        resumed = w.commit()
    ids = store.read("rollouts", resumed.id).column("rollout_id").to_pylist()
    assert len(ids) == len(set(ids)) == 10
