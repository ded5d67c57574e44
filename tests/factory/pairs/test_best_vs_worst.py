"""The best-vs-worst policy: highest reward_total against the lowest, when the margin is wide enough."""

import pytest

from factory.pairs import PairConfig, run_pairs
from factory.store import TableWriter
from pair_cases import R, pairs_of, write_cases


def test_highest_against_lowest_with_min_margin(store):
    cases = [R("top", "q1", reward=1.5), R("mid", "q1", reward=1.0), R("low", "q1", reward=0.0),
             R("a", "q2", reward=1.5), R("b", "q2", reward=1.2),          # margin 0.3 < 0.5: no pair
             R("x", "q3", reward=0.7), R("y", "q3", reward=0.2)]          # 0.7 - 0.2 counts as 0.5
    assert pairs_of(store, cases, policy="best-vs-worst") == [("top", "low", "margin"), ("x", "y", "margin")]
    rows = store.read("pairs").to_pylist()
    assert rows[0]["margin"] == pytest.approx(1.5) and rows[0]["policy"].startswith("best-vs-worst-")
    assert pairs_of(store, cases, policy="best-vs-worst", min_margin=0.25) == [
        ("top", "low", "margin"), ("a", "b", "margin"), ("x", "y", "margin")]


def test_ties_break_by_rollout_id_on_both_sides(store):
    cases = [R("t2", reward=1.0), R("t1", reward=1.0), R("l2", reward=0.0), R("l1", reward=0.0)]
    assert pairs_of(store, cases, policy="best-vs-worst") == [("t1", "l1", "margin")]


def test_ignores_verdicts_and_flags_but_copies_consistency(store):
    # the best by reward is judged inconsistent and repetitive: best-vs-worst does not care
    cases = [R("hi", cons=False, rep=True, reward=2.0), R("lo", acc=False, reward=0.0), R("err", vstatus="error")]
    assert pairs_of(store, cases, policy="best-vs-worst") == [("hi", "lo", "margin")]
    row = store.read("pairs").to_pylist()[0]
    assert (row["chosen_consistent"], row["rejected_consistent"]) == (False, True)
    assert row["chosen_flags"] == ["accurate", "fmt_ok", "repetitive"]


def test_identical_texts_and_null_rewards_make_no_pair(store):
    cases = [R("a", reward=1.5, text="same"), R("b", reward=0.0, text="same"),
             R("n1", "q2", reward=None, acc=None), R("n2", "q2", reward=1.0)]
    assert pairs_of(store, cases, policy="best-vs-worst") == []


def test_runs_without_any_verdicts(store):
    cases = [R("hi", reward=1.5, vstatus=None), R("lo", reward=0.0, vstatus=None)]
    assert pairs_of(store, cases, policy="best-vs-worst") == [("hi", "lo", "margin")]
    row = store.read("pairs").to_pylist()[0]
    assert row["verifier"] is None and row["chosen_consistent"] is None
    assert store.latest("pairs").parents[0].table == "rollouts"


def test_weight_of_margin_pairs(store):
    cases = [R("hi", reward=1.5), R("lo", reward=0.0)]
    pairs_of(store, cases, policy="best-vs-worst", weights={"margin": 0.5})
    assert store.read("pairs").to_pylist()[0]["weight"] == 0.5
