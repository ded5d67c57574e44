"""The ``openai`` engine: any OpenAI-compatible chat endpoint (vLLM's server, SGLang, llama.cpp, hosted APIs).

``generate`` is a plain iterator for the stage; underneath, one asyncio loop in a background thread runs
``openai.AsyncOpenAI`` calls. The caller's thread pulls requests from its (lazy) iterable, so at most
``2 * concurrency`` requests are held at once; a semaphore keeps at most ``concurrency`` HTTP calls in
flight, and results are yielded in the order they finish.

Every request ends as exactly one result. Transient failures (connection refused or dropped, timeouts,
429, 5xx) are retried with exponential backoff and full jitter (a retrying call gives up its slot while it
waits); other 4xx fail that request at once. A failed request is a result with no samples,
``error="<kind>: <message>"`` and ``error_kind`` in :data:`ERROR_KINDS`. ``latency_s`` is the wall time
from the request's submission to its result: queueing for a slot and retries included.

``n`` samples come from one call when the server honours ``n``; missing ones (``use_n=False``, or a server
that ignores ``n``) are asked for one by one with seed ``seed + i``, which is what vLLM does for sample i.
Structured choice uses vLLM's ``structured_outputs={"choice": [...]}`` (vLLM 0.32 ignores the older
``guided_choice``, with only a server-side warning); when a server rejects it, the request runs
unconstrained and ``stats["structured_fallbacks"]`` counts it.

Server-specific parameters (vLLM's ``top_k``, ``structured_outputs``, ``return_token_ids``) travel in
``extra_body``. Per-sample completion token counts come from, in order: the logprobs (one entry per
token), vLLM's ``token_ids`` (asked for when ``/version`` answers, i.e. the server is vLLM), or
``usage.completion_tokens`` when the response holds one choice; otherwise they are None.
"""

from __future__ import annotations

import asyncio
import logging
import os
import queue
import random
import threading
import time
from collections import Counter
from collections.abc import Iterable, Iterator
from concurrent.futures import Future
from typing import Any

import httpx
import openai

from factory.engines.base import GenerationRequest, GenerationResult, Sample
from factory.engines.media_parts import IMAGE_FORMATS, VIDEO_MODES, openai_messages
from factory.errors import UsageError

log = logging.getLogger(__name__)

ERROR_KINDS = ("connection", "timeout", "rate_limit", "server", "bad_request", "auth", "not_found",
               "bad_response", "media", "internal")
_VERSION_PROBE_TIMEOUT_S = 3.0


class RequestFailed(Exception):
    """One HTTP call failed for good (after retries, or at once when not retryable)."""

    def __init__(self, kind: str, message: str):
        super().__init__(f"{kind}: {message}")
        self.kind = kind
        self.message = message


