"""Each preset's figures on a hand-written store (see stats_cases for the rows), and on empty stores."""

import pytest

from factory.errors import UsageError
from factory.query import check_read_only
from factory.stats.presets import PASS_RATE_BINS, PRESETS, preset, run_preset
from factory.store import TableWriter
from helpers import full_rows
from stats_cases import known_store, rollout, verdicts_rows, write  # noqa: F401  (known_store is a fixture)


def rows(table):
    return table.to_pylist()


def by(table, *keys):
    return {tuple(r[k] for k in keys) if len(keys) > 1 else r[keys[0]]: r for r in table.to_pylist()}


def test_every_preset_is_one_read_only_select_with_a_description():
    assert set(PRESETS) >= {"overview", "quality_by_type", "consistency_by_type", "think_length_hist",
                            "pass_rate_hist", "judge_failures", "pairs_by_type", "easy_questions",
                            "judge_agreement"}
    for p in PRESETS.values():
        check_read_only(p.sql)
        assert p.description and "\n" not in p.description


def test_unknown_preset_names_the_presets():
    with pytest.raises(UsageError, match="unknown preset 'nope'; presets are: overview, "):
        preset("nope")


def test_overview(known_store):
    got = by(run_preset(known_store, "overview"), "table")
    assert {t: (r["rows"], r["prompts"], r["not_ok"]) for t, r in got.items()} == {
        "prompts": (4, 4, None), "rollouts": (18, 4, 1), "verdicts": (28, 3, 2), "pairs": (4, 3, None)}


def test_quality_by_type(known_store):
    table = run_preset(known_store, "quality_by_type")
    assert [(r["problem_type"], r["iteration"]) for r in rows(table)] == [
        ("all", None), ("(unknown)", None), ("multiple choice", None), ("numerical", None), ("numerical", 1)]
    got = by(table, "problem_type", "iteration")
    total = got["all", None]
    assert (total["rollouts"], total["errors"]) == (17, 1)
    assert total["accuracy"] == pytest.approx(9 / 17)
    mc = got["multiple choice", None]
    assert (mc["rollouts"], mc["errors"]) == (8, 1)  # the error rollout (accurate, 9999 tokens) counts nowhere else
    assert (mc["accuracy"], mc["format_rate"], mc["truncation_rate"]) == (5 / 8, 7 / 8, 1 / 8)
    assert (mc["repetition_rate"], mc["reflection_rate"]) == (2 / 8, 2 / 8)
    assert (mc["mean_think_tokens"], mc["median_think_tokens"]) == (45, 45)
    assert mc["p90_think_tokens"] == pytest.approx(73)  # 70 + 0.3 * 10 between the 7th and 8th of 8 values
    assert got["numerical", None]["accuracy"] == 0
    assert got["numerical", 1]["accuracy"] == 0.75
    assert got["(unknown)", None]["rollouts"] == 1


def test_consistency_by_type(known_store):
    got = by(run_preset(known_store, "consistency_by_type"), "verifier", "problem_type")
    assert set(got) == {("judge-a", "multiple choice"), ("judge-a", "numerical"), ("judge-b", "multiple choice"),
                        ("rules", "multiple choice")}
    a = got["judge-a", "multiple choice"]
    assert (a["judged"], a["ok"], a["consistent"], a["consistency_rate"]) == (8, 8, 4, 0.5)
    assert a["consistency_rate_accurate"] == pytest.approx(4 / 5)
    n = got["judge-a", "numerical"]
    assert (n["judged"], n["ok"], n["consistency_rate"], n["unparsable"], n["errors"]) == (4, 2, 0.5, 1, 1)
    assert got["judge-b", "multiple choice"]["consistency_rate"] == 0.5
    assert got["rules", "multiple choice"]["consistency_rate"] == 5 / 8


def test_think_length_hist(known_store):
    table = run_preset(known_store, "think_length_hist")
    # p99 of the 17 ok lengths is 228.4, so the width is 16 (228.4 / 16 needs 15 bins)
    assert {r["bin_end"] - r["bin_start"] for r in rows(table)} == {16}
    got = {(r["problem_type"], r["bin_start"]): r["rollouts"] for r in rows(table)}
    assert got == {("(unknown)", 0): 1,
                   ("multiple choice", 0): 1, ("multiple choice", 16): 2, ("multiple choice", 32): 1,
                   ("multiple choice", 48): 2, ("multiple choice", 64): 1, ("multiple choice", 80): 1,
                   ("numerical", 96): 4, ("numerical", 192): 1, ("numerical", 208): 2, ("numerical", 224): 1}


