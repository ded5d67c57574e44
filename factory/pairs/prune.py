"""Easy questions and the next GRPO round's prompts (SPEC section 1, step 4: drop 80 % of the easy ones)."""

from __future__ import annotations

import hashlib
import math
from typing import TypeVar

import polars as pl
import pyarrow as pa
import pyarrow.compute as pc

P = TypeVar("P", pl.DataFrame, pl.LazyFrame, pa.Table)


def easy_questions(candidates: pl.DataFrame | pl.LazyFrame) -> pl.Series:
    """Sorted ``prompt_id`` of the questions whose every ok rollout is accurate (mean accuracy 1.0).

    ``candidates`` is the candidate frame (:mod:`factory.pairs.inputs`); a null ``accurate`` counts as not
    accurate, so a question with an unscored rollout is not easy.
    """
    frame = candidates.lazy().group_by("prompt_id").agg(easy=pl.col("accurate").fill_null(False).all())
    return frame.filter("easy").select("prompt_id").sort("prompt_id").collect()["prompt_id"]


def drop_count(easy: int, share: float) -> int:
    """How many of ``easy`` questions a ``share`` drops: share * easy rounded half up (0.8 of 10 is 8)."""
    return min(easy, int(math.floor(share * easy + 0.5 + 1e-9)))


def dropped_ids(easy_ids: pl.Series | list[str], share: float, seed: int) -> list[str]:
    """The easy questions to drop: those with the smallest SHA-256 of (seed, prompt_id), ``drop_count`` of them.

    Depends only on the set of ids, the share and the seed, so every run and machine drops the same ones.
    """
    ids = sorted(set(easy_ids.to_list() if isinstance(easy_ids, pl.Series) else easy_ids))
    ranked = sorted(ids, key=lambda pid: hashlib.sha256(f"{int(seed)}\x00{pid}".encode()).digest())
    return sorted(ranked[:drop_count(len(ids), share)])


def prune_prompts(prompts: P, easy_ids: pl.Series | list[str], share: float, seed: int) -> P:
    """``prompts`` without the :func:`dropped_ids` of ``easy_ids`` (same type as given, row order kept)."""
    dropped = pl.Series("prompt_id", dropped_ids(easy_ids, share, seed), dtype=pl.String)
    if isinstance(prompts, pa.Table):
        hit = pc.is_in(prompts["prompt_id"], value_set=dropped.to_arrow().cast(pa.string()))
        return prompts.filter(pc.invert(hit))
    return prompts.filter(~pl.col("prompt_id").is_in(dropped.implode()))
