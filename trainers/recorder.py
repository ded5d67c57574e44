"""Every completion GRPO samples, written to the store's ``rollouts`` table in the factory's schema.

TRL calls each reward function once per generation batch with the prompts, the completions, their token
ids, every other dataset column and the trainer state. :meth:`RolloutRecorder.wrap` puts a recorder in
front of the first reward function: it turns the batch into ``rollouts`` rows (engine ``trl-grpo``, with
the step and iteration), scores them with :func:`factory.rollouts.scoring.score_rollouts` (the same
reward code the reward functions run, so the reward columns are what the policy was trained on) and
hands them to a :class:`~factory.store.TableWriter`. ``factory verify`` and ``factory pairs`` then run on
the version as on any other.

Keys: ``rollout_id`` = hash(prompt, sample index within the prompt's group in that generation batch,
policy and revision, sampling params with the trainer seed, the step and the iteration, template).
With several processes the rows are gathered to the main process, which alone writes.
"""

from __future__ import annotations

import hashlib
import json
from collections import Counter
from collections.abc import Callable, Sequence
from datetime import datetime, timezone
from typing import Any

import polars as pl
import pyarrow as pa

from factory.errors import UsageError
from factory.rewards.trl_reward import completion_text
from factory.rollouts.scoring import score_rollouts
from factory.store import Manifest, ParentRef, Store, TableWriter
from factory.version import code_version
from schemas import ROLLOUTS, canonical_json, rollout_id
from schemas.validate import conform
from trainers.settings import is_main_process

ENGINE = "trl-grpo"
_PROMPT_COLUMNS = ["prompt_id", "problem_type", "gold", "options", "data_type", "media_uri", "media_sha256"]


def prompt_text(messages: Any) -> str | None:
    """The text of the last user turn of a conversational prompt (image parts left out)."""
    if isinstance(messages, str):
        return messages
    users = [m for m in messages or [] if isinstance(m, dict) and m.get("role") == "user"]
    if not users:
        return None
    content = users[-1].get("content")
    if isinstance(content, list):
        return "".join(p.get("text") or "" for p in content if isinstance(p, dict) and p.get("type") == "text")
    return content


def find_prompts(store: Store, prompt_ids: set[str], version: str | None) -> tuple[pa.Table, Manifest]:
    """The prompt rows of ``prompt_ids`` and the prompts version holding them all (``version``, else the newest).

    Raises :class:`UsageError` naming a missing prompt: rollouts must point at prompts the store holds.
    """
    candidates = [store.resolve("prompts", version)] if version else list(reversed(store.versions("prompts")))
    for manifest in candidates:
        if manifest is None:
            continue
        table = store.read("prompts", manifest.id, columns=_PROMPT_COLUMNS)
        present = set(table.column("prompt_id").to_pylist())
        if prompt_ids <= present:
            return table, manifest
    missing = sorted(prompt_ids)[0]
    raise UsageError(f"the training data asks prompt {missing} (and maybe others), which no prompts version of "
                     f"store {store.url} holds; import those prompts, or turn record_rollouts off")