def test_think_length_hist_puts_the_long_tail_in_one_open_bin(store):
    write(store, "prompts", [dict(full_rows("prompts", 1)[0], prompt_id="p", problem_type="OCR")])
    write(store, "rollouts", [rollout(i, "p", True, i + 1) for i in range(200)] + [rollout(200, "p", True, 100_000)])
    table = run_preset(store, "think_length_hist")
    last = rows(table)[-1]
    assert (last["bin_start"], last["bin_end"], last["rollouts"]) == (320, None, 1)
    assert sum(r["rollouts"] for r in rows(table)) == 201


def test_pass_rate_hist(known_store):
    table = run_preset(known_store, "pass_rate_hist")
    assert table.column_names[3:] == list(PASS_RATE_BINS)
    got = by(table, "problem_type")
    assert list(got) == ["all", "(unknown)", "multiple choice", "numerical"]
    # questions: pA 1, pB 0.25, pC 0, pC@1 0.75, pZ 1
    assert [got["all"][b] for b in PASS_RATE_BINS] == [1, 1, 0, 1, 0, 2]
    assert (got["all"]["questions"], got["all"]["mean_pass_rate"]) == (5, pytest.approx(0.6))
    assert [got["multiple choice"][b] for b in PASS_RATE_BINS] == [0, 1, 0, 0, 0, 1]
    assert [got["numerical"][b] for b in PASS_RATE_BINS] == [1, 0, 0, 1, 0, 0]


def test_easy_questions(known_store):
    got = [(r["prompt_id"], r["problem_type"], r["iteration"], r["rollouts"])
           for r in rows(run_preset(known_store, "easy_questions"))]
    assert got == [("pZ", "(unknown)", None, 1), ("pA", "multiple choice", None, 4)]


def test_judge_failures(known_store):
    got = rows(run_preset(known_store, "judge_failures"))
    assert [(r["verifier"], r["status"], r["kind"], r["verdicts"]) for r in got] == [
        ("judge-a", "error", "TimeoutError", 1), ("judge-a", "unparsable", "unparsable output", 1)]
    assert got[1]["example"] == "it could be either"


def test_pairs_by_type(known_store):
    got = {(r["policy"], r["pair_type"]): (r["pairs"], r["prompts"], r["mean_margin"], r["min_margin"],
                                           r["max_margin"])
           for r in rows(run_preset(known_store, "pairs_by_type"))}
    assert got == {("other", "penalty"): (1, 1, 2.0, 2.0, 2.0), ("veripo", "accuracy"): (1, 1, 1.0, 1.0, 1.0),
                   ("veripo", "consistency"): (2, 2, 1.0, 0.5, 1.5)}


def test_judge_agreement(known_store):
    got = rows(run_preset(known_store, "judge_agreement"))
    assert [(r["kind"], r["verifier_a"], r["verifier_b"], r["both_judged"], r["agree"]) for r in got] == [
        ("judge vs judge", "judge-a", "judge-b", 8, 6),
        ("judge vs rules", "judge-a", "rules", 8, 7),
        ("judge vs rules", "judge-b", "rules", 8, 5)]
    # every pair has chance agreement 0.5 (one side labels half the rollouts consistent)
    assert [r["agreement"] for r in got] == [0.75, 0.875, 0.625]
    assert [r["kappa"] for r in got] == pytest.approx([0.5, 0.75, 0.25])
    assert (got[1]["a_consistent_rate"], got[1]["b_consistent_rate"]) == (0.5, 0.625)


def test_judge_agreement_finds_the_rules_verifier_by_engine(store):
    renamed = [dict(r, verifier="aaa-rules-v2") if r["verifier"] == "rules" else r
               for r in verdicts_rows() if r["verifier"] in ("judge-a", "rules")]
    write(store, "verdicts", renamed)
    got = rows(run_preset(store, "judge_agreement"))
    assert [(r["kind"], r["verifier_a"], r["verifier_b"]) for r in got] == [("judge vs rules", "judge-a",
                                                                             "aaa-rules-v2")]


@pytest.mark.parametrize("name", list(PRESETS))
def test_presets_run_on_an_empty_store(store, name):
    table = run_preset(store, name)
    if name == "overview":
        assert [r["rows"] for r in rows(table)] == [0, 0, 0, 0]
    elif name in ("quality_by_type", "pass_rate_hist"):
        assert [r["problem_type"] for r in rows(table)] == ["all"]
    else:
        assert table.num_rows == 0


@pytest.mark.parametrize("name", list(PRESETS))
def test_presets_run_with_only_rollouts(store, name):
    with TableWriter(store, "rollouts", stage="test", config={}) as writer:
        writer.write([rollout(i, "p-missing", i % 2 == 0, 10 * i) for i in range(4)])
        writer.commit()
    table = run_preset(store, name)
    if name == "quality_by_type":
        assert by(table, "problem_type")["(unknown)"]["accuracy"] == 0.5
