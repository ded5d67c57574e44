"""``RolloutConfig``: every knob of ``factory rollouts``, documented where it is defined."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from factory.rewards import PROFILES


@dataclass
class RolloutConfig:
    """Settings of ``factory rollouts`` (section ``[rollouts]`` of a config file)."""

    policy: str = ""
    """Policy model: a local folder (e.g. a trainer checkpoint) or a Hub id."""
    revision: str | None = None
    """Model revision (commit or tag); recorded and part of each rollout's key."""
    engine: str = "vllm"
    """vllm (in-process), openai (any OpenAI-compatible endpoint, with --base-url) or ray (a Ray cluster)."""
    n: int = 8
    """G: samples per prompt."""
    temperature: float = 1.0
    top_p: float = 1.0
    top_k: int = -1
    """-1 disables top-k."""
    max_new_tokens: int = 768
    stop: list[str] = field(default_factory=list)
    seed: int = 0
    """Base seed; each prompt's seed is derived from it and the prompt id, sample i uses seed + i."""
    template: str = "video-r1"
    """Prompt template: video-r1, veripo, or a template file."""
    reward_profile: str = "video-r1"
    """Reward profile: video-r1 or veripo."""
    length_bonus: bool = False
    """Video-R1's optional length bonus (video-r1 profile only)."""
    fps: float = 2.0
    """Target frame sampling rate for videos."""
    min_frames: int = 4
    max_frames: int = 16
    max_pixels: int = 128 * 28 * 28
    """Pixel ceiling per frame (frames are resized to multiples of 28 under it)."""
    decode_workers: int = 4
    """Threads decoding media ahead of the engine."""
    # -- engine --
    base_url: str | None = None
    """Endpoint for the openai engine, e.g. http://127.0.0.1:8000/v1."""
    served_model: str | None = None
    """Model name at the endpoint (default: policy)."""
    api_key_env: str = "OPENAI_API_KEY"
    """Environment variable holding the endpoint's key (the key itself is never stored)."""
    concurrency: int = 32
    """In-flight requests to an endpoint."""
    video_mode: str = "frames"
    """How the openai engine sends video: frames (image parts) or video_url."""
    max_retries: int = 6
    max_in_flight: int = 256
    """Prompts queued into the in-process engine at once."""
    dtype: str = "auto"
    max_model_len: int | None = None
    gpu_memory_utilization: float = 0.9
    tensor_parallel_size: int = 1
    enforce_eager: bool = False
    # -- ray engine (factory/scaleout): same rows and ids as vllm, sharded over a cluster --
    replicas: int = 1
    """Engine replicas for engine ray: independent vLLM engines the request table is spread over."""
    gpus_per_replica: float | None = None
    """GPUs a replica reserves (engine ray); default tensor_parallel_size where the cluster has GPUs, else 0
    (0: each replica takes one CPU core)."""
    address: str | None = None
    """Ray cluster to join (ray://head:10001 or auto); default: a local Ray started and stopped by the command."""
    ray_batch_size: int = 16
    """Rows per batch handed to a replica (engine ray)."""
    max_engine_restarts: int = 2
    """Restarts of a crashed replica, and retries of its batch, before the job fails (engine ray)."""
    # -- data and writing --
    prompts_version: str | None = None
    """prompts version to read (default latest)."""
    limit: int | None = None
    """Only the first N prompts (for trying things)."""
    iteration: int | None = None
    """Training-loop iteration recorded on each row."""
    rows_per_part: int = 512
    seconds_per_part: float = 15.0

    def __post_init__(self) -> None:
        if self.engine not in ("vllm", "openai", "ray"):
            raise ValueError(f"engine must be vllm, openai or ray, got {self.engine!r}")
        if self.replicas < 1:
            raise ValueError("replicas must be at least 1")
        if self.reward_profile not in PROFILES:
            raise ValueError(f"reward_profile must be one of {PROFILES}, got {self.reward_profile!r}")
        if self.n < 1:
            raise ValueError("n must be at least 1")
        if self.engine == "openai" and not self.base_url:
            raise ValueError("the openai engine needs base_url")
        if self.video_mode not in ("frames", "video_url"):
            raise ValueError(f"video_mode must be frames or video_url, got {self.video_mode!r}")

    def sampling_key(self) -> dict[str, Any]:
        """Sampling settings that define a rollout (the row seed is added per row)."""
        return {"temperature": self.temperature, "top_p": self.top_p, "top_k": self.top_k,
                "max_new_tokens": self.max_new_tokens, "stop": list(self.stop)}

    def frames_key(self) -> dict[str, Any]:
        return {"fps": self.fps, "min_frames": self.min_frames, "max_frames": self.max_frames,
                "max_pixels": self.max_pixels}

    def run_config(self) -> dict[str, Any]:
        """What defines this run's rows (recorded in the manifest; keys resume)."""
        return {"policy": self.policy, "revision": self.revision, "engine": self.engine,
                "sampling": self.sampling_key(), "seed": self.seed, "template": self.template,
                "frames": self.frames_key(), "reward_profile": self.reward_profile,
                "length_bonus": self.length_bonus, "iteration": self.iteration}
