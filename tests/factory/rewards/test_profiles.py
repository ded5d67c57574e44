"""score_frame under both profiles: exact values per answer type, format, length bonus, errors, schema."""

import polars as pl
import pytest

from factory.rewards import PROFILES, score_frame

OPTIONS = ["A. red", "B. blue", "C. green", "D. black"]
SCHEMA = {
    "prompt_id": pl.Utf8, "completion": pl.Utf8, "finish_reason": pl.Utf8, "problem_type": pl.Utf8,
    "gold": pl.Utf8, "options": pl.List(pl.Utf8), "completion_tokens": pl.Int64,
}
ADDED = {
    "think": pl.Utf8, "answer": pl.Utf8, "fmt_ok": pl.Boolean, "truncated": pl.Boolean,
    "think_tokens": pl.Int64, "reward_accuracy": pl.Float64, "reward_format": pl.Float64,
    "reward_length": pl.Float64, "reward_total": pl.Float64, "reward_profile": pl.Utf8, "accurate": pl.Boolean,
}


def ok(answer: str) -> str:
    return f"<think>let me think</think><answer>{answer}</answer>"


def frame(rows: list[dict]) -> pl.DataFrame:
    defaults = {"prompt_id": "p", "finish_reason": "stop", "options": None, "completion_tokens": None}
    return pl.DataFrame([{**defaults, **row} for row in rows], schema=SCHEMA)


def score_one(profile, problem_type, completion, gold, *, finish_reason="stop", options=None):
    df = frame([{"completion": completion, "problem_type": problem_type, "gold": gold,
                 "finish_reason": finish_reason, "options": options}])
    return score_frame(df, profile).row(0, named=True)


def test_profile_names():
    assert PROFILES == ("video-r1", "veripo")


VIDEO_R1_CASES = [
    # problem type, completion, gold, accuracy, format, accurate
    ("multiple choice", ok("B"), "B", 1.0, 1.0, True),
    ("multiple choice", ok("$B$"), "B", 0.0, 1.0, False),
    ("multiple choice", ok("B. blue"), "B", 0.0, 1.0, False),
    ("numerical", ok("3"), "3", 1.0, 1.0, True),
    ("numerical", ok("3.0"), "3", 0.0, 1.0, False),  # decimal-point rule
    ("numerical", ok("3.14"), "3.14159", 1.0, 1.0, True),
    ("numerical", ok("3"), "abc", 0.0, 1.0, False),  # unparsable gold
    ("numerical", ok("3"), None, 0.0, 1.0, False),  # null gold
    ("OCR", ok("STOP"), "STOP AHEAD", 0.5, 1.0, True),
    ("OCR", ok("GO"), "STOP AHEAD", 0.0, 1.0, False),
    ("free-form", ok("the cat ran"), "the cat sat", 11 / 18, 1.0, True),
    ("free-form", ok("dogs bark"), "the cat sat", 0.0, 1.0, False),
    ("regression", ok("12.5"), "10", 0.75, 1.0, True),
    ("regression", ok("16"), "10", 0.4, 1.0, False),
    ("regression", ok("0"), "0", 1.0, 1.0, True),
    # Format: Video-R1's fullmatch; repeated blocks still match it (fmt_ok is tested separately).
    ("multiple choice", "<think>a</think><think>b</think><answer>B</answer>", "B", 1.0, 1.0, True),
    ("multiple choice", "B", "B", 0.0, 0.0, False),
    ("multiple choice", "<answer>B</answer>", "B", 1.0, 0.0, True),
    ("multiple choice", ok("B") + "\n", "B", 1.0, 0.0, True),
    ("multiple choice", "<think>long thought</think><answer>B", "B", 0.0, 0.0, False),  # truncated
]


@pytest.mark.parametrize(("problem_type", "completion", "gold", "accuracy", "fmt", "accurate"), VIDEO_R1_CASES)
def test_video_r1(problem_type, completion, gold, accuracy, fmt, accurate):
    row = score_one("video-r1", problem_type, completion, gold)
    assert row["reward_accuracy"] == pytest.approx(accuracy, abs=1e-12)
    assert row["reward_format"] == fmt
    assert row["reward_length"] == 0.0
    assert row["reward_total"] == pytest.approx(accuracy + fmt, abs=1e-12)
    assert row["accurate"] is accurate
    assert row["reward_profile"] == "video-r1"


