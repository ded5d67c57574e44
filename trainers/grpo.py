"""``trainers grpo``: TRL ``GRPOTrainer`` on a prompts version ("slow search" of VerIPO, SPEC section 1).

The reward functions *are* the factory's reward profiles (:func:`factory.rewards.trl_reward.make_reward_funcs`),
so training rewards and the factory's ``reward_*`` columns come from one code path. Every completion TRL
samples is written, scored, with its step and iteration, into a new ``rollouts`` version
(:mod:`trainers.recorder`), ready for ``factory verify`` and ``factory pairs``.
"""

from __future__ import annotations

import time
from dataclasses import dataclass
from types import SimpleNamespace
from pathlib import Path
from typing import Any

from factory.config import config_dict
from factory.errors import UsageError
from factory.export.media import frame_sampling
from factory.rewards import PROFILES
from factory.rewards.trl_reward import make_reward_funcs
from factory.rollouts.templates import load_template
from factory.store import Store
from trainers.data import export_settings, load_train_data, require_columns
from trainers.policy import Policy, free_memory, load_policy, save_checkpoint
from trainers.recorder import RolloutRecorder, find_prompts, sampling_record
from trainers.result import TrainResult, result_from
from trainers.settings import TrainSettings, lora_config, require_model_and_output, trl_arguments

REWARD_COLUMNS = ("prompt", "prompt_id", "gold", "problem_type")


@dataclass
class GrpoConfig(TrainSettings):
    """Settings of ``trainers grpo`` (section ``[grpo]``); Video-R1 / VerIPO's GRPO stage by default."""

    learning_rate: float = 1e-6
    """Video-R1's first GRPO round: 1e-6; VerIPO's later rounds: 5e-7."""
    per_device_batch_size: int = 8
    """Completions per device per forward pass."""
    global_batch_size: int = 64
    """Completions per optimizer step (a multiple of ``num_generations``): 8 questions x G = 8."""
    template: str = "veripo"
    """Prompt template the questions are rendered with (video-r1 or veripo, matching the reward profile)."""
    num_generations: int = 8
    """G: completions sampled per question."""
    temperature: float = 1.0
    top_p: float = 1.0
    top_k: int = 0
    """0 disables top-k."""
    max_completion_length: int = 768
    """Generation budget per completion in tokens (Video-R1: 768)."""
    beta: float = 0.04
    """KL coefficient towards the starting policy (Video-R1: 0.04; 0 skips the reference model)."""
    num_iterations: int = 1
    """Optimisation passes per generated batch (mu)."""
    loss_type: str | None = None
    """TRL's GRPO loss aggregation (grpo, dapo, dr_grpo, ...); None: TRL's default."""
    reward_profile: str = "veripo"
    """Factory reward profile the reward functions compute: veripo or video-r1."""
    length_bonus: bool = False
    """Video-R1's length bonus (video-r1 profile only)."""
    reward_weights: list[float] | None = None
    """Weights of the reward functions (accuracy, format[, length]); None: all 1."""
    data_types: list[str] | None = None
    """Train only on questions of these media types (e.g. ["video"], as VerIPO's later rounds); None: all."""
    use_vllm: bool = False
    """Generate with vLLM inside TRL (GPU machines)."""
    vllm_mode: str = "colocate"
    """colocate (vLLM in the training processes) or server (``trl vllm-serve`` at vllm_server_base_url)."""
    vllm_server_base_url: str | None = None
    vllm_gpu_memory_utilization: float = 0.3
    """Share of GPU memory the colocated vLLM engine takes."""
    record_rollouts: bool = True
    """Write every sampled completion to the store's rollouts table (needs a store holding the prompts)."""
    rollouts_mode: str = "replace"
    """replace: the new rollouts version holds exactly this run's completions (what the loop pairs);
    append: the latest rollouts version's rows plus this run's."""
    rows_per_part: int = 512
    iteration: int | None = None
    """Training-loop iteration recorded on each rollout."""

    def __post_init__(self) -> None:
        self.check()
        if self.num_generations < 2:
            raise ValueError("num_generations (G) must be at least 2: GRPO compares completions within a group")
        if self.global_batch_size % self.num_generations:
            raise ValueError(f"global_batch_size {self.global_batch_size} must be a multiple of num_generations "
                             f"{self.num_generations} (whole groups per step)")
        if self.reward_profile not in PROFILES:
            raise ValueError(f"reward_profile must be one of {PROFILES}, got {self.reward_profile!r}")
        if self.rollouts_mode not in ("replace", "append"):
            raise ValueError(f"rollouts_mode must be replace or append, got {self.rollouts_mode!r}")
        if self.vllm_mode not in ("colocate", "server"):
            raise ValueError(f"vllm_mode must be colocate or server, got {self.vllm_mode!r}")


