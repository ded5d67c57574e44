"""Loading a policy for training and saving the trained one as a standard Hugging Face checkpoint.

A checkpoint folder is exactly what ``save_pretrained`` writes (config, safetensors weights, tokenizer and
processor files, generation config), so transformers, vLLM and the factory's rollouts stage load it as it
is. Beside those files, ``veripo_checkpoint.json`` records what made it (stage, starting policy, training
data with its store version, the resolved config, figures) and its ``revision``: a hash of the weight
files. It is written last, so its presence marks a complete checkpoint.
"""

from __future__ import annotations

import gc
import json
import os
from dataclasses import dataclass
from datetime import datetime, timezone
from pathlib import Path
from typing import Any

from factory.engines.revision import CHECKPOINT_RECORD, model_revision, weights_hash  # noqa: F401
from factory.errors import UsageError
from factory.version import code_version
from trainers.settings import TrainSettings, on_gpu

RECORD = CHECKPOINT_RECORD


@dataclass
class Policy:
    """A loaded policy: the model, what processes its inputs, and whether it sees images."""

    model: Any
    processing_class: Any
    vision: bool
    name: str
    revision: str | None
    padding_side: str | None = None
    """The tokenizer's own padding side (restored before saving when a stage changed it)."""

    @property
    def tokenizer(self) -> Any:
        return getattr(self.processing_class, "tokenizer", self.processing_class)


def _dtype(settings: TrainSettings):
    import torch

    if settings.dtype == "auto":
        return torch.bfloat16 if on_gpu() and torch.cuda.is_bf16_supported() else torch.float32
    return getattr(torch, settings.dtype)


def is_vision_model(name: str, revision: str | None = None) -> bool:
    """Whether the model at ``name`` takes images (its config has a vision part)."""
    from transformers import AutoConfig

    config = AutoConfig.from_pretrained(name, revision=revision)
    return getattr(config, "vision_config", None) is not None


def load_policy(settings: TrainSettings, *, padding_side: str | None = None) -> Policy:
    """The policy ``settings.model`` with its processor (vision models) or tokenizer (text models).

    ``padding_side`` sets the tokenizer's padding for training (GRPO pads prompts on the left, and the
    processor's per-token fields must be padded the same way); the saved checkpoint keeps the original.
    """
    if not settings.model:
        raise UsageError("no policy model given: set model (a model folder or Hub id), e.g. --model PATH")
    from transformers import AutoModelForCausalLM, AutoModelForImageTextToText, AutoProcessor, AutoTokenizer

    try:
        vision = is_vision_model(settings.model, settings.revision)
    except (OSError, ValueError) as exc:
        raise UsageError(f"cannot load policy {settings.model!r}: {exc}") from None
    kwargs: dict[str, Any] = {"revision": settings.revision, "dtype": _dtype(settings)}
    if settings.attn_implementation:
        kwargs["attn_implementation"] = settings.attn_implementation
    if vision:
        model = AutoModelForImageTextToText.from_pretrained(settings.model, **kwargs)
        processing = AutoProcessor.from_pretrained(settings.model, revision=settings.revision)
    else:
        model = AutoModelForCausalLM.from_pretrained(settings.model, **kwargs)
        processing = AutoTokenizer.from_pretrained(settings.model, revision=settings.revision)
    tokenizer = getattr(processing, "tokenizer", processing)
    if tokenizer.pad_token is None:
        tokenizer.pad_token = tokenizer.eos_token
    original = tokenizer.padding_side
    if padding_side:
        tokenizer.padding_side = padding_side
    return Policy(model, processing, vision, settings.model, policy_revision(settings.model, settings.revision),
                  original)


def policy_revision(name: str, revision: str | None) -> str | None:
    """The revision to record for a policy: the given one, a checkpoint's recorded one, or its weights hash."""
    return model_revision(name, revision)


def read_record(folder: str | Path) -> dict[str, Any] | None:
    """The ``veripo_checkpoint.json`` of a checkpoint folder, or None when it is missing (incomplete)."""
    path = Path(folder) / RECORD
    if not path.is_file():
        return None
    try:
        return json.loads(path.read_text())
    except json.JSONDecodeError:
        return None


def save_checkpoint(trainer: Any, policy: Policy, out: str | Path, record: dict[str, Any],
                    settings: TrainSettings) -> dict[str, Any]:
    """Save the trained policy in HF layout into ``out`` and write its record last; returns the record.

    LoRA-trained policies are saved merged (``merge_lora``) so that the folder is a plain model; their
    adapters go to ``out/adapter`` too.
    """
    out = Path(out)
    out.mkdir(parents=True, exist_ok=True)
    (out / RECORD).unlink(missing_ok=True)
    model = trainer.model
    if hasattr(trainer, "accelerator"):
        model = trainer.accelerator.unwrap_model(model)
    if settings.lora and hasattr(model, "merge_and_unload"):
        model.save_pretrained(out / "adapter")
        if settings.merge_lora:
            model = model.merge_and_unload()
    if getattr(model.config, "use_cache", None) is False:
        model.config.use_cache = True  # gradient checkpointing turns the cache off; inference wants it back
    if trainer.is_world_process_zero():
        model.save_pretrained(out, safe_serialization=True)
        if policy.padding_side:
            policy.tokenizer.padding_side = policy.padding_side
        policy.processing_class.save_pretrained(out)
        full = {**record, "revision": weights_hash(out), "created_at": datetime.now(timezone.utc).isoformat(),
                "code_version": code_version(), "base_model": policy.name, "base_revision": policy.revision}
        temporary = out / (RECORD + ".tmp")
        temporary.write_text(json.dumps(full, indent=2, sort_keys=True, default=str))
        os.replace(temporary, out / RECORD)
        return full
    return record


def free_memory() -> None:
    """Collect dropped models and trainers and free accelerator memory before the next stage."""
    gc.collect()
    if on_gpu():
        import torch

        torch.cuda.empty_cache()
