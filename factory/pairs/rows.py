"""Pair rows of the ``pairs`` table from a policy's selection: both sides' figures, texts, margin, weight, key."""

from __future__ import annotations

import hashlib
from datetime import datetime

import polars as pl

from schemas import pair_id
from schemas.keys import KEY_HEX_CHARS
from schemas.errors import FactoryError

FLAG_NAMES = ("accurate", "consistent", "fmt_ok", "reflective", "repetitive", "truncated")
_KEY_CHECKS = 64  # rows whose vectorised key is compared with schemas.pair_id on every run


def flags() -> pl.Expr:
    """The names in :data:`FLAG_NAMES` that hold (are known true) for a rollout, in that order."""
    return pl.concat_list([pl.when(pl.col(name).fill_null(False)).then(pl.lit(name)) for name in FLAG_NAMES]
                          ).list.drop_nulls()


def pair_ids(frame: pl.DataFrame, policy: str) -> pl.Series:
    """:func:`schemas.pair_id` of every row of ``frame`` (``chosen_rollout_id``, ``rejected_rollout_id``).

    The canonical JSON is built column-at-a-time (polars writes it as ``schemas.canonical_json`` does: sorted
    keys, no spaces, UTF-8); the first rows are checked against ``schemas.pair_id`` on every call.
    """
    payload = frame.select(
        pl.concat_str([pl.lit('{"fields":'),
                       pl.struct(chosen=pl.col("chosen_rollout_id"), policy=pl.lit(policy),
                                 rejected=pl.col("rejected_rollout_id")).struct.json_encode(),
                       pl.lit(',"kind":"pairs"}')]))
    keys = [hashlib.sha256(text.encode()).hexdigest()[:KEY_HEX_CHARS] for text in payload.to_series()]
    for row, key in zip(frame.head(_KEY_CHECKS).iter_rows(named=True), keys):
        expected = pair_id(chosen_rollout_id=row["chosen_rollout_id"], rejected_rollout_id=row["rejected_rollout_id"],
                           policy=policy)
        if key != expected:
            raise FactoryError(f"pair key drift: vectorised key {key} != schemas.pair_id {expected} for chosen "
                               f"{row['chosen_rollout_id']}, rejected {row['rejected_rollout_id']}; "
                               "factory/pairs/rows.py must follow schemas.canonical_json")
    return pl.Series("pair_id", keys, dtype=pl.String)


def pair_rows(selected: pl.DataFrame, candidates: pl.DataFrame, texts: pl.DataFrame, *, policy: str,
              verifier: str | None, weights: dict[str, float], created_at: datetime, code_version: str) -> pl.DataFrame:
    """Rows in the ``pairs`` schema's column order, in ``selected``'s order.

    ``selected`` holds ``prompt_id, pair_type, chosen_rollout_id, rejected_rollout_id``; ``candidates`` the
    figures of every rollout (see :mod:`factory.pairs.inputs`); ``texts`` ``rollout_id, completion``. A pair
    whose two texts are equal is dropped here as a last guard (the policies compare text hashes).
    """
    ids = pl.concat([selected["chosen_rollout_id"], selected["rejected_rollout_id"]]).unique().implode()
    side = (candidates.filter(pl.col("rollout_id").is_in(ids))
            .select("rollout_id", "reward", "consistent", "think_tokens", "iteration", flags().alias("flags")))
    text = texts.select("rollout_id", "completion").filter(pl.col("rollout_id").is_in(ids))
    joined = selected
    for name in ("chosen", "rejected"):
        joined = (joined
                  .join(side.rename(lambda c, n=name: f"{n}_{c}" if c != "rollout_id" else f"{n}_rollout_id"),
                        on=f"{name}_rollout_id", how="left", maintain_order="left")
                  .join(text.rename({"rollout_id": f"{name}_rollout_id", "completion": name}),
                        on=f"{name}_rollout_id", how="left", maintain_order="left"))
    distinct = (pl.col("chosen") != pl.col("rejected")).fill_null(False)
    if not joined.select(distinct.all()).item():  # copying every text is worth avoiding when all is well
        joined = joined.filter(distinct)
    weight = pl.col("pair_type").replace_strict(list(weights), list(weights.values()), default=1.0,
                                                return_dtype=pl.Float64)
    return joined.select(
        pair_ids(joined, policy),
        "prompt_id",
        pl.lit(policy).alias("policy"),
        "pair_type", "chosen_rollout_id", "rejected_rollout_id", "chosen", "rejected",
        (pl.col("chosen_reward") - pl.col("rejected_reward")).alias("margin"),
        weight.alias("weight"),
        pl.lit(verifier, dtype=pl.String).alias("verifier"),
        "chosen_reward", "rejected_reward", "chosen_consistent", "rejected_consistent",
        "chosen_think_tokens", "rejected_think_tokens", "chosen_flags", "rejected_flags",
        pl.col("chosen_iteration").alias("iteration"),
        pl.lit(created_at, dtype=pl.Datetime("us", "UTC")).alias("created_at"),
        pl.lit(code_version).alias("code_version"),
    )
