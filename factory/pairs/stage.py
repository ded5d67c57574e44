"""``factory pairs``: one pair policy over one rollouts + verdicts version -> a ``pairs`` version.

Optionally also the next GRPO round's ``prompts`` version, without a share of the easy questions.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime, timezone
from typing import Any

import polars as pl

from factory.config import config_dict
from factory.errors import UsageError
from factory.pairs.best_vs_worst import best_vs_worst_pairs
from factory.pairs.config import PairConfig
from factory.pairs.inputs import candidates, resolve_verifier, texts
from factory.pairs.prune import easy_questions, prune_prompts
from factory.pairs.rows import pair_rows
from factory.pairs.veripo import veripo_pairs
from factory.progress import progress_bar
from factory.store import Manifest, ParentRef, Store, TableWriter
from factory.version import code_version

Policy = Callable[[pl.LazyFrame, PairConfig], pl.LazyFrame]

POLICIES: dict[str, Policy] = {"veripo": veripo_pairs, "best-vs-worst": best_vs_worst_pairs}
"""Pair policies by name: candidate frame in, ``prompt_id, pair_type, chosen_rollout_id, rejected_rollout_id``
out (see :mod:`factory.pairs.veripo`). Add a policy here and to ``config.POLICY_NAMES``."""


@dataclass
class PairsResult:
    """What one ``run_pairs`` made."""

    version: str
    """The new pairs version id."""
    policy: str
    """Policy id (name and settings hash) in every pair's key."""
    verifier: str | None
    rows: int
    counts: dict[str, int]
    """Pairs by type."""
    questions: int
    """Questions with at least one ok rollout."""
    questions_with_pairs: int
    easy: int
    """Questions whose every ok rollout was accurate."""
    easy_prompt_ids: list[str] = field(repr=False, default_factory=list)
    dropped: int = 0
    """Easy questions left out of the next prompts version (0 when none was written)."""
    prompts_version: str | None = None
    """The pruned prompts version, or None."""


