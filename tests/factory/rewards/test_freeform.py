"""Free-form: mean of ROUGE-1/2/L F-measures (rouge-score, Porter stemmer), clamped to [0, 1]."""

import pytest

from factory.rewards.freeform import rouge_mean_f, video_r1_freeform


@pytest.mark.parametrize(("answer", "gold", "expected"), [
    ("the cat sat on the mat", "the cat sat on the mat", 1.0),
    # R1 = 2/3, R2 = 1/2 (bigram "the cat" of two), RL = 2/3.
    ("the cat ran", "the cat sat", 11 / 18),
    ("Hello, World!", "hello world", 1.0),  # rouge-score lower-cases and drops punctuation
    ("cats", "cat", 2 / 3),  # stemmed: R1 = RL = 1, no bigrams: R2 = 0
    ("dogs bark", "the cat sat", 0.0),
    ("你好", "你好", 0.0),  # the default tokenizer keeps [a-z0-9] only
    ("", "the cat", 0.0),
    (None, "the cat", 0.0),
    ("the cat", None, 0.0),
    ("the cat", "", 0.0),
])
def test_video_r1_freeform(answer, gold, expected):
    assert video_r1_freeform(answer, gold) == pytest.approx(expected)


def test_reference_and_hypothesis_roles():
    # ROUGE F is symmetric in precision/recall, so swapping sides changes nothing for F.
    assert rouge_mean_f("a b c d", "a b") == pytest.approx(rouge_mean_f("a b", "a b c d"))