class OpenAIEngine:
    """Chat completions against ``base_url`` (e.g. ``http://host:8000/v1``) for the served ``model``.

    The API key is read from the environment variable ``api_key_env`` ("EMPTY" when unset) when the
    client is made; this object keeps no copy of it. ``stats`` counts calls, retries by kind, structured
    output fallbacks and samples topped up by extra calls; ``observed_max_in_flight`` is the most HTTP
    calls ever in flight at once (for checking ``concurrency``).
    """

    name = "openai"

    def __init__(self, base_url: str, model: str, *, api_key_env: str = "OPENAI_API_KEY", concurrency: int = 16,
                 max_retries: int = 6, timeout_s: float = 120.0, backoff_base_s: float = 0.5,
                 backoff_max_s: float = 30.0, video_mode: str = "frames", use_n: bool = True,
                 image_format: str = "jpeg"):
        if concurrency < 1:
            raise UsageError(f"openai engine: concurrency must be >= 1, not {concurrency}")
        if max_retries < 0:
            raise UsageError(f"openai engine: max_retries must be >= 0, not {max_retries}")
        if video_mode not in VIDEO_MODES:
            raise UsageError(f"openai engine: video_mode must be one of {VIDEO_MODES}, not {video_mode!r}")
        if image_format not in IMAGE_FORMATS:
            raise UsageError(f"openai engine: image_format must be one of {sorted(IMAGE_FORMATS)}, "
                             f"not {image_format!r}")
        self.endpoint = base_url.rstrip("/")
        self.model = model
        self.api_key_env = api_key_env
        self.concurrency = concurrency
        self.max_retries = max_retries
        self.timeout_s = timeout_s
        self.backoff_base_s = backoff_base_s
        self.backoff_max_s = backoff_max_s
        self.video_mode = video_mode
        self.use_n = use_n
        self.image_format = image_format
        self.observed_max_in_flight = 0
        self.stats: Counter[str] = Counter()
        # None until a server answers; False once it rejected a parameter by name (then it is not sent).
        self.supports: dict[str, bool | None] = {"structured_outputs": None, "return_token_ids": None}
        self._version: str | None = None
        self._vllm_server = False
        self._in_flight = 0
        self._rng = random.Random()
        self._loop: asyncio.AbstractEventLoop | None = None
        self._thread: threading.Thread | None = None
        self._client = None
        self._semaphore: asyncio.Semaphore | None = None

    # -- protocol ----------------------------------------------------------------------------------
    @property
    def version(self) -> str:
        """The server's version from ``GET /version`` (vLLM answers it), else "unknown".

        Asked on first use; while it is "unknown", asked again at the start of each ``generate``.
        """
        if self._version is None:
            self._version = self._probe_version() or "unknown"
        return self._version

    def chat_template_hash(self) -> str | None:
        return None  # the server applies its own template; we cannot see it

    def generate(self, requests: Iterable[GenerationRequest]) -> Iterator[GenerationResult]:
        """One result per request, as each finishes; holds at most ``2 * concurrency`` requests at once."""
        self._start()
        if self._version == "unknown":
            self._version = None
        self._vllm_server = self.version != "unknown"
        done: queue.Queue[Future] = queue.Queue()
        pending: set[Future] = set()
        source = iter(requests)
        exhausted = False
        try:
            while True:
                while not exhausted and len(pending) < 2 * self.concurrency:
                    request = next(source, None)
                    if request is None:
                        exhausted = True
                        break
                    future = asyncio.run_coroutine_threadsafe(self._one(request), self._loop)
                    pending.add(future)
                    future.add_done_callback(done.put)
                if not pending:
                    return
                future = done.get()
                pending.discard(future)
                yield future.result()
        finally:
            for future in pending:  # the caller stopped early (or close() ran): drop unfinished work
                future.cancel()

    def close(self) -> None:
        if self._loop is None:
            return
        loop, thread = self._loop, self._thread
        if self._client is not None:
            asyncio.run_coroutine_threadsafe(self._client.close(), loop).result(timeout=10)
        loop.call_soon_threadsafe(loop.stop)
        thread.join(timeout=10)
        loop.close()
        self._loop = self._thread = self._client = self._semaphore = None

    def __enter__(self) -> OpenAIEngine:
        return self

    def __exit__(self, *exc) -> None:
        self.close()

    # -- loop and client ---------------------------------------------------------------------------
    def _start(self) -> None:
        if self._loop is not None:
            return
        loop = asyncio.new_event_loop()
        thread = threading.Thread(target=loop.run_forever, name="openai-engine", daemon=True)
        thread.start()

        async def make():
            # Our own retry loop replaces the SDK's (max_retries=0), so every attempt is counted and bounded.
            self._client = openai.AsyncOpenAI(base_url=self.endpoint, max_retries=0, timeout=self.timeout_s,
                                              api_key=os.environ.get(self.api_key_env) or "EMPTY")
            self._semaphore = asyncio.Semaphore(self.concurrency)

        asyncio.run_coroutine_threadsafe(make(), loop).result()
        self._loop, self._thread = loop, thread

    def _probe_version(self) -> str | None:
        root = self.endpoint[:-3] if self.endpoint.endswith("/v1") else self.endpoint
        for url in dict.fromkeys([f"{self.endpoint}/version", f"{root}/version"]):
            try:
                response = httpx.get(url, timeout=_VERSION_PROBE_TIMEOUT_S)
                if response.status_code == 200:
                    version = response.json().get("version")
                    if isinstance(version, str) and version:
                        return version
            except (httpx.HTTPError, ValueError, AttributeError):
                continue
        return None

    # -- one request -------------------------------------------------------------------------------
    async def _one(self, request: GenerationRequest) -> GenerationResult:
        began = time.perf_counter()
        try:
            messages = await asyncio.to_thread(openai_messages, request.messages, request.media,
                                               video_mode=self.video_mode, image_format=self.image_format)
        except Exception as exc:  # unreadable media fails this request only
            return _failed(request, "media", str(exc), began)
        s = request.sampling
        try:
            first_n = s.n if self.use_n else 1
            samples, prompt_tokens = await self._call(request, messages, first_n, s.seed)
            missing = range(len(samples), s.n)
            if missing:
                self.stats["topped_up_samples"] += len(missing)
                extra = await asyncio.gather(*[
                    self._call(request, messages, 1, None if s.seed is None else s.seed + i)
                    for i in missing], return_exceptions=True)
                for outcome in extra:
                    if isinstance(outcome, BaseException):
                        raise outcome
                    samples += outcome[0][:1]
        except RequestFailed as exc:
            return _failed(request, exc.kind, exc.message, began)
        except Exception as exc:  # a bug or an unexpected response must not end the run
            log.exception("openai engine: request %s failed unexpectedly", request.request_id)
            return _failed(request, "internal", f"{type(exc).__name__}: {exc}", began)
        return GenerationResult(request.request_id, samples, prompt_tokens=prompt_tokens,
                                latency_s=time.perf_counter() - began)

    def _body(self, request: GenerationRequest, messages: list, n: int, seed: int | None, *,
              drop: frozenset[str] = frozenset()) -> dict[str, Any]:
        """The create() arguments, without the optional extras (keys of ``supports``) named in ``drop``."""
        s = request.sampling
        body: dict[str, Any] = dict(model=self.model, messages=messages, n=n, temperature=s.temperature,
                                    top_p=s.top_p, max_tokens=s.max_tokens)
        if seed is not None:
            body["seed"] = seed
        if s.stop:
            body["stop"] = list(s.stop)
        if s.logprobs is not None:
            body["logprobs"] = True
            body["top_logprobs"] = s.logprobs
        extra: dict[str, Any] = {}
        if s.top_k is not None and s.top_k > 0:
            extra["top_k"] = s.top_k
        if s.choices is not None and self.supports["structured_outputs"] is not False:
            extra["structured_outputs"] = {"choice": list(s.choices)}
        if self._vllm_server and n > 1 and s.logprobs is None and self.supports["return_token_ids"] is not False:
            extra["return_token_ids"] = True
        for key in drop:
            extra.pop(key, None)
        if extra:
            body["extra_body"] = extra
        return body

    async def _call(self, request: GenerationRequest, messages: list, n: int,
                    seed: int | None) -> tuple[list[Sample], int | None]:
        """One chat completion (with retries): its samples and prompt token count."""
        body = self._body(request, messages, n, seed)
        sent = [key for key in body.get("extra_body", {}) if key in self.supports]
        try:
            response = await self._with_retries(body)
        except RequestFailed as exc:
            if exc.kind != "bad_request" or not sent:
                raise
            # The server may not know an optional parameter: try once without those it named (else without
            # the structured output and all not yet seen to work), and stop sending the named ones. A request
            # rejected for another reason fails again, with its own message.
            named = frozenset(key for key in sent if key in str(exc))
            drop = named or frozenset(key for key in sent
                                      if key == "structured_outputs" or not self.supports[key])
            if not drop:
                raise
            response = await self._with_retries(self._body(request, messages, n, seed, drop=drop))
            for key in named:
                self.supports[key] = False
            if "structured_outputs" in drop:
                self.stats["structured_fallbacks"] += 1
                log.warning("openai engine: %s rejected structured outputs (%s); request %s ran unconstrained",
                            self.endpoint, exc, request.request_id)
        else:
            drop = frozenset()
        for key in set(sent) - drop:
            self.supports[key] = True
        try:
            return _samples(response, n), (response.usage.prompt_tokens if response.usage else None)
        except (AttributeError, TypeError, ValueError) as exc:
            raise RequestFailed("bad_response", f"cannot read the response: {exc}") from None

    async def _with_retries(self, body: dict[str, Any]):
        attempt = 0
        while True:
            self.stats["calls"] += 1
            try:
                async with self._semaphore:
                    self._in_flight += 1
                    self.observed_max_in_flight = max(self.observed_max_in_flight, self._in_flight)
                    try:
                        return await self._client.chat.completions.create(**body)
                    finally:
                        self._in_flight -= 1
            except openai.APIError as exc:
                kind, retryable, retry_after = _classify(exc)
                if not retryable or attempt >= self.max_retries:
                    suffix = f" (after {attempt} retries)" if attempt else ""
                    raise RequestFailed(kind, f"{_message(exc)}{suffix}") from None
            attempt += 1
            self.stats["retries"] += 1
            self.stats[f"retries_{kind}"] += 1
            ceiling = min(self.backoff_max_s, self.backoff_base_s * 2 ** (attempt - 1))
            delay = self._rng.uniform(0, ceiling)  # full jitter: clients that failed together retry apart
            if retry_after is not None:
                delay = max(delay, min(retry_after, self.backoff_max_s))
            await asyncio.sleep(delay)


