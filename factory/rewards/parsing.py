"""Parse completions into think / answer / format / truncation columns, a column at a time.

Every function here returns polars expressions or frames; nothing loops over rows in Python. The
regular expressions are the Video-R1 ones (``src/r1-v/src/open_r1/grpo.py``), run by polars' Rust regex
engine: with lazy quantifiers and explicit ``\\A``/``\\z`` anchors it accepts exactly the strings Python's
``re.fullmatch``/``re.search`` accept for these patterns.

Guarantees of :func:`parse_frame` (one row per completion, row order kept):

- ``think``: the first ``<think>...</think>`` block's content, stripped; null when there is none.
- ``answer``: the first ``<answer>...</answer>`` block's content, stripped (Video-R1's
  ``<answer>\\s*(.*?)\\s*</answer>``); null when there is none (also when ``</answer>`` is missing). With
  ``strip_dollars`` a ``$...$`` wrapping (any number of ``$`` on each side, none inside) is removed too.
- ``format_match``: Video-R1's format rule, ``re.fullmatch(r"<think>.*?</think>\\s*<answer>.*?</answer>",
  completion, re.DOTALL)`` on the raw completion. Under DOTALL ``.*?`` may run across tags, so a
  completion with two think blocks still matches: that is the reference behaviour, kept on purpose.
- ``fmt_ok``: stricter: the completion, stripped of surrounding whitespace, matches the same pattern
  *and* holds each of ``<think>``, ``</think>``, ``<answer>``, ``</answer>`` exactly once, i.e. exactly one
  think block followed by exactly one answer block.
- ``truncated``: ``finish_reason == "length"`` or no ``</answer>`` in the completion.
- ``think_tokens``: the given ``think_tokens`` where present; otherwise the number of whitespace-separated
  tokens in ``think`` (0 when there is no think block).

A null completion is read as the empty string: no think, no answer, not well formed, truncated.
"""

from __future__ import annotations

import polars as pl

THINK_RE = r"(?s)<think>(.*?)</think>"
ANSWER_RE = r"(?s)<answer>\s*(.*?)\s*</answer>"
# Video-R1's format_reward pattern, anchored at both ends to act as re.fullmatch.
FORMAT_RE = r"(?s)\A<think>.*?</think>\s*<answer>.*?</answer>\z"
TAGS = ("<think>", "</think>", "<answer>", "</answer>")
# A whole answer wrapped in $...$ with no $ inside (the VerIPO prompt asks for "$B$").
DOLLAR_WRAPPED_RE = r"(?s)\A\s*\$+([^$]*)\$+\s*\z"


def think_expr(completion: pl.Expr) -> pl.Expr:
    """Content of the first think block, stripped; null if absent."""
    return completion.str.extract(THINK_RE, 1).str.strip_chars()


def answer_expr(completion: pl.Expr, *, strip_dollars: bool = False) -> pl.Expr:
    """Content of the first answer block, stripped (and unwrapped from ``$...$`` if asked); null if absent."""
    answer = completion.str.extract(ANSWER_RE, 1).str.strip_chars()
    if strip_dollars:
        answer = unwrap_dollars_expr(answer)
    return answer


def unwrap_dollars_expr(text: pl.Expr) -> pl.Expr:
    """``$B$`` -> ``B``, ``$$3.5$$`` -> ``3.5``; text that is not wholly wrapped is returned unchanged."""
    inner = text.str.extract(DOLLAR_WRAPPED_RE, 1).str.strip_chars()
    return pl.when(inner.is_not_null()).then(inner).otherwise(text)


def format_match_expr(completion: pl.Expr) -> pl.Expr:
    """Video-R1's format rule on the raw completion (true/false, never null)."""
    return completion.str.contains(FORMAT_RE).fill_null(False)


def fmt_ok_expr(completion: pl.Expr) -> pl.Expr:
    """Exactly one think block then exactly one answer block, nothing but whitespace around them."""
    ok = completion.str.strip_chars().str.contains(FORMAT_RE)
    for tag in TAGS:
        ok = ok & (completion.str.count_matches(tag, literal=True) == 1)
    return ok.fill_null(False)


def truncated_expr(completion: pl.Expr, finish_reason: pl.Expr) -> pl.Expr:
    """Finish reason ``length`` or no closing answer tag (true/false, never null)."""
    cut = (finish_reason == "length").fill_null(False)
    unclosed = completion.str.contains("</answer>", literal=True).not_().fill_null(True)
    return cut | unclosed


def whitespace_tokens_expr(text: pl.Expr) -> pl.Expr:
    """Number of whitespace-separated tokens (``len(text.split())``); 0 for null text."""
    return text.str.count_matches(r"\S+").cast(pl.Int64).fill_null(0)


def parse_frame(df: pl.DataFrame, *, strip_dollars: bool = False) -> pl.DataFrame:
    """Add ``think, answer, format_match, fmt_ok, truncated, think_tokens`` to ``df`` (see module doc).

    ``df`` needs ``completion``; ``finish_reason`` and ``think_tokens`` are optional (absent = null).
    """
    completion = pl.col("completion").cast(pl.Utf8).fill_null("")
    finish = pl.col("finish_reason").cast(pl.Utf8) if "finish_reason" in df.columns else pl.lit(None, pl.Utf8)
    counted = whitespace_tokens_expr(pl.col("think"))
    if "think_tokens" in df.columns:
        # Tokenizer counts, where the engine gave them, beat the whitespace estimate.
        think_tokens = pl.coalesce(pl.col("think_tokens").cast(pl.Int64), counted)
    else:
        think_tokens = counted
    return df.with_columns(
        think=think_expr(completion),
        answer=answer_expr(completion, strip_dollars=strip_dollars),
        format_match=format_match_expr(completion),
        fmt_ok=fmt_ok_expr(completion),
        truncated=truncated_expr(completion, finish),
    ).with_columns(think_tokens=think_tokens)
