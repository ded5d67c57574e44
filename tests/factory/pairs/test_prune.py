"""Easy questions and the deterministic pruning of the next round's prompts."""

import polars as pl
import pyarrow as pa

from factory.pairs import dropped_ids, easy_questions, prune_prompts
from factory.pairs.prune import drop_count


def test_easy_questions_are_those_every_ok_rollout_solved():
    frame = pl.DataFrame({"prompt_id": ["a", "a", "b", "b", "c", "d"],
                          "accurate": [True, True, True, False, None, True]})
    assert easy_questions(frame).to_list() == ["a", "d"]
    assert easy_questions(frame.lazy()).to_list() == ["a", "d"]


def test_share_of_ten_easy_drops_eight_the_same_ones_every_time():
    easy = [f"q{i}" for i in range(10)]
    first = dropped_ids(easy, 0.8, seed=0)
    assert len(first) == 8 and set(first) <= set(easy)
    assert dropped_ids(list(reversed(easy)), 0.8, seed=0) == first       # order of the input does not matter
    assert dropped_ids(pl.Series(easy), 0.8, seed=0) == first
    others = {tuple(dropped_ids(easy, 0.8, seed=s)) for s in range(1, 6)}
    assert others != {tuple(first)}                                        # the seed changes the picks


def test_drop_count_rounds_half_up_and_covers_the_ends():
    assert [drop_count(n, 0.8) for n in (0, 1, 2, 3, 10)] == [0, 1, 2, 2, 8]
    assert drop_count(7, 0.0) == 0 and drop_count(7, 1.0) == 7 and drop_count(10, 0.25) == 3


def test_prune_prompts_keeps_type_order_and_the_other_questions():
    ids = [f"q{i}" for i in range(12)]
    easy = ids[:10]
    dropped = set(dropped_ids(easy, 0.8, seed=3))
    table = pa.table({"prompt_id": ids, "problem": [f"p{i}" for i in range(12)]})
    kept = prune_prompts(table, easy, 0.8, seed=3)
    assert isinstance(kept, pa.Table) and kept.schema == table.schema
    assert kept.column("prompt_id").to_pylist() == [i for i in ids if i not in dropped]
    assert "q10" in kept.column("prompt_id").to_pylist() and kept.num_rows == 4
    frame = prune_prompts(pl.from_arrow(table), easy, 0.8, seed=3)
    assert isinstance(frame, pl.DataFrame) and frame["prompt_id"].to_list() == kept.column("prompt_id").to_pylist()
    lazy = prune_prompts(pl.from_arrow(table).lazy(), easy, 0.8, seed=3)
    assert lazy.collect()["prompt_id"].to_list() == kept.column("prompt_id").to_pylist()
