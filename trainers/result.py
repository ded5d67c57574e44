"""``TrainResult``: what one training stage made, with the figures the loop and the CLI report."""

from __future__ import annotations

import math
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any


@dataclass
class TrainResult:
    """A finished training stage."""

    checkpoint: Path
    """The saved policy (HF layout)."""
    steps: int
    """Optimizer steps taken."""
    train_loss: float
    """Mean training loss over the run (as TRL reports it)."""
    seconds: float
    """Wall time of the stage, loading and saving included."""
    train_seconds: float
    """Wall time of ``trainer.train()`` alone."""
    log_history: list[dict[str, Any]] = field(default_factory=list, repr=False)
    """TRL's per-step logs."""
    rollouts_version: str | None = None
    """GRPO: the rollouts version holding every completion sampled during training."""
    rollouts: int = 0
    """GRPO: completions written to that version."""
    record: dict[str, Any] = field(default_factory=dict, repr=False)
    """The checkpoint's ``veripo_checkpoint.json``."""

    @property
    def losses(self) -> list[float]:
        """The loss logged at each logging step."""
        return [float(entry["loss"]) for entry in self.log_history if "loss" in entry]

    @property
    def finite(self) -> bool:
        return math.isfinite(self.train_loss) and all(math.isfinite(v) for v in self.losses)

    def figures(self) -> dict[str, Any]:
        """The figures recorded with the checkpoint."""
        return {"steps": self.steps, "train_loss": self.train_loss, "seconds": round(self.seconds, 3),
                "train_seconds": round(self.train_seconds, 3), "rollouts_version": self.rollouts_version,
                "rollouts": self.rollouts}


def result_from(trainer: Any, output: Any, out: Path, record: dict[str, Any], started: float,
                train_seconds: float | None = None) -> TrainResult:
    """A :class:`TrainResult` from a finished TRL trainer and its ``train()`` output."""
    metrics = getattr(output, "metrics", {}) or {}
    seconds = time.perf_counter() - started
    return TrainResult(checkpoint=out, steps=int(output.global_step), train_loss=float(output.training_loss),
                       seconds=seconds, train_seconds=float(train_seconds if train_seconds is not None
                                                            else metrics.get("train_runtime", seconds)),
                       log_history=list(trainer.state.log_history), record=record)
