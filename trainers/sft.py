"""``trainers sft``: TRL ``SFTTrainer`` on verified rollouts or a Video-R1 CoT file (the cold start before RL).

The rows (see :mod:`trainers.sft_data`) are written as a dataset folder into ``<output_dir>/train_data``
and loaded from there, so the checkpoint keeps the exact data it was trained on; the loss covers the
completion only (TRL's default for prompt-completion data).
"""

from __future__ import annotations

import json
import shutil
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from factory.config import config_dict
from factory.errors import UsageError
from factory.export.export import write_layout
from factory.store import Store
from trainers.data import TRAIN_DATA, TrainData, from_dataset, require_columns
from trainers.policy import free_memory, load_policy, save_checkpoint
from trainers.result import TrainResult, result_from
from trainers.settings import (TrainSettings, lora_config, main_process_first, require_model_and_output,
                               trl_arguments)
from trainers.sft_data import cot_items, sft_rows, verified_items


@dataclass
class SftConfig(TrainSettings):
    """Settings of ``trainers sft`` (section ``[sft]``); Video-R1's SFT settings by default."""

    learning_rate: float = 1e-6
    """Video-R1 SFT: 1e-6."""
    global_batch_size: int = 16
    """Video-R1 SFT: 16 (1 per device x 2 accumulation x 8 GPUs)."""
    max_grad_norm: float = 5.0
    """Video-R1 SFT: 5."""
    cot_json: str | None = None
    """A Video-R1-format CoT file (JSON list or JSONL with process and solution) to train on instead of the
    store's verified rollouts."""
    media_root: str | None = None
    """Folder the CoT file's media paths are relative to (default: the file's folder)."""
    verdicts_version: str | None = None
    """verdicts version that says which rollouts passed (default latest); ``version`` names the rollouts."""
    verifier: str | None = None
    """Whose verdicts to use (default: the only verifier in the verdicts version)."""
    max_per_question: int | None = 4
    """At most this many passed rollouts per question (highest reward first; distinct texts); None: all."""

    def __post_init__(self) -> None:
        self.check()
        if self.max_per_question is not None and self.max_per_question < 1:
            raise ValueError("max_per_question must be at least 1 or null")


def sft_arguments(config: SftConfig, output_dir: str):
    """TRL ``SFTConfig`` for ``config``."""
    from trl import SFTConfig as TRLSFTConfig

    args = trl_arguments(config, output_dir)
    args.update(config.trl_args)
    return TRLSFTConfig(**args)


def sft_data(store: Store | None, config: SftConfig, out: Path, *, vision: bool) -> TrainData:
    """The SFT rows: ``config.dataset`` as it is, else a CoT file or the store's verified rollouts, written to
    ``out/train_data``."""
    if config.dataset:
        data = from_dataset(config)
        require_columns(data, ("prompt", "completion"), "SFT (prompt-completion)")
        return data
    if config.cot_json:
        items, source = cot_items(config)
    elif store is not None:
        items, source = verified_items(store, config)
    else:
        raise UsageError("no SFT data: set cot_json (a Video-R1 CoT file) or dataset, or give a store with "
                         "verified rollouts")
    if not items:
        raise UsageError(f"no rows to train on: {source.get('passed', 0)} rollout(s) of rollouts version "
                         f"{source.get('version')} passed the verifier" if source["kind"] == "store"
                         else f"{source.get('file')} holds no examples")
    from datasets import load_dataset

    folder = out / TRAIN_DATA
    with main_process_first() as main:
        if main:  # one process writes the rows; the others load them
            features, rows = sft_rows(items, config, vision=vision)
            if folder.exists():
                shutil.rmtree(folder)
            (folder / "data").mkdir(parents=True)
            written = write_layout(folder / "data" / "train-00000-of-00001.parquet", features, rows, lambda n: None)
            (folder / "source.json").write_text(json.dumps({**source, "rows": written}, indent=2, default=str))
        data = load_dataset(str(folder), split="train")
    return TrainData(data, {**source, "folder": str(folder)})


def run_sft(store: Store | None, config: SftConfig, *, callbacks: list[Any] | None = None) -> TrainResult:
    """Fine-tune ``config.model`` on the SFT rows and save it in ``config.output_dir``."""
    require_model_and_output(config)
    from trl import SFTTrainer

    out = Path(config.output_dir)
    started = time.perf_counter()
    policy = load_policy(config)
    data = sft_data(store, config, out, vision=policy.vision)
    trainer = SFTTrainer(model=policy.model, args=sft_arguments(config, str(out)), train_dataset=data.dataset,
                         processing_class=policy.processing_class, peft_config=lora_config(config),
                         callbacks=callbacks)
    output = trainer.train()
    record = {"stage": "sft", "data": data.source, "rows": len(data.dataset), "config": config_dict(config)}
    result = result_from(trainer, output, out, record, started)
    result.record = save_checkpoint(trainer, policy, out, {**record, **result.figures()}, config)
    result.seconds = time.perf_counter() - started
    del trainer, policy
    free_memory()
    return result
