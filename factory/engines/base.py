"""The engine protocol: one small interface, several backends chosen by name (SPEC section 4).

A stage turns its rows into :class:`GenerationRequest` s; an engine yields one :class:`GenerationResult`
per request, in any order, as each finishes, so the stage can write rows while the engine works. A
request that fails is a result with ``error`` set, never an exception that ends the run (engines raise
only for problems that make every request fail, such as a model that does not load).
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from typing import Any, Protocol

import numpy as np


@dataclass
class MediaInput:
    """Decoded media for one request: video frames (T, H, W, 3 uint8) with metadata, or one image."""

    kind: str  # "video" | "image"
    frames: np.ndarray | None = None
    image: Any = None  # PIL.Image for kind == "image"
    fps: float | None = None  # native fps of the video
    duration_s: float | None = None
    total_frames: int | None = None
    frame_indices: list[int] = field(default_factory=list)
    sample_fps: float | None = None  # effective rate of the sampled frames
    uri: str | None = None

    def vllm_video(self) -> tuple[np.ndarray, dict[str, Any]]:
        """The (frames, metadata) tuple vLLM's Qwen-VL processors take; frames are already sampled."""
        return self.frames, {
            "total_num_frames": self.total_frames, "fps": self.fps, "duration": self.duration_s,
            "frames_indices": list(self.frame_indices), "video_backend": "pyav", "do_sample_frames": False,
        }


@dataclass
class Sampling:
    """Sampling settings of one request. ``seed`` seeds sample 0; sample i uses ``seed + i`` (vLLM's rule)."""

    n: int = 1
    temperature: float = 1.0
    top_p: float = 1.0
    top_k: int = -1
    max_tokens: int = 256
    stop: list[str] = field(default_factory=list)
    seed: int | None = None
    logprobs: int | None = None  # top log-probs per generated token (judges use it for confidence)
    choices: list[str] | None = None  # constrain the output to one of these strings (structured outputs)


@dataclass
class GenerationRequest:
    """One prompt to complete ``sampling.n`` times; ``request_id`` is the caller's handle."""

    request_id: str
    messages: list[dict[str, Any]]  # OpenAI-style chat messages; media parts are {"type": "video"|"image"}
    sampling: Sampling
    media: MediaInput | None = None


@dataclass
class Sample:
    text: str
    finish_reason: str | None
    completion_tokens: int | None
    token_logprobs: list[dict[str, float]] | None = None  # per token: {token_text: logprob} of the top-k
    cumulative_logprob: float | None = None  # log-probability of the whole sampled text (when logprobs asked)


@dataclass
class GenerationResult:
    request_id: str
    samples: list[Sample]
    prompt_tokens: int | None = None
    latency_s: float | None = None
    error: str | None = None  # "<kind>: <message>" when the request failed after retries
    error_kind: str | None = None


class Engine(Protocol):
    """What every backend provides."""

    name: str
    version: str
    endpoint: str

    def generate(self, requests: Iterable[GenerationRequest]) -> Iterator[GenerationResult]:
        """Yield one result per request, as each finishes."""
        ...

    def chat_template_hash(self) -> str | None:
        """SHA-256 of the chat template the engine applies (None when unknown, e.g. a hosted API)."""
        ...

    def close(self) -> None:
        ...
