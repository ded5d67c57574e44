"""``TrainSettings``: the knobs every trainer stage shares, documented where they are defined.

Each stage's config (``SftConfig``, ``DpoConfig``, ``GrpoConfig``) extends this dataclass, overrides the
defaults that differ (learning rate, global batch) and adds its own knobs. A config file holds one section
per stage (``[sft]``, ``[dpo]``, ``[grpo]``); flags override it; the resolved config is written whole
into the checkpoint's ``veripo_checkpoint.json``.

:func:`trl_arguments` turns the shared knobs into keyword arguments of TRL's config classes, so the
translation (device, precision, global batch -> gradient accumulation) lives in one place.
"""

from __future__ import annotations

import os
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import Any

from factory.errors import UsageError


@dataclass
class TrainSettings:
    """Knobs shared by ``trainers sft``, ``trainers dpo`` and ``trainers grpo``."""

    model: str = ""
    """Policy to start from: a model folder (e.g. an earlier stage's checkpoint) or a Hub id."""
    revision: str | None = None
    """Hub revision of ``model`` (commit or tag)."""
    output_dir: str = ""
    """Folder the trained policy is saved to, in the standard Hugging Face layout (plus ``train_data/``,
    the dataset it was trained on when it came from the store, and ``veripo_checkpoint.json``)."""
    # -- data ------------------------------------------------------------------------------------
    dataset: str | None = None
    """An exported dataset folder (``factory export``) or a Hub dataset id; when set, the store's tables are
    not read for training data."""
    dataset_split: str = "train"
    """Split of ``dataset`` to train on."""
    version: str | None = None
    """Version of the input table in the store (default latest); ignored when ``dataset`` is set."""
    limit: int | None = None
    """Train on the first N rows only (for trying things)."""
    template: str = "video-r1"
    """Prompt template (video-r1, veripo or a file) for rows whose prompt text is not recorded."""
    system_prompt: str | None = None
    """A system turn put before the user turn (none by default: the chat template adds its own)."""
    include_frames: bool | None = None
    """Give video frames (or the image) to the policy as ``images``. Default: yes when the policy is a
    vision-language model, no for a text-only policy."""
    fps: float | None = None
    """Frame sampling rate; default: the one recorded on the rollout, else 2.0."""
    min_frames: int | None = None
    """Frame count floor; default 4."""
    max_frames: int | None = None
    """Frame count ceiling; default: the one recorded on the rollout, else 16."""
    max_pixels: int | None = None
    """Pixel ceiling per frame; default: the one recorded on the rollout, else 128*28*28."""
    # -- optimisation ----------------------------------------------------------------------------
    learning_rate: float = 1e-6
    num_train_epochs: float = 1.0
    max_steps: int = -1
    """Stop after this many optimizer steps (-1: run ``num_train_epochs``)."""
    per_device_batch_size: int = 1
    """Rows (GRPO: completions) per device per forward pass."""
    global_batch_size: int = 16
    """Rows (GRPO: completions) per optimizer step over all devices; reached by gradient accumulation
    (``global_batch_size / (per_device_batch_size * devices)`` steps, which must divide evenly)."""
    max_length: int | None = None
    """Longest prompt + completion in tokens; None: no truncation. A vision prompt must stay whole (its image
    placeholders must match its image features), so set it above the longest prompt with its frames."""
    warmup: float = 0.0
    """Warm-up: a number of steps (>= 1) or a ratio of all steps (< 1)."""
    lr_scheduler_type: str = "linear"
    weight_decay: float = 0.0
    max_grad_norm: float = 1.0
    gradient_checkpointing: bool = False
    bf16: bool | None = None
    """Train in bfloat16 mixed precision; default: on where a GPU supports it, off on CPU."""
    dtype: str = "auto"
    """Dtype the policy is loaded in: auto (bfloat16 on a GPU that supports it, else float32), float32,
    bfloat16 or float16."""
    attn_implementation: str | None = None
    """Attention kernel, e.g. flash_attention_2 or sdpa (default: transformers' choice)."""
    seed: int = 0
    logging_steps: int = 1
    save_steps: int | None = None
    """Also save TRL checkpoints every N steps under ``output_dir`` (the final policy is always saved)."""
    report_to: list[str] = field(default_factory=list)
    """Experiment trackers (e.g. ["wandb"]); none by default."""
    # -- LoRA ------------------------------------------------------------------------------------
    lora: bool = False
    """Train LoRA adapters (peft) instead of all weights."""
    lora_r: int = 64
    lora_alpha: int = 128
    lora_dropout: float = 0.05
    lora_target_modules: list[str] | None = None
    """Modules to adapt (default: every linear layer of the language model)."""
    merge_lora: bool = True
    """Save the adapters merged into the weights (plain HF layout that vLLM and the next stage load as they
    are); the adapters alone go to ``output_dir/adapter`` as well."""
    trl_args: dict[str, Any] = field(default_factory=dict)
    """Any other field of the TRL config class, by name (e.g. {"loss_type": ["sigmoid"]}); applied last."""

    def check(self) -> None:
        """Validation shared by every stage (each stage's ``__post_init__`` calls it)."""
        if self.per_device_batch_size < 1 or self.global_batch_size < 1:
            raise ValueError("per_device_batch_size and global_batch_size must be at least 1")
        if self.global_batch_size % self.per_device_batch_size:
            raise ValueError(f"global_batch_size {self.global_batch_size} is not a multiple of "
                             f"per_device_batch_size {self.per_device_batch_size}")
        if self.dtype not in ("auto", "float32", "bfloat16", "float16"):
            raise ValueError(f"dtype must be auto, float32, bfloat16 or float16, got {self.dtype!r}")
        if self.max_length is not None and self.max_length < 1:
            raise ValueError("max_length must be positive or null")