VISION_TOKEN_IDS = ("image_token_id", "video_token_id", "vision_start_token_id", "vision_end_token_id")


def vision_token_ids(model: Any) -> list[int]:
    """The ids of a vision model's media placeholder tokens (from its config)."""
    config = getattr(model, "config", None)
    found = [getattr(config, name, None) for name in VISION_TOKEN_IDS]
    return sorted({i for i in found if isinstance(i, int)})


def grpo_arguments(config: GrpoConfig, output_dir: str, *, suppress: list[int] | None = None):
    """TRL ``GRPOConfig`` for ``config``; ``suppress``: token ids the policy must not sample (transformers
    generation only)."""
    from trl import GRPOConfig as TRLGRPOConfig

    args = trl_arguments(config, output_dir)
    args.pop("max_length")  # GRPO bounds the completion instead
    args.update(num_generations=config.num_generations, temperature=config.temperature, top_p=config.top_p,
                top_k=config.top_k, max_completion_length=config.max_completion_length, beta=config.beta,
                num_iterations=config.num_iterations, reward_weights=config.reward_weights,
                use_vllm=config.use_vllm, log_completions=False)
    if config.loss_type:
        args["loss_type"] = config.loss_type
    if suppress and not config.use_vllm:
        # A sampled media placeholder (e.g. <|vision_start|>) makes the training forward look for an image that
        # has no features and fail; TRL suppresses only the image token. Trained policies never emit them.
        args["generation_kwargs"] = {"suppress_tokens": list(suppress)}
    if config.use_vllm:
        args.update(vllm_mode=config.vllm_mode, vllm_gpu_memory_utilization=config.vllm_gpu_memory_utilization)
        if config.vllm_server_base_url:
            args["vllm_server_base_url"] = config.vllm_server_base_url
    args.update(config.trl_args)
    return TRLGRPOConfig(**args)


def token_counter(tokenizer: Any):
    """Think-length counting with the policy's own tokenizer (what the rollouts stage does with vLLM's)."""
    return lambda texts: [len(ids) for ids in tokenizer(texts, add_special_tokens=False)["input_ids"]] if texts else []


def _frames(config: GrpoConfig, source: dict[str, Any], vision: bool) -> dict[str, Any] | None:
    """The frame sampling the training rows were exported with (recorded on each rollout), if known."""
    if source.get("kind") == "store":
        exported: Any = export_settings(config, format="trl-grpo", table="prompts", vision=vision)
    elif source.get("export"):
        exported = SimpleNamespace(**source["export"])  # an exported folder's lineage.json says
    else:
        return None  # a Hub dataset: frames as someone else sampled them
    if not exported.include_frames:
        return None
    sampling = frame_sampling(exported, None)
    return {"fps": sampling.fps, "min_frames": sampling.min_frames, "max_frames": sampling.max_frames,
            "max_pixels": sampling.max_pixels}


