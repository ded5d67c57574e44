"""The ``veripo`` pair policy (SPEC section 5), column-at-a-time over the candidate frame.

Per question (the ok rollouts of one ``prompt_id``):

- **chosen pool**: accurate, judged consistent (verdict status ok and label consistent), ``fmt_ok``, not
  repetitive, not truncated. Ranked by: reflective first (``prefer_reflective``), then think length
  under ``think_ceiling`` longest first (those over the ceiling come after every one under it, the least
  over first), then higher ``reward_total``, then ``rollout_id``. Equal texts count once (the best-ranked).
- **rejected candidates**, each rollout under the first type of ``type_order`` it fits:
  ``consistency``: accurate but judged inconsistent (verdict ok, label inconsistent);
  ``penalty``: repetitive, or not ``fmt_ok``, or truncated;
  ``accuracy``: inaccurate, judged-consistent ones first ("consistent but wrong").
  Within a type: lower ``reward_total`` first, then ``rollout_id``. A verdict that failed or could not be
  parsed says nothing about consistency: such a rollout is never chosen and never a consistency reject,
  though it can still be a penalty or accuracy reject. A null figure never puts a rollout in the chosen
  pool and never makes it a reject by itself.
- **texts**: a rejected candidate whose text equals a chosen-pool text is dropped (the two judgements
  contradict each other), and each text is rejected at most once per question.
- **the cap**: rejects are taken round-robin over the types in ``type_order`` (the first of each type,
  then the second of each, ...) until ``max_pairs_per_question`` (K) pairs.
- **chosen for pair j** (0-based in that order) is the j-th ranked chosen text; a chosen text is reused only
  when the question has fewer distinct chosen texts than pairs (pair j then takes chosen j mod n).

All-wrong questions have no chosen pool and give no pair; questions with nothing to reject give none either.
"""

from __future__ import annotations

import polars as pl

from factory.pairs.config import PairConfig

def _is(column: str) -> pl.Expr:
    """True only where the figure is known and true."""
    return pl.col(column).fill_null(False)


def _is_not(column: str) -> pl.Expr:
    """True only where the figure is known and false."""
    return (~pl.col(column)).fill_null(False)


def chosen_pool(frame: pl.LazyFrame, config: PairConfig) -> pl.LazyFrame:
    """Ranked, text-de-duplicated chosen candidates: ``prompt_id, rollout_id, text_hash, chosen_rank``."""
    judged_consistent = (pl.col("verdict_status") == "ok") & _is("consistent")
    eligible = _is("accurate") & judged_consistent & _is("fmt_ok") & ~_is("repetitive") & ~_is("truncated")
    think = pl.col("think_tokens").fill_null(0)
    # longest first; over the ceiling the key turns negative: after every one under it, the least over first
    length = pl.when(think > config.think_ceiling).then(-think).otherwise(think)
    keys = [pl.col("prompt_id")]
    descending = [False]
    if config.prefer_reflective:
        keys.append(_is("reflective"))
        descending.append(True)
    keys += [length, pl.col("reward"), pl.col("rollout_id")]
    descending += [True, True, False]
    return (frame.filter(eligible)
            .sort(keys, descending=descending, nulls_last=True)
            .unique(["prompt_id", "text_hash"], keep="first", maintain_order=True)
            .select("prompt_id", "rollout_id", "text_hash",
                    pl.int_range(pl.len()).over("prompt_id").alias("chosen_rank")))


def rejected_type(config: PairConfig) -> pl.Expr:
    """The first type of ``config.type_order`` a rollout fits as a reject (null: none)."""
    fits = {
        "consistency": _is("accurate") & (pl.col("verdict_status") == "ok") & _is_not("consistent"),
        "penalty": _is("repetitive") | _is_not("fmt_ok") | _is("truncated"),
        "accuracy": _is_not("accurate"),
    }
    expr = pl.when(fits[config.type_order[0]]).then(pl.lit(config.type_order[0]))
    for name in config.type_order[1:]:
        expr = expr.when(fits[name]).then(pl.lit(name))
    return expr.otherwise(None)


def veripo_pairs(frame: pl.LazyFrame, config: PairConfig) -> pl.LazyFrame:
    """Selected pairs (``prompt_id, pair_type, chosen_rollout_id, rejected_rollout_id``) per the module doc."""
    chosen = chosen_pool(frame, config)
    type_index = pl.col("pair_type").replace_strict(config.type_order, range(len(config.type_order)),
                                                    return_dtype=pl.Int64)
    # "consistent but wrong" first among accuracy rejects; the key is constant for the other types
    judged_consistent_first = pl.when(pl.col("pair_type") == "accuracy").then(~_is("consistent")).otherwise(False)
    rejected = (frame.with_columns(pair_type=rejected_type(config))
                .filter(pl.col("pair_type").is_not_null())
                .join(chosen.select("prompt_id", "text_hash"), on=["prompt_id", "text_hash"], how="anti")
                .with_columns(type_index=type_index)
                .sort(["prompt_id", "type_index", judged_consistent_first, "reward", "rollout_id"], nulls_last=True)
                .unique(["prompt_id", "text_hash"], keep="first", maintain_order=True)
                .with_columns(type_rank=pl.int_range(pl.len()).over(["prompt_id", "type_index"]))
                .sort(["prompt_id", "type_rank", "type_index"])
                .with_columns(slot=pl.int_range(pl.len()).over("prompt_id"))
                .filter(pl.col("slot") < config.max_pairs_per_question))
    pool_size = chosen.group_by("prompt_id").agg(pool=pl.len().cast(pl.Int64))
    return (rejected.join(pool_size, on="prompt_id", how="inner")
            .with_columns(chosen_rank=pl.col("slot") % pl.col("pool"))
            .join(chosen.select("prompt_id", "chosen_rank", pl.col("rollout_id").alias("chosen_rollout_id")),
                  on=["prompt_id", "chosen_rank"], how="inner")
            .sort(["prompt_id", "slot"])
            .select("prompt_id", "pair_type", "chosen_rollout_id", pl.col("rollout_id").alias("rejected_rollout_id")))
