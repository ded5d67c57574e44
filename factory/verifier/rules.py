"""Rule figures that need no model: repetition and reflection (format and truncation live in rewards).

Column-at-a-time over a polars frame of completions; the figures are columns, the booleans are
thresholds over them, all set in :class:`RuleConfig`.
"""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass, field

import polars as pl

DEFAULT_REFLECTION_CUES = (
    "wait", "hmm", "let me re-check", "let me recheck", "let me double-check", "let me double check",
    "let me verify", "on second thought", "i made a mistake", "actually,", "let me reconsider",
    "re-examine", "reconsider", "let me check again", "but wait",
)


@dataclass
class RuleConfig:
    """Thresholds of the repetition and reflection rules."""

    ngram: int = 4
    """Word n-gram size for the repetition figures."""
    max_ngram_repeats: int = 5
    """A completion whose most frequent word n-gram appears more often than this is repetitive."""
    min_distinct_ratio: float = 0.5
    """...or whose distinct/all n-gram ratio is below this (needs at least ``min_ngrams`` n-grams)."""
    min_ngrams: int = 20
    """Below this many n-grams the distinct ratio is not judged (short texts are naturally distinct)."""
    reflection_cues: list[str] = field(default_factory=lambda: list(DEFAULT_REFLECTION_CUES))
    """Lower-case phrases that mark self-correction inside the think text."""


def _ngram_figures(text: str | None, n: int) -> tuple[int, float, int]:
    words = (text or "").lower().split()
    grams = [tuple(words[i:i + n]) for i in range(max(0, len(words) - n + 1))]
    if not grams:
        return 0, 1.0, 0
    counts = Counter(grams)
    return max(counts.values()), len(counts) / len(grams), len(grams)


def repetition_figures(completions: pl.Series, config: RuleConfig) -> pl.DataFrame:
    """``rep_max_ngram_count``, ``rep_distinct_ratio`` and ``repetitive`` for each completion."""
    figures = [_ngram_figures(text, config.ngram) for text in completions.to_list()]
    frame = pl.DataFrame(figures, schema={"rep_max_ngram_count": pl.Int64, "rep_distinct_ratio": pl.Float64,
                                          "_ngrams": pl.Int64}, orient="row")
    return frame.with_columns(
        repetitive=(pl.col("rep_max_ngram_count") > config.max_ngram_repeats)
        | ((pl.col("_ngrams") >= config.min_ngrams) & (pl.col("rep_distinct_ratio") < config.min_distinct_ratio))
    ).drop("_ngrams")


def reflective(think: pl.Expr, config: RuleConfig) -> pl.Expr:
    """True where the think text holds a self-correction cue (case-insensitive; null think -> False)."""
    lowered = think.fill_null("").str.to_lowercase()
    return lowered.str.contains_any(list(config.reflection_cues)).fill_null(False)


def apply_rules(frame: pl.DataFrame, config: RuleConfig | None = None) -> pl.DataFrame:
    """Add the repetition and reflection columns to a frame with ``completion`` and ``think``."""
    config = config or RuleConfig()
    figures = repetition_figures(frame["completion"], config)
    return frame.with_columns(figures).with_columns(reflective=reflective(pl.col("think"), config))
