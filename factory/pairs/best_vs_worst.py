"""The ``best-vs-worst`` pair policy: per question, the highest ``reward_total`` against the lowest.

One ``margin`` pair per question when highest - lowest >= ``min_margin`` (within 1e-9, so that 0.7 - 0.2
counts as 0.5) and the two texts differ. Ties
break by ``rollout_id`` (the smallest wins on both sides). Rollouts with a null reward take no part. Verdicts
are not consulted (the stage still copies their consistency figures onto the pair rows).
"""

from __future__ import annotations

import polars as pl

from factory.pairs.config import PairConfig

MARGIN_TOLERANCE = 1e-9


def best_vs_worst_pairs(frame: pl.LazyFrame, config: PairConfig) -> pl.LazyFrame:
    """Selected pairs (``prompt_id, pair_type, chosen_rollout_id, rejected_rollout_id``) per the module doc."""
    ranked = frame.filter(pl.col("reward").is_not_null())

    def pick(column: str, *, best: bool) -> pl.Expr:
        return pl.col(column).sort_by(["reward", "rollout_id"], descending=[best, False]).first()

    ends = ranked.group_by("prompt_id").agg(
        chosen_rollout_id=pick("rollout_id", best=True), rejected_rollout_id=pick("rollout_id", best=False),
        chosen_hash=pick("text_hash", best=True), rejected_hash=pick("text_hash", best=False),
        spread=pl.col("reward").max() - pl.col("reward").min())
    return (ends.filter((pl.col("spread") >= config.min_margin - MARGIN_TOLERANCE) & (pl.col("chosen_hash") != pl.col("rejected_hash")))
            .sort("prompt_id")
            .select("prompt_id", pl.lit("margin").alias("pair_type"), "chosen_rollout_id", "rejected_rollout_id"))
