"""The veripo policy rule by rule: each test names the exact pairs it expects (chosen, rejected, type)."""

import pytest

from factory.errors import UsageError
from factory.pairs import PairConfig
from pair_cases import R, pairs_of
from schemas import pair_id


def test_consistency_pair_right_answer_wrong_reasoning(store):
    cases = [R("c1"), R("r1", cons=False)]
    assert pairs_of(store, cases) == [("c1", "r1", "consistency")]


@pytest.mark.parametrize("flaw", [{"rep": True}, {"fmt": False}, {"trunc": True}])
def test_penalty_pair_for_each_flaw(store, flaw):
    cases = [R("c1"), R("r1", **flaw)]
    assert pairs_of(store, cases) == [("c1", "r1", "penalty")]


def test_accuracy_pair_prefers_consistent_but_wrong(store):
    # r_low has the lower reward, but r_cons is wrong with reasoning that reaches its (wrong) answer
    cases = [R("c1"), R("r_low", acc=False, cons=False, fmt=False), R("r_cons", acc=False, cons=True)]
    assert pairs_of(store, cases, type_order=["accuracy"], max_pairs_per_question=1) == [("c1", "r_cons", "accuracy")]


def test_accuracy_rejects_then_lower_reward_first(store):
    cases = [R("c1"), R("r_a", acc=False, reward=0.5), R("r_b", acc=False, reward=0.0)]
    assert pairs_of(store, cases) == [("c1", "r_b", "accuracy"), ("c1", "r_a", "accuracy")]


def test_all_wrong_group_gives_no_pair(store):
    cases = [R(f"w{i}", acc=False) for i in range(4)]
    assert pairs_of(store, cases) == []


def test_all_right_group_gives_no_pair_and_is_easy(store):
    from factory.pairs import run_pairs
    from pair_cases import write_cases

    write_cases(store, [R("a1", "easy"), R("a2", "easy"), R("c1", "hard"), R("w1", "hard", acc=False)])
    result = run_pairs(store, PairConfig(), show_progress=False)
    assert [(r["chosen_rollout_id"], r["rejected_rollout_id"]) for r in store.read("pairs").to_pylist()] == [("c1", "w1")]
    assert result.easy == 1 and result.easy_prompt_ids == ["easy"]
    assert result.questions == 2 and result.questions_with_pairs == 1


def test_unscored_rollout_keeps_a_question_off_the_easy_list(store):
    from factory.pairs import run_pairs
    from pair_cases import write_cases

    write_cases(store, [R("a1"), R("a2", acc=None, reward=0.5)])
    assert run_pairs(store, PairConfig(), show_progress=False).easy_prompt_ids == []


def test_ties_break_by_rollout_id(store):
    cases = [R("c2"), R("c1"), R("r2", acc=False), R("r1", acc=False)]
    assert pairs_of(store, cases, max_pairs_per_question=1) == [("c1", "r1", "accuracy")]


def test_second_pair_takes_the_second_chosen(store):
    cases = [R("c2"), R("c1"), R("r2", acc=False), R("r1", acc=False)]
    assert pairs_of(store, cases) == [("c1", "r1", "accuracy"), ("c2", "r2", "accuracy")]


def test_duplicate_texts_are_skipped(store):
    cases = [
        R("c1", text="same good"), R("c2", text="same good"),   # one chosen text, not two
        R("r1", acc=False, text="same bad", reward=0.0), R("r2", acc=False, text="same bad", reward=0.0),
        R("r3", acc=False, cons=False, text="other bad", reward=0.5),
        R("r4", cons=False, text="same good"),                    # contradicts a chosen text: never rejected
    ]
    # r1 and r2 share a text: only r1 (the tie-break) is used; c1 is reused because it is the only chosen text
    assert pairs_of(store, cases, max_pairs_per_question=5) == [("c1", "r1", "accuracy"), ("c1", "r3", "accuracy")]
    assert pairs_of(store, cases) == [("c1", "r1", "accuracy"), ("c1", "r3", "accuracy")]  # r4 takes no slot


