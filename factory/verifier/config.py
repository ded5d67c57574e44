"""``VerifyConfig``: every knob of ``factory verify``, documented where it is defined."""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from factory.verifier.rules import DEFAULT_REFLECTION_CUES, RuleConfig

JUDGES = ("rules", "vllm", "openai", "ray")


@dataclass
class VerifyConfig:
    """Settings of ``factory verify`` (section ``[verify]`` of a config file)."""

    judge: str = "rules"
    """rules (no model), vllm (in-process judge model), openai (judge behind an OpenAI-compatible endpoint) or
    ray (the judge model on a Ray cluster; same verdict ids as vllm)."""
    verifier: str | None = None
    """Name the verdicts are stored under (part of the key); default: 'rules' or 'judge:<model name>'."""
    judge_model: str | None = None
    """Judge model folder or Hub id (vllm), or its name at the endpoint (openai)."""
    judge_revision: str | None = None
    base_url: str | None = None
    """Endpoint of the openai judge, e.g. http://127.0.0.1:8000/v1."""
    api_key_env: str = "OPENAI_API_KEY"
    """Environment variable with the endpoint's key (never stored)."""
    prompt: str | None = None
    """Judge prompt: the shipped 'consistency-v1' (default) or a TOML/YAML prompt file."""
    structured: bool = True
    """Constrain the judge's output to the labels (structured outputs) where the backend supports it."""
    temperature: float = 0.0
    max_tokens: int = 16
    """Judge output budget (a label needs a few tokens; raise it for judges that think first)."""
    logprobs: int = 5
    """Top log-probs requested per token, for the confidence column (0: none)."""
    seed: int = 0
    max_think_chars: int = 6000
    """Think texts longer than this keep their last characters (the conclusion); the cut is recorded."""
    concurrency: int = 64
    """In-flight requests to an endpoint judge."""
    max_retries: int = 6
    max_in_flight: int = 512
    """Prompts queued into the in-process judge at once."""
    max_model_len: int | None = None
    dtype: str = "auto"
    gpu_memory_utilization: float = 0.9
    enforce_eager: bool = False
    # -- ray judge (factory/scaleout); see RolloutConfig for the same knobs --
    tensor_parallel_size: int = 1
    replicas: int = 1
    """Judge engine replicas on the Ray cluster."""
    gpus_per_replica: float | None = None
    address: str | None = None
    """Ray cluster to join (ray://head:10001 or auto); default: a local Ray for this command."""
    ray_batch_size: int = 32
    max_engine_restarts: int = 2
    rollouts_version: str | None = None
    """rollouts version to judge (default latest)."""
    limit: int | None = None
    """Judge only the first N rollouts (for trying things)."""
    rows_per_part: int = 2048
    seconds_per_part: float = 15.0
    # rule thresholds
    ngram: int = 4
    max_ngram_repeats: int = 5
    min_distinct_ratio: float = 0.5
    min_ngrams: int = 20
    reflection_cues: list[str] = field(default_factory=lambda: list(DEFAULT_REFLECTION_CUES))

    def __post_init__(self) -> None:
        if self.judge not in JUDGES:
            raise ValueError(f"judge must be one of {JUDGES}, got {self.judge!r}")
        if self.judge != "rules" and not self.judge_model:
            raise ValueError(f"the {self.judge} judge needs judge_model")
        if self.replicas < 1:
            raise ValueError("replicas must be at least 1")
        if self.judge == "openai" and not self.base_url:
            raise ValueError("the openai judge needs base_url")

    @property
    def name(self) -> str:
        if self.verifier:
            return self.verifier
        return "rules" if self.judge == "rules" else f"judge:{Path(str(self.judge_model)).name}"

    def rules(self) -> RuleConfig:
        return RuleConfig(ngram=self.ngram, max_ngram_repeats=self.max_ngram_repeats,
                          min_distinct_ratio=self.min_distinct_ratio, min_ngrams=self.min_ngrams,
                          reflection_cues=list(self.reflection_cues))

    def sampling_key(self) -> dict[str, Any]:
        """The judge sampling params that define a verdict (part of its key)."""
        if self.judge == "rules":
            return {"rules": "conclusion-pattern-v1"}
        return {"temperature": self.temperature, "max_tokens": self.max_tokens, "seed": self.seed,
                "structured": self.structured, "max_think_chars": self.max_think_chars}
