"""``factory rewards``: recompute the reward columns of a stored rollouts version without regenerating."""

from __future__ import annotations

from dataclasses import dataclass

import polars as pl

from factory.rewards import PROFILES
from factory.rollouts.scoring import score_rollouts
from factory.store import Manifest, ParentRef, Store, TableWriter
from factory.errors import UsageError


@dataclass
class RewardsConfig:
    """Settings of ``factory rewards`` (section ``[rewards]``)."""

    profile: str = "veripo"
    """Reward profile to apply: video-r1 or veripo."""
    length_bonus: bool = False
    """Video-R1's optional length bonus (video-r1 only)."""
    rollouts_version: str | None = None
    """rollouts version to re-score (default latest)."""
    tokenizer: str | None = None
    """Tokenizer (model folder or id) to count think tokens; default: whitespace words."""

    def __post_init__(self) -> None:
        if self.profile not in PROFILES:
            raise ValueError(f"profile must be one of {PROFILES}, got {self.profile!r}")


def rescore(store: Store, config: RewardsConfig) -> Manifest:
    """A new rollouts version: the same rows with every reward column recomputed under ``config.profile``."""
    source = store.resolve("rollouts", config.rollouts_version)
    if source is None:
        raise UsageError(f"store {store.url} has no rollouts to re-score")
    prompts_version = store.latest("prompts")
    prompts = pl.from_arrow(store.read("prompts", columns=["prompt_id", "problem_type", "gold", "options"]))
    count_tokens = None
    if config.tokenizer:
        from transformers import AutoTokenizer

        tokenizer = AutoTokenizer.from_pretrained(config.tokenizer)
        count_tokens = lambda texts: [len(i) for i in tokenizer(texts, add_special_tokens=False)["input_ids"]]  # noqa: E731
    run_config = {"profile": config.profile, "length_bonus": config.length_bonus, "source": source.id,
                  "tokenizer": config.tokenizer}
    from factory.store import run_key_for

    latest = store.latest("rollouts")
    if latest is not None and latest.run_key == run_key_for("rollouts", "rewards", run_config, "replace"):
        return latest  # this exact re-scoring is already the latest version
    parents = [ParentRef("rollouts", source.id)]
    if prompts_version is not None:
        parents.append(ParentRef("prompts", prompts_version.id))
    with TableWriter(store, "rollouts", stage="rewards", config=run_config, mode="replace", parents=parents,
                     rows_per_part=50_000) as writer:
        for part in source.parts:
            # whole prompt groups stay together within a part for stages that write by prompt; the length
            # bonus needs whole groups, so score part by part only when it is off
            table = store.read_part(part) if not config.length_bonus else store.read("rollouts", source.id)
            writer.write(score_rollouts(table, prompts, profile=config.profile, length_bonus=config.length_bonus,
                                        count_tokens=count_tokens, source=part.path))
            if config.length_bonus:
                break
        return writer.commit()