def test_cap_takes_one_of_each_type_in_order(store):
    cases = [R("c1"), R("c2"), R("c3"), R("ra", acc=False), R("rp", rep=True), R("rc", cons=False),
             R("rc2", cons=False), R("rp2", rep=True)]
    assert pairs_of(store, cases) == [("c1", "rc", "consistency"), ("c2", "rp", "penalty")]
    assert pairs_of(store, cases, max_pairs_per_question=4) == [
        ("c1", "rc", "consistency"), ("c2", "rp", "penalty"), ("c3", "ra", "accuracy"), ("c1", "rc2", "consistency")]


def test_cap_round_robin_over_types_and_chosen_reuse(store):
    cases = [R("c1", think=300), R("c2", think=200), R("rc", cons=False),
             R("ra1", acc=False, reward=0.0), R("ra2", acc=False, reward=0.5), R("ra3", acc=False, reward=0.5)]
    assert pairs_of(store, cases, max_pairs_per_question=4) == [
        ("c1", "rc", "consistency"), ("c2", "ra1", "accuracy"), ("c1", "ra2", "accuracy"), ("c2", "ra3", "accuracy")]


def test_type_order_is_configurable(store):
    cases = [R("c1"), R("ra", acc=False), R("rp", rep=True), R("rc", cons=False)]
    assert pairs_of(store, cases, type_order=["accuracy", "penalty"], max_pairs_per_question=3) == [
        ("c1", "ra", "accuracy"), ("c1", "rp", "penalty")]


def test_a_reject_fitting_several_types_takes_the_first(store):
    cases = [R("c1"), R("r1", cons=False, rep=True, reward=0.0), R("r2", rep=True, reward=1.0)]
    assert pairs_of(store, cases) == [("c1", "r1", "consistency"), ("c1", "r2", "penalty")]


def test_reflective_chosen_first_then_longer_think(store):
    cases = [R("long", think=900), R("short_refl", think=200, refl=True), R("r1", acc=False)]
    assert pairs_of(store, cases, max_pairs_per_question=1) == [("short_refl", "r1", "accuracy")]


def test_without_reflective_preference_longer_think_wins(store):
    cases = [R("long", think=900), R("short_refl", think=200, refl=True), R("r1", acc=False)]
    assert pairs_of(store, cases, max_pairs_per_question=1, prefer_reflective=False) == [("long", "r1", "accuracy")]


def test_higher_reward_breaks_equal_think(store):
    cases = [R("a", reward=1.5), R("b", reward=1.7), R("r1", acc=False)]
    assert pairs_of(store, cases, max_pairs_per_question=1) == [("b", "r1", "accuracy")]


def test_length_ceiling_ranks_over_ceiling_last(store):
    cases = [R("huge", think=5000), R("over", think=4100), R("under", think=300), R("r1", acc=False),
             R("r2", acc=False), R("r3", acc=False)]
    assert pairs_of(store, cases, max_pairs_per_question=3) == [
        ("under", "r1", "accuracy"), ("over", "r2", "accuracy"), ("huge", "r3", "accuracy")]


def test_over_ceiling_chosen_used_when_it_is_the_only_one(store):
    cases = [R("huge", think=9000), R("r1", acc=False)]
    assert pairs_of(store, cases, think_ceiling=4096) == [("huge", "r1", "accuracy")]


def test_failed_unparsable_and_missing_verdicts_are_not_consistent(store):
    cases = [R("c1"), R("err", vstatus="error"), R("unp", vstatus="unparsable"), R("none", vstatus=None),
             R("w1", acc=False)]
    # none of err/unp/none is chosen or a consistency reject; they fit no other type either
    assert pairs_of(store, cases, max_pairs_per_question=5) == [("c1", "w1", "accuracy")]


def test_question_whose_only_right_answer_lacks_a_verdict_gives_no_pair(store):
    cases = [R("c1", vstatus="error"), R("w1", acc=False)]
    assert pairs_of(store, cases) == []


def test_failed_rollouts_take_no_part(store):
    cases = [R("c1"), R("gone", status="error", reward=None, acc=None, fmt=None, vstatus=None)]
    assert pairs_of(store, cases) == []


