"""``PairConfig``: every knob of ``factory pairs``, documented where it is defined."""

from __future__ import annotations

import math
from dataclasses import dataclass, field

from schemas import content_key

POLICY_NAMES = ("veripo", "best-vs-worst")
VERIPO_TYPES = ("consistency", "penalty", "accuracy")
PAIR_TYPE_NAMES = (*VERIPO_TYPES, "margin")


@dataclass
class PairConfig:
    """Settings of ``factory pairs`` (section ``[pairs]`` of a config file)."""

    policy: str = "veripo"
    """Pair policy: veripo (SPEC section 5) or best-vs-worst (highest vs lowest reward_total)."""
    verifier: str | None = None
    """Which verdicts to use, by their ``verifier`` name. None: the only verifier in the verdicts version
    (an error when there are several). best-vs-worst uses it only to fill the consistency figures."""
    max_pairs_per_question: int = 2
    """K: at most this many veripo pairs per question (best-vs-worst makes at most one)."""
    think_ceiling: int = 4096
    """Think length (tokens) above which a chosen candidate ranks after every one under it."""
    min_margin: float = 0.5
    """best-vs-worst: pair only when highest - lowest reward_total is at least this."""
    prefer_reflective: bool = True
    """veripo: rank reflective chosen candidates before the others."""
    type_order: list[str] = field(default_factory=lambda: list(VERIPO_TYPES))
    """veripo: priority of the pair types. A rejected rollout that fits several types takes the first;
    when the cap K bites, pairs are taken round-robin over the types in this order (the best candidate of
    each type, then the second of each, ...). Leaving a type out disables it."""
    weights: dict[str, float] = field(default_factory=lambda: {t: 1.0 for t in PAIR_TYPE_NAMES})
    """Training weight per pair type (types not named get 1.0)."""
    rule_figures: str = "verdicts"
    """Where accurate, fmt_ok, truncated, repetitive, reflective and think_tokens come from: verdicts (the
    verifier's own recomputation; the rollout fills its nulls) or rollouts (the verdict fills nulls)."""
    rollouts_version: str | None = None
    """rollouts version to pair (default latest)."""
    verdicts_version: str | None = None
    """verdicts version to use (default latest)."""
    prompts_version: str | None = None
    """prompts version to prune for the next round (default latest)."""
    drop_easy_share: float | None = 0.8
    """Share of the easy questions (every ok rollout accurate) to drop from the next GRPO round's prompts;
    None: do not prune."""
    seed: int = 0
    """Seed of the hash that picks which easy questions are dropped (same seed, same picks)."""
    write_next_prompts: bool = False
    """Also write a prompts version without the dropped easy questions (needs drop_easy_share)."""
    rows_per_part: int = 100_000
    """Pair rows per Parquet part."""

    def __post_init__(self) -> None:
        if self.policy not in POLICY_NAMES:
            raise ValueError(f"policy must be one of {POLICY_NAMES}, got {self.policy!r}")
        if self.max_pairs_per_question < 1:
            raise ValueError("max_pairs_per_question must be at least 1")
        if self.think_ceiling < 0:
            raise ValueError("think_ceiling must be >= 0")
        if not math.isfinite(self.min_margin):
            raise ValueError("min_margin must be a finite number")
        unknown = [t for t in self.type_order if t not in VERIPO_TYPES]
        if unknown or len(set(self.type_order)) != len(self.type_order) or not self.type_order:
            raise ValueError(f"type_order must list some of {VERIPO_TYPES} once each, got {self.type_order}")
        bad = {k: v for k, v in self.weights.items()
               if k not in PAIR_TYPE_NAMES or not isinstance(v, (int, float)) or not math.isfinite(v)}
        if bad:
            raise ValueError(f"weights must map pair types {PAIR_TYPE_NAMES} to finite numbers; bad: {bad}")
        if self.rule_figures not in ("verdicts", "rollouts"):
            raise ValueError(f"rule_figures must be verdicts or rollouts, got {self.rule_figures!r}")
        if self.drop_easy_share is not None and not 0.0 <= self.drop_easy_share <= 1.0:
            raise ValueError(f"drop_easy_share must be within [0, 1], got {self.drop_easy_share}")
        if self.write_next_prompts and self.drop_easy_share is None:
            raise ValueError("write_next_prompts needs drop_easy_share")
        if self.rows_per_part < 1:
            raise ValueError("rows_per_part must be at least 1")

    def weight(self, pair_type: str) -> float:
        return float(self.weights.get(pair_type, 1.0))

    def policy_settings(self, verifier: str | None) -> dict:
        """The settings that decide which pairs a run makes and what they carry (hashed into pair ids)."""
        if self.policy == "best-vs-worst":
            knobs = {"min_margin": self.min_margin, "weight": self.weight("margin")}
        else:
            knobs = {"max_pairs_per_question": self.max_pairs_per_question, "think_ceiling": self.think_ceiling,
                     "prefer_reflective": self.prefer_reflective, "type_order": list(self.type_order),
                     "weights": {t: self.weight(t) for t in self.type_order}}
        return {"policy": self.policy, "verifier": verifier, "rule_figures": self.rule_figures, **knobs}

    def policy_id(self, verifier: str | None) -> str:
        """``<policy>-<8 hex>``: the policy name and a short hash of :meth:`policy_settings`."""
        return f"{self.policy}-{content_key('pair-policy', self.policy_settings(verifier))[:8]}"