def require_model_and_output(settings: TrainSettings) -> None:
    """A stage needs a policy to start from and a folder to save to (checked before anything heavy loads)."""
    if not settings.model:
        raise UsageError("no policy model given: set model (a model folder or Hub id), e.g. --model PATH")
    if not settings.output_dir:
        raise UsageError("no output folder: set output_dir (--output-dir)")


def gradient_accumulation(settings: TrainSettings, devices: int) -> int:
    """Accumulation steps that make ``global_batch_size`` from ``per_device_batch_size`` on ``devices``."""
    per_step = settings.per_device_batch_size * max(1, devices)
    if settings.global_batch_size % per_step:
        raise ValueError(f"global_batch_size {settings.global_batch_size} is not a multiple of "
                         f"per_device_batch_size x devices = {per_step}")
    return max(1, settings.global_batch_size // per_step)


def is_main_process() -> bool:
    """Whether this is the main process of a launched (``accelerate launch``, ``torchrun``) run, or the only one."""
    return int(os.environ.get("RANK", "0")) == 0


@contextmanager
def main_process_first() -> Iterator[bool]:
    """Run the block on the main process first, the others after it (they read what it wrote); yields
    whether this is the main process. A no-op with one process."""
    if world_size() <= 1:
        yield True
        return
    from accelerate import PartialState

    state = PartialState(cpu=not on_gpu())  # without cpu=True, processes on CPU do not see each other
    with state.main_process_first():
        yield state.is_main_process


def on_gpu() -> bool:
    import torch

    return torch.cuda.is_available()


def world_size() -> int:
    return int(os.environ.get("WORLD_SIZE", "1"))


def use_bf16(settings: TrainSettings) -> bool:
    if settings.bf16 is not None:
        return settings.bf16
    import torch

    return on_gpu() and torch.cuda.is_bf16_supported()


def trl_arguments(settings: TrainSettings, output_dir: str) -> dict[str, Any]:
    """Keyword arguments of a TRL config class (``DPOConfig``, ``GRPOConfig``, ``SFTConfig``) for the shared knobs.

    ``trl_args`` is not included: each stage applies it last, after its own knobs.
    """
    gpu = on_gpu()
    try:
        accumulation = gradient_accumulation(settings, world_size())
    except ValueError as exc:
        raise UsageError(str(exc)) from None
    args: dict[str, Any] = dict(
        output_dir=output_dir, learning_rate=settings.learning_rate, num_train_epochs=settings.num_train_epochs,
        max_steps=settings.max_steps, per_device_train_batch_size=settings.per_device_batch_size,
        gradient_accumulation_steps=accumulation,
        warmup_steps=settings.warmup, lr_scheduler_type=settings.lr_scheduler_type,
        weight_decay=settings.weight_decay, max_grad_norm=settings.max_grad_norm,
        gradient_checkpointing=settings.gradient_checkpointing, bf16=use_bf16(settings), use_cpu=not gpu,
        seed=settings.seed, logging_steps=settings.logging_steps, report_to=list(settings.report_to) or "none",
        save_strategy="steps" if settings.save_steps else "no", max_length=settings.max_length,
    )
    if settings.save_steps:
        args["save_steps"] = settings.save_steps
    return args


_LINEAR = "(q_proj|k_proj|v_proj|o_proj|gate_proj|up_proj|down_proj)"
LANGUAGE_MODEL_LINEAR = rf".*language_model.*\.{_LINEAR}|^model\.layers.*\.{_LINEAR}"
"""Module-name pattern of LoRA's default targets: the decoder's attention and MLP projections (Qwen2 and
Qwen2.5-VL layouts of transformers 5)."""


def lora_config(settings: TrainSettings):
    """The peft ``LoraConfig`` for ``settings`` (None without ``lora``)."""
    if not settings.lora:
        return None
    try:
        from peft import LoraConfig
    except ImportError as exc:  # peft is a dependency; a broken install is worth a clear message
        raise UsageError(f"lora = true needs peft (`pip install peft`): {exc}") from None
    # default: the language model's linear layers only (vision models keep their vision tower as it is)
    targets: Any = list(settings.lora_target_modules) if settings.lora_target_modules else LANGUAGE_MODEL_LINEAR
    return LoraConfig(r=settings.lora_r, lora_alpha=settings.lora_alpha, lora_dropout=settings.lora_dropout,
                      target_modules=targets, task_type="CAUSAL_LM")