def test_verdict_figures_win_unless_configured(store):
    # the verifier found r1 repetitive, the rollout row did not
    case = R("r1", cons=True)
    case["verdict"]["repetitive"] = True
    cases = [R("c1"), case]
    assert pairs_of(store, cases) == [("c1", "r1", "penalty")]
    assert pairs_of(store, cases, rule_figures="rollouts") == []  # r1 is a second chosen candidate then


def test_questions_are_independent_and_ordered_by_prompt(store):
    cases = [R("b_c", "qb"), R("b_r", "qb", acc=False), R("a_c", "qa"), R("a_r", "qa", rep=True)]
    assert pairs_of(store, cases) == [("a_c", "a_r", "penalty"), ("b_c", "b_r", "accuracy")]


def test_pair_row_carries_both_sides_figures(store):
    cases = [R("c1", refl=True, think=321, iteration=3),
             R("r1", acc=False, cons=True, rep=True, trunc=True, think=50, reward=0.25, iteration=3)]
    config = dict(type_order=["accuracy"], weights={"accuracy": 2.0})
    assert pairs_of(store, cases, **config) == [("c1", "r1", "accuracy")]
    row = store.read("pairs").to_pylist()[0]
    policy = PairConfig(**config).policy_id("judge")
    assert row["policy"] == policy and policy.startswith("veripo-") and len(policy) == len("veripo-") + 8
    assert row["pair_id"] == pair_id(chosen_rollout_id="c1", rejected_rollout_id="r1", policy=policy)
    assert row["prompt_id"] == "q1" and row["verifier"] == "judge" and row["iteration"] == 3
    assert row["chosen"] == "<think>c1</think><answer>x</answer>"
    assert row["rejected"] == "<think>r1</think><answer>x</answer>"
    assert row["margin"] == pytest.approx(1.25) and row["weight"] == 2.0
    assert (row["chosen_reward"], row["rejected_reward"]) == (1.5, 0.25)
    assert (row["chosen_consistent"], row["rejected_consistent"]) == (True, True)
    assert (row["chosen_think_tokens"], row["rejected_think_tokens"]) == (321, 50)
    assert row["chosen_flags"] == ["accurate", "consistent", "fmt_ok", "reflective"]
    assert row["rejected_flags"] == ["consistent", "fmt_ok", "repetitive", "truncated"]
    assert row["code_version"] and row["created_at"] is not None


def test_policy_id_changes_with_settings():
    base = PairConfig()
    assert base.policy_id("judge") == PairConfig().policy_id("judge")
    assert base.policy_id("judge") != PairConfig(max_pairs_per_question=3).policy_id("judge")
    assert base.policy_id("judge") != base.policy_id("other")
    assert base.policy_id("judge") == PairConfig(min_margin=0.9).policy_id("judge")  # not a veripo knob


def test_several_verifiers_need_a_choice(store):
    cases = [R("c1"), R("r1", acc=False)]
    other = [R("c1", cons=False, verifier="big-judge")["verdict"]]
    from pair_cases import write_cases
    from factory.pairs import run_pairs
    from factory.store import TableWriter

    write_cases(store, cases)
    with TableWriter(store, "verdicts", stage="test", config={"more": 1}) as w:
        w.write(other)
        w.commit()
    with pytest.raises(UsageError, match="several verifiers"):
        run_pairs(store, PairConfig(), show_progress=False)
    with pytest.raises(UsageError, match="no verdicts"):
        run_pairs(store, PairConfig(verifier="nobody"), show_progress=False)
    run_pairs(store, PairConfig(verifier="big-judge"), show_progress=False)
    assert store.read("pairs").to_pylist() == []  # big-judge finds c1 inconsistent: no chosen
    run_pairs(store, PairConfig(verifier="judge"), show_progress=False)
    assert [(r["chosen_rollout_id"], r["verifier"]) for r in store.read("pairs").to_pylist()] == [("c1", "judge")]


@pytest.mark.parametrize("bad", [{"policy": "nope"}, {"max_pairs_per_question": 0}, {"type_order": ["margin"]},
                                 {"type_order": ["accuracy", "accuracy"]}, {"weights": {"x": 1.0}},
                                 {"drop_easy_share": 1.5}, {"write_next_prompts": True, "drop_easy_share": None}])
def test_bad_settings_are_refused(bad):
    with pytest.raises(ValueError):
        PairConfig(**bad)
