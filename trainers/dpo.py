"""``trainers dpo``: TRL ``DPOTrainer`` on a pairs version ("fast align" of VerIPO, SPEC section 1).

The reference model is the starting policy (TRL's default: a frozen copy, or the base weights under LoRA).
Video frames reach the policy as ``images`` (TRL has no video column). The pairs come from the store
(``pairs`` version, exported as ``trl-dpo``), an exported folder, or a Hub dataset.
"""

from __future__ import annotations

import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from factory.config import config_dict
from factory.errors import UsageError
from factory.store import Store
from trainers.data import load_train_data, require_columns
from trainers.policy import free_memory, load_policy, save_checkpoint
from trainers.result import TrainResult, result_from
from trainers.settings import TrainSettings, lora_config, require_model_and_output, trl_arguments


@dataclass
class DpoConfig(TrainSettings):
    """Settings of ``trainers dpo`` (section ``[dpo]``); VerIPO's DPO stage by default."""

    learning_rate: float = 5e-7
    """VerIPO: 5e-7."""
    global_batch_size: int = 32
    """VerIPO: 32 pairs per optimizer step."""
    beta: float = 0.1
    """Strength of the pull towards the reference policy (VerIPO: 0.1)."""
    rpo_alpha: float | None = None
    """Weight of a negative log-likelihood term on the chosen responses added to the DPO loss (RPO; TRL's
    former ``rpo_alpha``, now ``loss_type=["sigmoid", "sft"]`` with ``loss_weights=[1, rpo_alpha]``). None:
    plain DPO. In a small CPU experiment plain DPO on consistency pairs cut inconsistency (13 % -> 4 %) but
    cost accuracy (0.71 -> 0.59) and format (0.99 -> 0.83); with this term (1.0) accuracy (0.73) and format
    (0.96) held."""
    loss_type: str = "sigmoid"
    """TRL DPO loss (sigmoid is the DPO paper's)."""
    pair_types: list[str] | None = None
    """Train only on these pair types (consistency, penalty, accuracy, margin); None: all."""
    precompute_ref_log_probs: bool = False
    """Compute the reference log-probs once before training (frees the reference model's memory)."""
    iteration: int | None = None
    """Training-loop iteration, recorded in the checkpoint."""

    def __post_init__(self) -> None:
        self.check()
        if self.beta <= 0:
            raise ValueError("beta must be positive")
        if self.rpo_alpha is not None and self.rpo_alpha < 0:
            raise ValueError("rpo_alpha must be >= 0")

    def loss(self) -> dict[str, Any]:
        """TRL's ``loss_type`` and ``loss_weights`` for this config."""
        if self.rpo_alpha is None:
            return {"loss_type": [self.loss_type]}
        return {"loss_type": [self.loss_type, "sft"], "loss_weights": [1.0, float(self.rpo_alpha)]}


def dpo_arguments(config: DpoConfig, output_dir: str):
    """TRL ``DPOConfig`` for ``config``."""
    from trl import DPOConfig as TRLDPOConfig

    args = trl_arguments(config, output_dir)
    args.update(beta=config.beta, precompute_ref_log_probs=config.precompute_ref_log_probs, **config.loss())
    args.update(config.trl_args)
    return TRLDPOConfig(**args)


def _select_pairs(dataset: Any, config: DpoConfig) -> Any:
    if config.pair_types is None:
        return dataset
    if "pair_type" not in dataset.column_names:
        raise UsageError("pair_types is set but the dataset has no pair_type column")
    wanted = set(config.pair_types)
    return dataset.filter(lambda row: row["pair_type"] in wanted)


def run_dpo(store: Store | None, config: DpoConfig, *, callbacks: list[Any] | None = None) -> TrainResult:
    """Train ``config.model`` with DPO on the pairs and save the result in ``config.output_dir``.

    Raises :class:`UsageError` for a missing policy, output folder or pairs, and when no pair is left.
    """
    require_model_and_output(config)
    from trl import DPOTrainer

    out = Path(config.output_dir)
    started = time.perf_counter()
    policy = load_policy(config)
    data = load_train_data(store, config, out, format="trl-dpo", table="pairs", vision=policy.vision)
    require_columns(data, ("prompt", "chosen", "rejected"), "DPO")
    dataset = _select_pairs(data.dataset, config)
    if len(dataset) == 0:
        raise UsageError(f"no pairs to train on in {data.source.get('version') or config.dataset}"
                         + (f" of types {config.pair_types}" if config.pair_types else ""))
    trainer = DPOTrainer(model=policy.model, args=dpo_arguments(config, str(out)), train_dataset=dataset,
                         processing_class=policy.processing_class, peft_config=lora_config(config),
                         callbacks=callbacks)
    output = trainer.train()
    record = {"stage": "dpo", "iteration": config.iteration, "data": data.source, "rows": len(dataset),
              "config": config_dict(config)}
    result = result_from(trainer, output, out, record, started)
    result.record = save_checkpoint(trainer, policy, out, {**record, **result.figures()}, config)
    result.seconds = time.perf_counter() - started
    del trainer, policy
    free_memory()
    return result