class RolloutRecorder:
    """Collects GRPO completions into one new ``rollouts`` version; use as a context manager, then commit."""

    def __init__(self, store: Store, prompts: pa.Table, prompts_version: Manifest, *, policy_model: str,
                 policy_revision: str | None, sampling: dict[str, Any], template_id: str,
                 template_hash: str | None, chat_template: str | None, frames: dict[str, Any] | None,
                 profile: str, length_bonus: bool, iteration: int | None, eos_ids: set[int],
                 count_tokens: Callable[[list[str]], list[int]] | None, endpoint: str, mode: str,
                 run_config: dict[str, Any], rows_per_part: int = 512):
        import trl

        self.prompts = {row["prompt_id"]: row for row in prompts.to_pylist()}
        self.prompt_frame = pl.from_arrow(prompts.select(["prompt_id", "problem_type", "gold", "options"]))
        self.policy_model, self.policy_revision = policy_model, policy_revision
        self.sampling, self.frames = dict(sampling), frames
        self.template_id, self.template_hash = template_id, template_hash
        self.chat_template_hash = hashlib.sha256(chat_template.encode()).hexdigest() if chat_template else None
        self.profile, self.length_bonus, self.iteration = profile, length_bonus, iteration
        self.eos_ids, self.count_tokens, self.endpoint = eos_ids, count_tokens, endpoint
        self.engine_version = trl.__version__
        self.written = 0
        # only the main process writes (the others hand it their rows); each would otherwise commit a version
        self.writer = TableWriter(store, "rollouts", stage="grpo", config=run_config, mode=mode,
                                  parents=[ParentRef("prompts", prompts_version.id)], rows_per_part=rows_per_part,
                                  seconds_per_part=30.0) if is_main_process() else None

    # -- TRL side ----------------------------------------------------------------------------------
    def wrap(self, funcs: list[Callable[..., list[float]]]) -> list[Callable[..., list[float]]]:
        """``funcs`` with the first one recording each batch before it scores it (names kept for TRL's logs)."""
        first = funcs[0]

        def recording(prompts: Sequence[Any] | None = None, completions: Sequence[Any] = (), **kwargs: Any):
            self.record(prompts or [], completions, kwargs)
            return first(prompts=prompts, completions=completions, **kwargs)

        recording.__name__ = recording.__qualname__ = first.__name__
        recording.__doc__ = first.__doc__
        return [recording, *funcs[1:]]

    def record(self, prompts: Sequence[Any], completions: Sequence[Any], kwargs: dict[str, Any]) -> None:
        state = kwargs.get("trainer_state")
        step = int(state.global_step) if state is not None else None
        ids = kwargs.get("completion_ids") or [None] * len(completions)
        local = [{"prompt_id": str(pid), "prompt_text": prompt_text(prompt), "completion": completion_text(c),
                  "completion_ids": list(tokens) if tokens is not None else None}
                 for pid, prompt, c, tokens in zip(kwargs["prompt_id"], prompts, completions, ids)]
        gathered, main = _gather(local)
        if main and self.writer is not None:
            self.write(gathered, step)

    # -- store side --------------------------------------------------------------------------------
    def write(self, items: list[dict[str, Any]], step: int | None) -> None:
        now, version = datetime.now(timezone.utc), code_version()
        taken: Counter = Counter()
        rows = []
        for item in items:
            pid = item["prompt_id"]
            prompt = self.prompts.get(pid)
            if prompt is None:
                raise UsageError(f"GRPO sampled prompt {pid}, which is not in the recorded prompts version")
            index = taken[pid]
            taken[pid] += 1
            media = prompt["data_type"] in ("video", "image") and self.frames is not None
            params = {**self.sampling, "step": step, "iteration": self.iteration}
            if media:
                params["frames"] = self.frames
            tokens = item["completion_ids"]
            finish = None if tokens is None else ("stop" if tokens and tokens[-1] in self.eos_ids else "length")
            rows.append({
                "rollout_id": rollout_id(prompt_id=pid, sample_index=index, policy_model=self.policy_model,
                                         policy_revision=self.policy_revision, sampling_params=params,
                                         template_id=self.template_id),
                "prompt_id": pid, "sample_index": index, "status": "ok", "completion": item["completion"],
                "policy_model": self.policy_model, "policy_revision": self.policy_revision, "engine": ENGINE,
                "engine_version": self.engine_version, "endpoint": self.endpoint,
                "sampling_params": canonical_json(params), "seed": self.sampling.get("seed"),
                "temperature": self.sampling.get("temperature"), "top_p": self.sampling.get("top_p"),
                "max_new_tokens": self.sampling.get("max_new_tokens"), "template_id": self.template_id,
                "template_hash": self.template_hash, "chat_template_hash": self.chat_template_hash,
                "prompt_text": item["prompt_text"], "media_uri": prompt["media_uri"],
                "media_sha256": prompt["media_sha256"],
                "frame_fps": self.frames["fps"] if media and prompt["data_type"] == "video" else None,
                "max_frames": self.frames["max_frames"] if media and prompt["data_type"] == "video" else None,
                "max_pixels": self.frames["max_pixels"] if media else None,
                "finish_reason": finish, "completion_tokens": None if tokens is None else len(tokens),
                "iteration": self.iteration, "step": step, "created_at": now, "code_version": version,
            })
        table = conform(ROLLOUTS, pa.Table.from_pylist(rows, schema=ROLLOUTS.schema), source="grpo rollouts")
        scored = score_rollouts(table, self.prompt_frame, profile=self.profile, length_bonus=self.length_bonus,
                                count_tokens=self.count_tokens, source="grpo rollouts")
        self.written += self.writer.write(scored, source=f"grpo rollouts of step {step}")

    def commit(self) -> Manifest | None:
        """The new rollouts version (None on processes other than the main one)."""
        return self.writer.commit() if self.writer is not None else None

    def __enter__(self) -> "RolloutRecorder":
        return self

    def __exit__(self, exc_type, exc, tb) -> None:
        if self.writer is not None:
            self.writer.__exit__(exc_type, exc, tb)


def _gather(rows: list[dict[str, Any]]) -> tuple[list[dict[str, Any]], bool]:
    """All processes' rows on the main process (``rows`` as they are with one process)."""
    try:
        import torch.distributed as dist
    except ImportError:  # pragma: no cover - torch always has it
        return rows, True
    if not (dist.is_available() and dist.is_initialized()) or dist.get_world_size() == 1:
        return rows, True
    from accelerate.utils import gather_object

    gathered = gather_object(rows)
    return gathered, dist.get_rank() == 0


def sampling_record(config: Any) -> dict[str, Any]:
    """The sampling settings of a GRPO config as recorded on each rollout (the step and iteration are added)."""
    return json.loads(canonical_json({"temperature": config.temperature, "top_p": config.top_p,
                                      "top_k": config.top_k, "max_new_tokens": config.max_completion_length,
                                      "num_generations": config.num_generations, "seed": config.seed}))