def _recorder(store: Store | None, config: GrpoConfig, policy: Policy, dataset: Any, source: dict[str, Any],
              vision: bool) -> RolloutRecorder | None:
    if not config.record_rollouts:
        return None
    if store is None:
        raise UsageError("record_rollouts needs a store holding the prompts (--store), or turn it off")
    ids = set(dataset.unique("prompt_id"))
    version = source.get("version") if source.get("table") == "prompts" else None
    prompts, manifest = find_prompts(store, ids, version)
    template_id, template_hash = config.template, None
    if source.get("kind") == "store":
        template = load_template(config.template)
        template_id, template_hash = template.id, template.hash
    elif source.get("template"):
        template_id = str(source["template"])
    else:
        template_id = f"dataset:{source.get('dataset') or source.get('folder')}"
    frames = _frames(config, source, vision)
    tokenizer = policy.tokenizer
    eos = {tokenizer.eos_token_id, tokenizer.pad_token_id}
    generation_eos = getattr(policy.model.generation_config, "eos_token_id", None)
    eos |= set(generation_eos if isinstance(generation_eos, list) else [generation_eos])
    eos.discard(None)
    chat_template = getattr(policy.processing_class, "chat_template", None) or getattr(tokenizer, "chat_template", None)
    if not config.use_vllm:
        endpoint = "in-process"
    elif config.vllm_mode == "server":
        endpoint = config.vllm_server_base_url or "trl vllm-serve"
    else:
        endpoint = "in-process (vllm colocate)"
    run_config = {"stage": "grpo", "policy": policy.name, "revision": policy.revision, "data": source,
                  "sampling": sampling_record(config), "template": template_id, "profile": config.reward_profile,
                  "length_bonus": config.length_bonus, "iteration": config.iteration, "output_dir": config.output_dir}
    return RolloutRecorder(
        store, prompts, manifest, policy_model=policy.name, policy_revision=policy.revision,
        sampling=sampling_record(config), template_id=template_id, template_hash=template_hash,
        chat_template=chat_template if isinstance(chat_template, str) else None, frames=frames,
        profile=config.reward_profile, length_bonus=config.length_bonus, iteration=config.iteration,
        eos_ids=eos, count_tokens=token_counter(tokenizer),
        endpoint=endpoint, mode=config.rollouts_mode, run_config=run_config, rows_per_part=config.rows_per_part)


def run_grpo(store: Store | None, config: GrpoConfig, *, rollout_func: Any = None,
             callbacks: list[Any] | None = None) -> TrainResult:
    """Train ``config.model`` with GRPO on the prompts, record every completion, save the policy.

    ``rollout_func`` is passed to TRL (its experimental custom-generation hook: prompts in, token ids out),
    e.g. to sample from an engine of your own. Raises :class:`UsageError` for missing inputs.
    """
    require_model_and_output(config)
    from trl import GRPOTrainer

    out = Path(config.output_dir)
    started = time.perf_counter()
    policy = load_policy(config, padding_side="left")  # as TRL loads it: prompts are left-padded
    data = load_train_data(store, config, out, format="trl-grpo", table="prompts", vision=policy.vision)
    if data.source.get("kind") == "store":
        data.source["template"] = config.template
    require_columns(data, REWARD_COLUMNS, "the reward functions")
    dataset = data.dataset
    if config.data_types is not None:
        if "data_type" not in dataset.column_names:
            raise UsageError("data_types is set but the dataset has no data_type column")
        wanted = set(config.data_types)
        dataset = dataset.filter(lambda row: row["data_type"] in wanted)
    if len(dataset) == 0:
        raise UsageError("no prompts to train on" + (f" of types {config.data_types}" if config.data_types else ""))
    funcs = make_reward_funcs(config.reward_profile, length_bonus=config.length_bonus)
    recorder = _recorder(store, config, policy, dataset, data.source, policy.vision)
    if recorder is not None:
        funcs = recorder.wrap(funcs)
    extra = {"rollout_func": rollout_func} if rollout_func is not None else {}
    args = grpo_arguments(config, str(out), suppress=vision_token_ids(policy.model) if policy.vision else None)
    trainer = GRPOTrainer(model=policy.model, reward_funcs=funcs, args=args, train_dataset=dataset,
                          processing_class=policy.processing_class, peft_config=lora_config(config),
                          callbacks=callbacks, **extra)
    version = None
    if recorder is None:
        output = trainer.train()
    else:
        with recorder:
            output = trainer.train()
            version = recorder.commit()
    record = {"stage": "grpo", "iteration": config.iteration, "data": data.source, "rows": len(dataset),
              "config": config_dict(config)}
    result = result_from(trainer, output, out, record, started)
    if version is not None:
        result.rollouts_version, result.rollouts = version.id, recorder.written
    result.record = save_checkpoint(trainer, policy, out, {**record, **result.figures()}, config)
    result.seconds = time.perf_counter() - started
    del trainer, policy
    free_memory()
    return result