VERIPO_CASES = [
    ("multiple choice", ok("$B$"), "B", OPTIONS, 1.0, 0.5, True),
    ("multiple choice", ok("B"), "B", OPTIONS, 1.0, 0.5, True),
    ("multiple choice", ok("(B)"), "B", OPTIONS, 1.0, 0.5, True),
    ("multiple choice", ok("B. red"), "B", OPTIONS, 1.0, 0.5, True),
    ("multiple choice", ok("$A$"), "B", OPTIONS, 0.0, 0.5, False),
    ("numerical", ok("3.0"), "3", None, 1.0, 0.5, True),  # MRA: no decimal-point rule
    ("numerical", ok("$11$"), "10", None, 0.9, 0.5, True),
    ("numerical", ok("13"), "10", None, 0.5, 0.5, True),  # rel 0.3 <= 1 - C for C <= 0.7
    ("numerical", ok("14"), "10", None, 0.3, 0.5, False),
    ("numerical", ok("3"), "abc", None, 0.0, 0.5, False),
    ("regression", ok("$12.5$"), "10", None, 0.6, 0.5, True),
    ("regression", ok("\\frac{25}{2}"), "10", None, 0.6, 0.5, True),
    ("OCR", ok("STOP"), "STOP AHEAD", None, 0.5, 0.5, True),
    ("free-form", ok("the cat ran"), "the cat sat", None, 11 / 18, 0.5, True),
    # Format credit needs fmt_ok: exactly one think block then one answer block.
    ("multiple choice", "<think>a</think><think>b</think><answer>B</answer>", "B", OPTIONS, 1.0, 0.0, True),
    ("multiple choice", "<think>a</think><answer>B</answer><answer>B</answer>", "B", OPTIONS, 1.0, 0.0, True),
    ("multiple choice", ok("$B$") + "\n", "B", OPTIONS, 1.0, 0.5, True),
    ("multiple choice", "<answer>$B$</answer>", "B", OPTIONS, 1.0, 0.0, True),
    ("multiple choice", "<think>long thought</think><answer>$B$", "B", OPTIONS, 0.0, 0.0, False),
]


@pytest.mark.parametrize(("problem_type", "completion", "gold", "options", "accuracy", "fmt", "accurate"),
                         VERIPO_CASES)
def test_veripo(problem_type, completion, gold, options, accuracy, fmt, accurate):
    row = score_one("veripo", problem_type, completion, gold, options=options)
    assert row["reward_accuracy"] == pytest.approx(accuracy, abs=1e-12)
    assert row["reward_format"] == fmt
    assert row["reward_length"] == 0.0
    assert row["reward_total"] == pytest.approx(accuracy + fmt, abs=1e-12)
    assert row["accurate"] is accurate
    assert row["reward_profile"] == "veripo"


def test_answer_column_follows_the_profile():
    df = frame([{"completion": ok("$B$"), "problem_type": "multiple choice", "gold": "B"}])
    assert score_frame(df, "video-r1")["answer"].to_list() == ["$B$"]
    assert score_frame(df, "veripo")["answer"].to_list() == ["B"]


@pytest.mark.parametrize(("completion", "finish_reason", "truncated", "fmt_ok"), [
    (ok("B"), "stop", False, True),
    (ok("B"), "length", True, True),
    ("<think>never finished", "length", True, False),
    ("<think>t</think><answer>B", None, True, False),
])
def test_truncated_and_fmt_ok_columns(completion, finish_reason, truncated, fmt_ok):
    for profile in PROFILES:
        row = score_one(profile, "multiple choice", completion, "B", finish_reason=finish_reason)
        assert (row["truncated"], row["fmt_ok"]) == (truncated, fmt_ok)


# Length bonus: (prompt_id, answer, completion_tokens, expected reward_length); gold is always "B".
LENGTH_CASES = [
    # Three correct in the group: every correct rollout of 320..512 tokens (inclusive) gets 0.2.
    ("g1", "B", 400, 0.2),
    ("g1", "B", 320, 0.2),
    ("g1", "B", 512, 0.2),
    ("g1", "B", 319, 0.0),
    ("g1", "B", 513, 0.0),
    ("g1", "B", None, 0.0),
    ("g1", "A", 400, 0.0),  # the rollout itself must be correct
    # Only one correct rollout in the group: no bonus for anyone.
    ("g2", "B", 400, 0.0),
    ("g2", "A", 400, 0.0),
    # One correct in each of two groups: groups are not pooled.
    ("g3", "B", 400, 0.0),
    ("g4", "B", 400, 0.0),
]


def length_frame() -> pl.DataFrame:
    return frame([{"prompt_id": pid, "completion": ok(ans), "problem_type": "multiple choice", "gold": "B",
                   "completion_tokens": tokens} for pid, ans, tokens, _ in LENGTH_CASES])