def _classify(exc: Exception) -> tuple[str, bool, float | None]:
    """(error kind, retryable, the server's Retry-After in seconds if it gave one)."""
    if isinstance(exc, openai.APITimeoutError):  # a subclass of APIConnectionError: test it first
        return "timeout", True, None
    if isinstance(exc, openai.APIConnectionError):
        return "connection", True, None
    if isinstance(exc, openai.APIStatusError):
        status = exc.status_code
        retry_after = _retry_after(exc.response)
        if status == 429:
            return "rate_limit", True, retry_after
        if status >= 500:
            return "server", True, retry_after
        if status == 408:
            return "timeout", True, retry_after
        if status in (401, 403):
            return "auth", False, None
        if status == 404:
            return "not_found", False, None
        return "bad_request", False, None
    return "bad_response", False, None  # e.g. a body that is not the JSON the SDK expects


def _retry_after(response) -> float | None:
    try:
        return float(response.headers.get("retry-after"))
    except (TypeError, ValueError, AttributeError):
        return None


def _message(exc: Exception) -> str:
    """The server's own message when it sent one (vLLM: {"error": {"message": ...}}), else the SDK's."""
    body = getattr(exc, "body", None)
    if isinstance(body, dict):
        inner = body.get("error", body)
        if isinstance(inner, dict) and inner.get("message"):
            return str(inner["message"])
        if isinstance(body.get("message"), str):
            return body["message"]
    text = str(exc) or type(exc).__name__
    return text if len(text) <= 2000 else text[:2000] + "..."