def run_pairs(store: Store, config: PairConfig, *, show_progress: bool = True) -> PairsResult:
    """Build pairs with ``config.policy`` and write them as a new ``pairs`` version (mode replace).

    Parents: the rollouts version and the verdicts version used; the manifest records the whole config, the
    resolved versions, verifier and policy id, and (notes) the counts. With ``write_next_prompts``, also a new
    ``prompts`` version (parents: the prompts version pruned and the new pairs version; notes: how many easy
    questions it had and dropped). Pair keys depend only on the two rollouts and the policy id, so a re-run
    over the same inputs writes a new version with the same rows.
    """
    rollouts = store.resolve("rollouts", config.rollouts_version)
    if rollouts is None:
        raise UsageError(f"store {store.url} has no rollouts to pair; run `factory rollouts` first")
    verdicts = store.resolve("verdicts", config.verdicts_version)
    verifier = resolve_verifier(store, verdicts, config.verifier, required=config.policy == "veripo")
    prompts = store.resolve("prompts", config.prompts_version) if config.write_next_prompts else None
    if config.write_next_prompts and prompts is None:
        raise UsageError(f"store {store.url} has no prompts version to prune (write_next_prompts is set)")
    policy_id = config.policy_id(verifier)
    with progress_bar("pairs", total=4, enabled=show_progress) as advance:
        frame = candidates(store, rollouts, verdicts, verifier, rule_figures=config.rule_figures)
        _check_coverage(frame, config, rollouts, verdicts, verifier)
        easy = easy_questions(frame)
        advance(1)
        selected = POLICIES[config.policy](frame.lazy(), config).collect()
        text = texts(store, rollouts, pl.concat([selected["chosen_rollout_id"], selected["rejected_rollout_id"]]))
        advance(1)
        record = {**config_dict(config), "resolved": {"policy_id": policy_id, "verifier": verifier,
                                                      "rollouts_version": rollouts.id,
                                                      "verdicts_version": verdicts.id if verdicts else None}}
        parents = [ParentRef("rollouts", rollouts.id)] + ([ParentRef("verdicts", verdicts.id)] if verdicts else [])
        summary: dict[str, Any] = {"policy": policy_id, "verifier": verifier,
                                   "questions": int(frame["prompt_id"].n_unique()), "easy": easy.len()}
        counts: dict[str, int] = {}
        with_pairs: list[pl.Series] = []
        created_at = datetime.now(timezone.utc)
        with TableWriter(store, "pairs", stage="pairs", config=record, mode="replace", parents=parents,
                         rows_per_part=config.rows_per_part, notes=summary) as writer:
            # chunk by chunk, so only one chunk's texts are copied into rows at a time
            for chunk in selected.iter_slices(config.rows_per_part):
                rows = pair_rows(chunk, frame, text, policy=policy_id, verifier=verifier, weights=config.weights,
                                 created_at=created_at, code_version=code_version())
                for pair_type, n in rows.group_by("pair_type").len().iter_rows():
                    counts[pair_type] = counts.get(pair_type, 0) + n
                with_pairs.append(rows["prompt_id"])
                writer.write(rows.to_arrow(), source=f"pairs of rollouts version {rollouts.id}")
                del rows
            del text
            summary.update(pairs=sum(counts.values()), counts=dict(sorted(counts.items())),
                           questions_with_pairs=pl.concat(with_pairs).n_unique() if with_pairs else 0)
            writer.notes = summary
            manifest = writer.commit()
        advance(1)
        result = PairsResult(version=manifest.id, policy=policy_id, verifier=verifier, rows=summary["pairs"],
                             counts=summary["counts"], questions=summary["questions"],
                             questions_with_pairs=summary["questions_with_pairs"], easy=summary["easy"],
                             easy_prompt_ids=easy.to_list())
        if config.write_next_prompts:
            result.prompts_version, result.dropped = _write_next_prompts(store, config, prompts, manifest, easy)
        advance(1)
    return result


def _check_coverage(frame: pl.DataFrame, config: PairConfig, rollouts: Manifest, verdicts: Manifest | None,
                    verifier: str | None) -> None:
    """veripo needs verdicts of the rollouts it pairs; none at all means the two versions do not belong together."""
    if config.policy != "veripo" or frame.height == 0:
        return
    if frame["verdict_status"].null_count() == frame.height:
        raise UsageError(f"none of the {frame.height} ok rollouts of rollouts version {rollouts.id} has a verdict of "
                         f"verifier {verifier!r} in verdicts version {verdicts.id if verdicts else None}; run "
                         "`factory verify` on this rollouts version, or pass the matching --verdicts-version")


def _write_next_prompts(store: Store, config: PairConfig, prompts: Manifest, pairs: Manifest,
                        easy: pl.Series) -> tuple[str, int]:
    table = store.read("prompts", prompts.id)
    present = pl.from_arrow(table.column("prompt_id")).cast(pl.String)
    easy_here = easy.filter(easy.is_in(present.implode()))  # the share is of the easy questions in this version
    kept = prune_prompts(table, easy_here, config.drop_easy_share, config.seed)
    dropped = table.num_rows - kept.num_rows
    record: dict[str, Any] = {"drop_easy_share": config.drop_easy_share, "seed": config.seed,
                              "prompts_version": prompts.id, "pairs_version": pairs.id}
    notes = {"easy": easy_here.len(), "dropped_easy": dropped, "kept": kept.num_rows}
    with TableWriter(store, "prompts", stage="pairs", config=record, mode="replace",
                     parents=[ParentRef("prompts", prompts.id), ParentRef("pairs", pairs.id)],
                     rows_per_part=config.rows_per_part, notes=notes) as writer:
        writer.write(kept, source=f"prompts version {prompts.id}")
        return writer.commit().id, dropped
