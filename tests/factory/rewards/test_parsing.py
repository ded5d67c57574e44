"""Think/answer extraction, Video-R1's format regex vs the strict fmt_ok, truncation, think length."""

import polars as pl
import pytest

from factory.rewards.parsing import parse_frame


def parse_one(completion, finish_reason="stop", *, strip_dollars=False, **extra):
    df = pl.DataFrame({"completion": [completion], "finish_reason": [finish_reason], **extra},
                      schema_overrides={"completion": pl.Utf8, "finish_reason": pl.Utf8})
    return parse_frame(df, strip_dollars=strip_dollars).row(0, named=True)


@pytest.mark.parametrize(("completion", "think", "answer"), [
    ("<think>a b</think><answer>B</answer>", "a b", "B"),
    ("<think>\n  reason \n</think>\n<answer>\n 3.5 \n</answer>", "reason", "3.5"),
    ("<answer>B</answer>", None, "B"),
    ("<think>only thinking</think>", "only thinking", None),
    ("<think>t</think><answer>B", "t", None),  # unclosed answer: no answer
    ("<think>1</think><think>2</think><answer>A</answer><answer>C</answer>", "1", "A"),  # first blocks
    ("<think></think><answer></answer>", "", ""),
    ("no tags at all", None, None),
    (None, None, None),
])
def test_think_and_answer(completion, think, answer):
    row = parse_one(completion)
    assert (row["think"], row["answer"]) == (think, answer)


@pytest.mark.parametrize(("answer_text", "plain", "unwrapped"), [
    ("$B$", "$B$", "B"),
    ("$$3.5$$", "$$3.5$$", "3.5"),
    ("$ \\frac{1}{2} $", "$ \\frac{1}{2} $", "\\frac{1}{2}"),
    ("$A$ or $B$", "$A$ or $B$", "$A$ or $B$"),  # not one wrapping: left alone
    ("$5", "$5", "$5"),
    ("B", "B", "B"),
])
def test_dollar_unwrapping_only_for_veripo_style(answer_text, plain, unwrapped):
    completion = f"<think>t</think><answer>{answer_text}</answer>"
    assert parse_one(completion)["answer"] == plain
    assert parse_one(completion, strip_dollars=True)["answer"] == unwrapped


@pytest.mark.parametrize(("completion", "format_match", "fmt_ok"), [
    ("<think>a</think><answer>B</answer>", True, True),
    ("<think>a</think>\n\n<answer>B</answer>", True, True),
    ("<think></think><answer></answer>", True, True),
    # Video-R1's DOTALL .*? runs across tags, so its regex accepts repeated blocks; fmt_ok does not.
    ("<think>a</think><think>b</think><answer>B</answer>", True, False),
    ("<think>a</think><answer>B</answer><answer>C</answer>", True, False),
    ("<think>a<think>b</think><answer>B</answer>", True, False),
    # fmt_ok forgives surrounding whitespace, Video-R1's fullmatch does not.
    ("<think>a</think><answer>B</answer>\n", False, True),
    ("  <think>a</think><answer>B</answer>", False, True),
    ("x<think>a</think><answer>B</answer>", False, False),
    ("<think>a</think><answer>B</answer> done", False, False),
    ("<think>a</think> so <answer>B</answer>", False, False),
    ("<answer>B</answer><think>a</think>", False, False),
    ("<think>a</think><answer>B", False, False),
    ("<answer>B</answer>", False, False),
    ("", False, False),
    (None, False, False),
])
def test_format_regex_and_fmt_ok(completion, format_match, fmt_ok):
    row = parse_one(completion)
    assert (row["format_match"], row["fmt_ok"]) == (format_match, fmt_ok)


@pytest.mark.parametrize(("completion", "finish_reason", "truncated"), [
    ("<think>a</think><answer>B</answer>", "stop", False),
    ("<think>a</think><answer>B</answer>", None, False),
    ("<think>a</think><answer>B</answer>", "length", True),  # cut by max_tokens even if closed
    ("<think>a</think><answer>B", "stop", True),  # no closing tag
    ("<think>a long thought that never ends", "length", True),
    ("plain text", None, True),
    (None, None, True),
])
def test_truncated(completion, finish_reason, truncated):
    assert parse_one(completion, finish_reason)["truncated"] is truncated


def test_think_tokens_given_win_and_nulls_fall_back_to_whitespace_count():
    df = pl.DataFrame({
        "completion": ["<think>one two\nthree</think><answer>B</answer>"] * 2 + ["<answer>B</answer>"],
        "think_tokens": [7, None, None],
    })
    assert parse_frame(df)["think_tokens"].to_list() == [7, 3, 0]


def test_think_tokens_without_the_column():
    df = pl.DataFrame({"completion": ["<think> a  b\tc d </think><answer>B</answer>", "<answer>B</answer>"]})
    out = parse_frame(df)
    assert out["think_tokens"].to_list() == [4, 0]
    assert out.schema["think_tokens"] == pl.Int64
