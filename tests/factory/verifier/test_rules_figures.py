import polars as pl

from factory.verifier.rules import RuleConfig, apply_rules


def figures(completion, think=None, **config):
    frame = pl.DataFrame({"completion": [completion], "think": [think]})
    return apply_rules(frame, RuleConfig(**config)).row(0, named=True)


def test_repeated_ngrams_are_counted_and_flagged():
    row = figures("the cat sat on " * 10)
    assert row["rep_max_ngram_count"] == 10 and row["repetitive"] is True
    assert row["rep_distinct_ratio"] == 4 / 37


def test_distinct_ratio_rule_needs_enough_ngrams():
    text = " ".join(f"w{i % 12}" for i in range(40))  # 12 distinct 4-grams over 37: max repeat 4, ratio 12/37
    row = figures(text, max_ngram_repeats=10)
    assert row["rep_max_ngram_count"] == 4 and row["rep_distinct_ratio"] == 12 / 37 and row["repetitive"] is True
    short = figures("a b c d a b c d", max_ngram_repeats=10)
    assert short["repetitive"] is False  # 5 n-grams: too few to judge the ratio


def test_normal_text_is_not_repetitive():
    row = figures("The square starts at the left edge and moves steadily to the right across all frames.")
    assert row["repetitive"] is False and row["rep_max_ngram_count"] == 1 and row["rep_distinct_ratio"] == 1.0


def test_reflection_cues_in_think_only():
    assert figures("x", think="It is B. Wait, let me re-check the frames.")["reflective"] is True
    assert figures("wait", think="It moves right, option A.")["reflective"] is False
    assert figures("x", think=None)["reflective"] is False
    assert figures("x", think="Hold on, recount", reflection_cues=["hold on"])["reflective"] is True