def _samples(response, n: int) -> list[Sample]:
    choices = sorted(response.choices, key=lambda c: c.index)[:n]
    usage_tokens = response.usage.completion_tokens if response.usage and len(choices) == 1 else None
    samples = []
    for choice in choices:
        token_logprobs = None
        cumulative = None
        content = choice.logprobs.content if choice.logprobs is not None else None
        if content is not None:
            token_logprobs = []
            cumulative = sum(step.logprob for step in content)
            for step in content:
                top = {entry.token: entry.logprob for entry in (step.top_logprobs or [])}
                top.setdefault(step.token, step.logprob)
                token_logprobs.append(top)
        token_ids = (choice.model_extra or {}).get("token_ids")
        if token_logprobs is not None:
            tokens = len(token_logprobs)
        elif isinstance(token_ids, list):
            tokens = len(token_ids)
        else:
            tokens = usage_tokens
        samples.append(Sample(choice.message.content or "", choice.finish_reason, tokens, token_logprobs, cumulative))
    return samples


def _failed(request: GenerationRequest, kind: str, message: str, began: float) -> GenerationResult:
    return GenerationResult(request.request_id, [], latency_s=time.perf_counter() - began,
                            error=f"{kind}: {message}", error_kind=kind)


__all__ = ["ERROR_KINDS", "OpenAIEngine", "RequestFailed"]
