"""run_pairs as a stage: versions, parents, recorded config, the next round's prompts, streaming over parts."""

import pytest

from factory.errors import UsageError
from factory.pairs import PairConfig, run_pairs
from factory.pairs.inputs import CANDIDATE_COLUMNS, candidates
from factory.store import ParentRef, TableWriter
from helpers import full_rows
from pair_cases import R, write_cases
from schemas import pair_id


def _prompts(store, ids):
    rows = full_rows("prompts", len(ids))
    for row, pid in zip(rows, ids):
        row["prompt_id"] = pid
    with TableWriter(store, "prompts", stage="import", config={}) as w:
        w.write(rows)
        return w.commit()


def _mixed(n_easy=10):
    cases = []
    for i in range(n_easy):
        cases += [R(f"e{i}a", f"easy{i:02d}"), R(f"e{i}b", f"easy{i:02d}")]
    cases += [R("h_c", "hard"), R("h_r", "hard", acc=False), R("h_p", "hard", trunc=True)]
    return cases


def test_stage_writes_pairs_and_next_prompts_with_lineage(store):
    prompts = _prompts(store, [f"easy{i:02d}" for i in range(10)] + ["hard", "unused"])
    write_cases(store, _mixed())
    rollouts, verdicts = store.latest("rollouts"), store.latest("verdicts")
    result = run_pairs(store, PairConfig(write_next_prompts=True), show_progress=False)

    pairs = store.resolve("pairs", result.version)
    assert pairs.stage == "pairs" and pairs.mode == "replace"
    assert pairs.parents == [ParentRef("rollouts", rollouts.id), ParentRef("verdicts", verdicts.id)]
    assert pairs.config["policy"] == "veripo" and pairs.config["max_pairs_per_question"] == 2
    assert pairs.config["resolved"] == {"policy_id": result.policy, "verifier": "judge",
                                        "rollouts_version": rollouts.id, "verdicts_version": verdicts.id}
    assert pairs.notes["counts"] == {"accuracy": 1, "penalty": 1} and pairs.notes["easy"] == 10
    assert result.counts == {"accuracy": 1, "penalty": 1} and result.rows == 2
    assert result.easy == 10 and result.questions == 11 and result.questions_with_pairs == 1

    assert result.dropped == 8
    nxt = store.resolve("prompts", result.prompts_version)
    assert nxt.parents == [ParentRef("prompts", prompts.id), ParentRef("pairs", pairs.id)]
    assert nxt.mode == "replace" and nxt.notes["dropped_easy"] == 8 and nxt.notes["easy"] == 10
    kept = set(store.read("prompts", nxt.id).column("prompt_id").to_pylist())
    assert {"hard", "unused"} <= kept and len(kept) == 4

    # the same inputs and settings make the same pairs and drop the same questions
    again = run_pairs(store, PairConfig(write_next_prompts=True, prompts_version=prompts.id), show_progress=False)
    assert store.read("pairs", again.version).column("pair_id").to_pylist() == \
        store.read("pairs", result.version).column("pair_id").to_pylist()
    assert set(store.read("prompts", again.prompts_version).column("prompt_id").to_pylist()) == kept


def test_no_prompts_version_without_the_flag(store):
    _prompts(store, ["hard"])
    write_cases(store, _mixed(2))
    result = run_pairs(store, PairConfig(), show_progress=False)
    assert result.prompts_version is None and result.dropped == 0 and len(store.versions("prompts")) == 1


def test_versions_to_use_can_be_named(store):
    write_cases(store, [R("c1"), R("r1", acc=False)])
    first_rollouts, first_verdicts = store.latest("rollouts"), store.latest("verdicts")
    write_cases(store, [R("c9"), R("r9", rep=True)])
    result = run_pairs(store, PairConfig(rollouts_version=first_rollouts.id, verdicts_version=first_verdicts.id),
                       show_progress=False)
    assert [r["chosen_rollout_id"] for r in store.read("pairs").to_pylist()] == ["c1"]
    assert store.resolve("pairs", result.version).parents[0] == ParentRef("rollouts", first_rollouts.id)


def test_verdicts_of_other_rollouts_are_an_error(store):
    write_cases(store, [R("c1"), R("r1", acc=False)])
    verdicts = store.latest("verdicts")
    write_cases(store, [R("c9", vstatus=None), R("r9", vstatus=None)])
    with pytest.raises(UsageError, match="none of the 2 ok rollouts"):
        run_pairs(store, PairConfig(verdicts_version=verdicts.id), show_progress=False)


