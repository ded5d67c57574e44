"""Rewards and rule figures for rollout rows: one code path for generated, imported and re-scored rows."""

from __future__ import annotations

from collections.abc import Callable

import polars as pl
import pyarrow as pa

from factory.errors import InvalidRows, RowProblem
from factory.rewards import score_frame
from factory.verifier.rules import RuleConfig, apply_rules

REWARD_COLUMNS = ("think", "answer", "think_tokens", "fmt_ok", "truncated", "accurate", "reward_profile",
                  "reward_accuracy", "reward_format", "reward_length", "reward_total", "rep_max_ngram_count",
                  "rep_distinct_ratio", "repetitive", "reflective")
_PROMPT_COLUMNS = ("problem_type", "gold", "options")


def score_rollouts(rollouts: pa.Table | pl.DataFrame, prompts: pa.Table | pl.DataFrame, *, profile: str,
                   length_bonus: bool = False, rules: RuleConfig | None = None,
                   count_tokens: Callable[[list[str]], list[int]] | None = None, source: str = "rollouts") -> pa.Table:
    """``rollouts`` with every reward and rule column (re)computed under ``profile``.

    ``prompts`` supplies each row's problem type, gold answer and options by ``prompt_id``; a rollout
    whose prompt is missing is an error naming it. Rows with status ``error`` keep null rewards.
    ``count_tokens`` measures think length with the policy's tokenizer (whitespace words otherwise).
    """
    frame = rollouts if isinstance(rollouts, pl.DataFrame) else pl.from_arrow(rollouts)
    if frame.height == 0:
        return frame.to_arrow()
    prompt_frame = prompts if isinstance(prompts, pl.DataFrame) else pl.from_arrow(prompts)
    prompt_frame = prompt_frame.select("prompt_id", *_PROMPT_COLUMNS).unique("prompt_id")
    base = frame.drop([c for c in REWARD_COLUMNS if c in frame.columns]).with_row_index("_row")
    joined = base.join(prompt_frame, on="prompt_id", how="left")
    missing = joined.filter(pl.col("problem_type").is_null())
    if missing.height:
        raise InvalidRows([RowProblem(source, int(r["_row"]), "prompt_id", f"prompt {r['prompt_id']} is not in the "
                                      "prompts table", "import the prompts first, or fix the reference",
                                      row_id=r.get("rollout_id")) for r in missing.head(50).iter_rows(named=True)])
    ok = pl.col("status") == "ok"
    joined = joined.with_columns(completion_tokens=pl.col("completion_tokens") if "completion_tokens" in joined.columns
                                 else pl.lit(None, pl.Int64))
    scored = score_frame(joined.with_columns(completion=pl.when(ok).then(pl.col("completion")).otherwise(pl.lit(""))),
                         profile, length_bonus=length_bonus)
    if count_tokens is not None:
        thinks = scored["think"].to_list()
        counts = count_tokens([t or "" for t in thinks])
        scored = scored.with_columns(think_tokens=pl.Series(counts, dtype=pl.Int64))
    scored = apply_rules(scored, rules)
    nulled = [pl.when(ok).then(pl.col(c)).otherwise(None).alias(c) for c in REWARD_COLUMNS if c != "reward_profile"]
    scored = scored.with_columns(nulled).with_columns(completion=pl.when(ok).then(pl.col("completion")).otherwise(None))
    return scored.sort("_row").drop("_row", *_PROMPT_COLUMNS).to_arrow()