def test_length_bonus_on():
    out = score_frame(length_frame(), "video-r1", length_bonus=True)
    assert out["reward_length"].to_list() == [expected for *_, expected in LENGTH_CASES]
    expected_total = [acc + 1.0 + bonus for acc, bonus in zip(out["reward_accuracy"], out["reward_length"])]
    assert out["reward_total"].to_list() == pytest.approx(expected_total)


def test_length_bonus_off_by_default():
    out = score_frame(length_frame(), "video-r1")
    assert out["reward_length"].to_list() == [0.0] * len(LENGTH_CASES)


def test_length_bonus_counts_partial_credit_above_0_1():
    # Video-R1 selects rollouts with accuracy reward > 0.1, not only fully correct ones.
    df = frame([
        {"prompt_id": "o", "completion": ok("a x y z"), "problem_type": "OCR", "gold": "a b c d",
         "completion_tokens": 400},  # 1 - WER = 0.25: not accurate, still counted
        {"prompt_id": "o", "completion": ok("a b c d"), "problem_type": "OCR", "gold": "a b c d",
         "completion_tokens": 400},
        {"prompt_id": "o", "completion": ok("w x y z"), "problem_type": "OCR", "gold": "a b c d",
         "completion_tokens": 400},
    ])
    out = score_frame(df, "video-r1", length_bonus=True)
    assert out["reward_accuracy"].to_list() == pytest.approx([0.25, 1.0, 0.0])
    assert out["accurate"].to_list() == [False, True, False]
    assert out["reward_length"].to_list() == [0.2, 0.2, 0.0]


def test_length_bonus_needs_completion_tokens_column():
    df = length_frame().drop("completion_tokens")
    assert score_frame(df, "video-r1", length_bonus=True)["reward_length"].to_list() == [0.0] * len(LENGTH_CASES)


def test_output_schema_row_order_and_input_columns():
    df = frame([
        {"prompt_id": "p2", "completion": ok("3"), "problem_type": "numerical", "gold": "3"},
        {"prompt_id": "p1", "completion": "<think>a b c</think><answer>B</answer>",
         "problem_type": "multiple choice", "gold": "B", "options": OPTIONS},
        {"prompt_id": "p3", "completion": None, "finish_reason": None, "problem_type": "OCR", "gold": "x"},
    ])
    for profile in PROFILES:
        out = score_frame(df, profile)
        assert out.columns[: len(SCHEMA)] == list(SCHEMA)
        assert {name: out.schema[name] for name in ADDED} == ADDED
        assert out["prompt_id"].to_list() == ["p2", "p1", "p3"]
        assert out["think"].to_list() == ["let me think", "a b c", None]
        assert out["think_tokens"].to_list() == [3, 3, 0]
        assert out["truncated"].to_list() == [False, False, True]
        assert out["reward_accuracy"].to_list() == [1.0, 1.0, 0.0]


def test_given_think_tokens_are_kept():
    df = frame([{"completion": ok("B"), "problem_type": "multiple choice", "gold": "B"}] * 2)
    df = df.with_columns(think_tokens=pl.Series([42, None], dtype=pl.Int32))
    out = score_frame(df, "veripo")
    assert out["think_tokens"].to_list() == [42, 3]
    assert out.schema["think_tokens"] == pl.Int64


def test_empty_frame():
    out = score_frame(frame([]), "video-r1", length_bonus=True)
    assert out.height == 0
    assert {name: out.schema[name] for name in ADDED} == ADDED


def test_unknown_profile_is_named():
    with pytest.raises(ValueError, match="'r1-zero'"):
        score_frame(frame([]), "r1-zero")


@pytest.mark.parametrize("problem_type", ["yes/no", "Multiple Choice", None])
def test_unknown_problem_type_names_type_and_prompt(problem_type):
    df = frame([
        {"prompt_id": "fine", "completion": ok("B"), "problem_type": "multiple choice", "gold": "B"},
        {"prompt_id": "bad-prompt", "completion": ok("B"), "problem_type": problem_type, "gold": "B"},
    ])
    for profile in PROFILES:
        with pytest.raises(ValueError, match=rf"bad-prompt.*{problem_type!r}"):
            score_frame(df, profile)


def test_missing_columns_are_named():
    df = frame([{"completion": ok("B"), "problem_type": "multiple choice", "gold": "B"}]).drop("gold")
    with pytest.raises(ValueError, match="gold"):
        score_frame(df, "video-r1")


def test_length_bonus_is_refused_under_veripo():
    with pytest.raises(ValueError, match="veripo"):
        score_frame(frame([]), "veripo", length_bonus=True)