def test_errors_name_what_is_missing(store):
    with pytest.raises(UsageError, match="no rollouts"):
        run_pairs(store, PairConfig(), show_progress=False)
    write_cases(store, [R("c1", vstatus=None)])
    with pytest.raises(UsageError, match="run `factory verify` first"):
        run_pairs(store, PairConfig(), show_progress=False)
    with pytest.raises(UsageError, match="no prompts version"):
        run_pairs(store, PairConfig(policy="best-vs-worst", write_next_prompts=True), show_progress=False)


def test_groups_spread_over_many_parts(store):
    cases = []
    for q in range(6):
        cases += [R(f"q{q}_c{i}", f"q{q}", think=100 + i) for i in range(3)]
        cases += [R(f"q{q}_w{i}", f"q{q}", acc=False, reward=0.1 * i) for i in range(3)]
    write_cases(store, cases[::-1], rows_per_part=4)  # reversed, so each question spans parts
    assert len(store.latest("rollouts").parts) == 9
    result = run_pairs(store, PairConfig(rows_per_part=5), show_progress=False)
    rows = store.read("pairs").to_pylist()
    assert [(r["chosen_rollout_id"], r["rejected_rollout_id"]) for r in rows] == [
        (f"q{q}_c{c}", f"q{q}_w{w}") for q in range(6) for c, w in ((2, 0), (1, 1))]
    assert len(store.resolve("pairs", result.version).parts) == 3
    assert all(r["pair_id"] == pair_id(chosen_rollout_id=r["chosen_rollout_id"],
                                       rejected_rollout_id=r["rejected_rollout_id"], policy=result.policy)
               for r in rows)


def test_candidate_frame_has_one_row_per_ok_rollout(store):
    write_cases(store, [R("c1"), R("x", status="error", vstatus=None, reward=None), R("u", vstatus="unparsable")])
    frame = candidates(store, store.latest("rollouts"), store.latest("verdicts"), "judge")
    assert frame.columns == list(CANDIDATE_COLUMNS)
    assert sorted(frame["rollout_id"].to_list()) == ["c1", "u"]
    assert frame.filter(frame["rollout_id"] == "u")["consistent"].to_list() == [None]


def test_several_verdicts_of_one_verifier_use_the_ok_then_the_newest(store):
    from datetime import timedelta

    write_cases(store, [R("c1"), R("c2"), R("r1", acc=False)])
    later = R("c1")["verdict"]["created_at"] + timedelta(hours=1)
    extra = [dict(R("c1", vstatus="error")["verdict"], verdict_id="v-c1-retry", created_at=later),
             dict(R("c2", cons=False)["verdict"], verdict_id="v-c2-new-prompt", created_at=later)]
    with TableWriter(store, "verdicts", stage="test", config={"more": 1}) as w:
        w.write(extra)
        w.commit()
    frame = candidates(store, store.latest("rollouts"), store.latest("verdicts"), "judge").sort("rollout_id")
    assert frame.select("rollout_id", "verdict_status", "consistent").rows() == [
        ("c1", "ok", True), ("c2", "ok", False), ("r1", "ok", True)]


def test_fsspec_store_is_read_through_pyarrow(tmp_path):
    from factory.store import Store
    from pair_cases import pairs_of

    store = Store(f"memory://pairs-{tmp_path.name}")
    cases = [R("c1"), R("r1", acc=False), R("c2", "q2"), R("r2", "q2", rep=True)]
    assert pairs_of(store, cases) == [("c1", "r1", "accuracy"), ("c2", "r2", "penalty")]


def test_vectorised_pair_keys_equal_schemas_pair_id():
    import polars as pl

    from factory.pairs.rows import pair_ids

    odd = ["plain", 'quo"te', "back\\slash", "tab\tnew\nline", "\x01ctl", "é ü 中文", "slash/", "emoji 🙂"]
    frame = pl.DataFrame({"chosen_rollout_id": odd, "rejected_rollout_id": list(reversed(odd))})
    assert pair_ids(frame, "veripo-1234abcd").to_list() == [
        pair_id(chosen_rollout_id=c, rejected_rollout_id=r, policy="veripo-1234abcd")
        for c, r in zip(odd, reversed(odd))]
