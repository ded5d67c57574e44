"""``factory rollouts``: G sampled completions per prompt, scored, written as they finish.

Resume is by key: every rollout id a prompt needs is computed up front from the prompt, the sample
index, the policy, the sampling params with the row's seed and the template; ids already stored are
not generated again, so a killed run re-run with the same config completes exactly what is missing.
"""

from __future__ import annotations

import json
import queue
import time
from collections import Counter, OrderedDict, deque
from concurrent.futures import Future, ThreadPoolExecutor
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import datetime, timezone
from typing import Any

import polars as pl
import pyarrow as pa

from factory.engines.base import Engine, GenerationRequest, GenerationResult, Sampling
from factory.errors import MediaError, UsageError
from factory.media.frames import FrameSampling, load_media
from factory.rollouts.config import RolloutConfig
from factory.rollouts.scoring import score_rollouts
from factory.rollouts.templates import PromptTemplate, load_template
from factory.store import Manifest, ParentRef, Store, TableWriter
from factory.version import code_version
from schemas import rollout_id, row_seed


@dataclass
class RolloutSummary:
    version: Manifest | None
    written: int = 0
    already_present: int = 0
    prompts: int = 0
    errors: Counter = field(default_factory=Counter)
    generated_tokens: int = 0
    seconds: float = 0.0
    mean_reward: dict[str, float] = field(default_factory=dict)  # per problem type, rows written by this run

    @property
    def tokens_per_s(self) -> float:
        return self.generated_tokens / self.seconds if self.seconds else 0.0


class RewardTally:
    """Mean ``reward_total`` per problem type over the ok rows a run wrote (its summary's figure)."""

    def __init__(self, prompt_frame: pl.DataFrame):
        self.prompt_frame = prompt_frame.select("prompt_id", "problem_type")
        self.parts: list[pl.DataFrame] = []

    def add(self, scored: pa.Table) -> None:
        self.parts.append(pl.from_arrow(scored.select(["prompt_id", "status", "reward_total"]))
                          .filter(pl.col("status") == "ok").join(self.prompt_frame, on="prompt_id")
                          .group_by("problem_type").agg(pl.col("reward_total").sum().alias("sum"),
                                                        pl.len().alias("count")))

    def means(self) -> dict[str, float]:
        if not self.parts:
            return {}
        totals = pl.concat(self.parts).group_by("problem_type").agg(pl.col("sum").sum(), pl.col("count").sum())
        return {row["problem_type"]: row["sum"] / row["count"]
                for row in totals.sort("problem_type").iter_rows(named=True) if row["count"]}


@dataclass
class _Planned:
    prompt: dict[str, Any]
    start: int  # first sample index of this request
    count: int
    group_seed: int


def make_engine(config: RolloutConfig) -> Engine:
    if config.engine == "ray":
        raise UsageError("the ray engine runs a whole request table, not single requests: "
                         "call run_rollouts (factory.scaleout) with engine='ray'")
    if config.engine == "vllm":
        from factory.engines.vllm_engine import VLLMEngine

        return VLLMEngine(config.policy, revision=config.revision, dtype=config.dtype,
                          max_model_len=config.max_model_len, gpu_memory_utilization=config.gpu_memory_utilization,
                          tensor_parallel_size=config.tensor_parallel_size, enforce_eager=config.enforce_eager,
                          max_in_flight=config.max_in_flight, seed=config.seed)
    from factory.engines.openai_engine import OpenAIEngine

    return OpenAIEngine(config.base_url, config.served_model or config.policy, api_key_env=config.api_key_env,
                        concurrency=config.concurrency, max_retries=config.max_retries, video_mode=config.video_mode)


def _missing_runs(indices: list[int]) -> list[tuple[int, int]]:
    """Contiguous runs (start, count) of sample indices, so each run is one n-sampling request."""
    runs: list[tuple[int, int]] = []
    for index in indices:
        if runs and runs[-1][0] + runs[-1][1] == index:
            runs[-1] = (runs[-1][0], runs[-1][1] + 1)
        else:
            runs.append((index, 1))
    return runs


class RolloutRun:
    """One ``factory rollouts`` run over a store; see :func:`run_rollouts`."""

    def __init__(self, store: Store, config: RolloutConfig):
        if not config.policy:
            raise UsageError("no policy model given: pass --policy (a model folder or Hub id)")
        self.store, self.config = store, config
        self.template: PromptTemplate = load_template(config.template)
        self.frames = FrameSampling(fps=config.fps, min_frames=config.min_frames, max_frames=config.max_frames,
                                    max_pixels=config.max_pixels)
        self.prompts_version = store.resolve("prompts", config.prompts_version)
        if self.prompts_version is None:
            raise UsageError(f"store {store.url} has no prompts yet: run `factory prompts import` first")
        prompts = store.read("prompts", self.prompts_version.id)
        if config.limit is not None:
            prompts = prompts.slice(0, config.limit)
        self.prompts = prompts.to_pylist()
        self.prompt_frame = pl.from_arrow(prompts.select(["prompt_id", "problem_type", "gold", "options"]))

    def open_writer(self) -> TableWriter:
        """The writer of the new rollouts version (appends to the latest; resumes by this config's run key)."""
        return TableWriter(self.store, "rollouts", stage="rollouts", config=self.config.run_config(),
                           parents=[ParentRef("prompts", self.prompts_version.id)],
                           rows_per_part=self.config.rows_per_part, seconds_per_part=self.config.seconds_per_part)

    def row_key(self, prompt: dict[str, Any], index: int, group_seed: int) -> tuple[str, dict[str, Any]]:
        params = {**self.config.sampling_key(), "seed": group_seed + index}
        if prompt["data_type"] in ("video", "image"):
            params["frames"] = self.config.frames_key()
        key = rollout_id(prompt_id=prompt["prompt_id"], sample_index=index, policy_model=self.config.policy,
                         policy_revision=self.config.revision, sampling_params=params, template_id=self.template.id)
        return key, params

    def plan(self, done: set[str] | Any) -> tuple[list[_Planned], int]:
        """Requests for every missing sample (contiguous missing indices share a request), and how many exist."""
        planned, present = [], 0
        for prompt in self.prompts:
            group_seed = row_seed(self.config.seed, prompt["prompt_id"])
            missing = []
            for index in range(self.config.n):
                key, _ = self.row_key(prompt, index, group_seed)
                if done(key):
                    present += 1
                else:
                    missing.append(index)
            planned += [_Planned(prompt, start, count, group_seed) for start, count in _missing_runs(missing)]
        return planned, present

    def requests(self, planned: list[_Planned], failures: "queue.Queue[tuple[_Planned, str, str]]",
                 by_id: dict[str, tuple[_Planned, Any]]) -> Iterator[GenerationRequest]:
        """Requests in plan order; a prompt whose media fails goes to ``failures`` instead.

        Media is decoded ahead on a few threads (PyAV and Pillow release the GIL), so the engine does
        not wait on decoding; requests of one prompt share its decode.
        """
        window = max(4, 2 * self.config.decode_workers)
        decodes: OrderedDict[str, Future] = OrderedDict()
        ahead: deque[tuple[_Planned, Future | None]] = deque()
        items = iter(planned)
        with ThreadPoolExecutor(max_workers=self.config.decode_workers, thread_name_prefix="decode") as pool:
            def schedule() -> bool:
                item = next(items, None)
                if item is None:
                    return False
                future = None
                if item.prompt["data_type"] in ("video", "image"):
                    uri = item.prompt["media_uri"]
                    future = decodes.get(uri)
                    if future is None:
                        future = pool.submit(load_media, uri, item.prompt["data_type"], self.frames)
                        decodes[uri] = future
                        while len(decodes) > window:
                            decodes.popitem(last=False)
                ahead.append((item, future))
                return True

            while len(ahead) < window and schedule():
                pass
            while ahead:
                item, future = ahead.popleft()
                schedule()
                try:
                    media = future.result() if future is not None else None
                except MediaError as exc:
                    failures.put((item, "media", str(exc)))
                    continue
                prompt = item.prompt
                text = self.template.render(prompt["problem"], prompt["problem_type"], prompt["options"])
                content: list[dict[str, Any]] = []
                if media is not None:
                    content.append({"type": media.kind})
                content.append({"type": "text", "text": text})
                request_id = f"{prompt['prompt_id']}:{item.start}:{item.count}"
                by_id[request_id] = (item, media, text)
                yield GenerationRequest(request_id, [{"role": "user", "content": content}],
                                        Sampling(n=item.count, temperature=self.config.temperature,
                                                 top_p=self.config.top_p, top_k=self.config.top_k,
                                                 max_tokens=self.config.max_new_tokens, stop=list(self.config.stop),
                                                 seed=item.group_seed + item.start), media)

    def rows(self, item: _Planned, engine: Engine, media: Any, text: str | None,
             result: GenerationResult | None, error: tuple[str, str] | None) -> list[dict[str, Any]]:
        prompt, config = item.prompt, self.config
        now, version = datetime.now(timezone.utc), code_version()
        rows = []
        for offset in range(item.count):
            index = item.start + offset
            key, params = self.row_key(prompt, index, item.group_seed)
            sample = result.samples[offset] if result is not None and offset < len(result.samples) else None
            failure = error or ((result.error_kind or "engine", result.error) if result is not None and result.error
                                else None)
            if sample is None and failure is None:
                failure = ("engine", f"the engine returned {len(result.samples)} of {item.count} samples")
            rows.append({
                "rollout_id": key, "prompt_id": prompt["prompt_id"], "sample_index": index,
                "status": "error" if failure else "ok", "error": f"{failure[0]}: {failure[1]}" if failure else None,
                "completion": sample.text if sample and not failure else None,
                "policy_model": config.policy, "policy_revision": config.revision, "engine": engine.name,
                "engine_version": engine.version, "endpoint": engine.endpoint,
                "sampling_params": json.dumps(params, sort_keys=True), "seed": params["seed"],
                "temperature": config.temperature, "top_p": config.top_p, "max_new_tokens": config.max_new_tokens,
                "template_id": self.template.id, "template_hash": self.template.hash,
                "chat_template_hash": self.chat_template_hash, "prompt_text": text,
                "media_uri": prompt["media_uri"], "media_sha256": prompt["media_sha256"],
                "frame_fps": config.fps if prompt["data_type"] == "video" else None,
                "max_frames": config.max_frames if prompt["data_type"] == "video" else None,
                "max_pixels": config.max_pixels if prompt["data_type"] in ("video", "image") else None,
                "frame_indices": media.frame_indices if media is not None and media.kind == "video" else None,
                "video_fps": media.fps if media is not None else None,
                "video_duration_s": media.duration_s if media is not None else None,
                "finish_reason": sample.finish_reason if sample and not failure else "error",
                "prompt_tokens": result.prompt_tokens if result is not None else None,
                "completion_tokens": sample.completion_tokens if sample and not failure else None,
                "latency_s": result.latency_s if result is not None else None,
                "iteration": config.iteration, "created_at": now, "code_version": version,
            })
        return rows

    def score(self, rows: list[dict[str, Any]], count_tokens) -> pa.Table:
        from schemas import ROLLOUTS
        from schemas.validate import conform

        table = conform(ROLLOUTS, pa.Table.from_pylist(rows, schema=ROLLOUTS.schema), source="rollouts")
        return score_rollouts(table, self.prompt_frame, profile=self.config.reward_profile,
                              length_bonus=self.config.length_bonus, count_tokens=count_tokens)

    chat_template_hash: str | None = None


def run_rollouts(store: Store, config: RolloutConfig, *, engine: Engine | None = None,
                 show_progress: bool = True) -> RolloutSummary:
    """Generate every missing rollout of the prompts version and write a new rollouts version."""
    from factory.rollouts.progress import RolloutProgress

    from dataclasses import replace

    from factory.engines.revision import model_revision

    # a local checkpoint folder is pinned by its recorded revision or weights hash, so retraining it in
    # place gives new rollout ids instead of "already present"
    config = replace(config, revision=model_revision(config.policy, config.revision))
    if config.engine == "ray" and engine is None:  # the same plan and rows, generated on a Ray cluster
        from factory.scaleout import run_rollouts_ray

        return run_rollouts_ray(store, config, show_progress=show_progress)
    run = RolloutRun(store, config)
    started = time.perf_counter()
    with run.open_writer() as writer:
        planned, present = run.plan(writer.is_done)
        summary = RolloutSummary(None, already_present=present, prompts=len({p.prompt["prompt_id"] for p in planned}))
        if not planned:
            summary.version = writer.commit()
            return summary
        own_engine = engine is None
        engine = engine or make_engine(config)
        run.chat_template_hash = engine.chat_template_hash()
        count_tokens = getattr(engine, "count_tokens", None)
        failures: queue.Queue = queue.Queue()
        by_id: dict[str, tuple[_Planned, Any, str]] = {}
        buffer: list[dict[str, Any]] = []
        last_write = time.monotonic()
        progress = RolloutProgress(total_prompts=len(planned), total_rollouts=sum(p.count for p in planned),
                                   enabled=show_progress)

        tally = RewardTally(run.prompt_frame)

        def flush(force: bool = False) -> None:
            nonlocal buffer, last_write
            if buffer and (force or len(buffer) >= config.rows_per_part or time.monotonic() - last_write > 5):
                scored = run.score(buffer, count_tokens)
                writer.write(scored)
                summary.written += scored.num_rows
                tally.add(scored)
                buffer, last_write = [], time.monotonic()

        def drain_failures() -> None:
            while not failures.empty():
                item, kind, message = failures.get()
                rows = run.rows(item, engine, None, None, None, (kind, message))
                buffer.extend(rows)
                summary.errors[kind] += len(rows)
                progress.advance(rows=len(rows), tokens=0, errors=len(rows))

        try:
            with progress:
                for result in engine.generate(run.requests(planned, failures, by_id)):
                    drain_failures()
                    item, media, text = by_id.pop(result.request_id)
                    rows = run.rows(item, engine, media, text, result, None)
                    errors = sum(r["status"] == "error" for r in rows)
                    if errors:
                        summary.errors[result.error_kind or "engine"] += errors
                    tokens = sum(r["completion_tokens"] or 0 for r in rows)
                    summary.generated_tokens += tokens
                    buffer.extend(rows)
                    progress.advance(rows=len(rows), tokens=tokens, errors=errors)
                    flush()
                drain_failures()
                flush(force=True)
        finally:
            if own_engine:
                engine.close()
        summary.version = writer.commit()
    summary.seconds = time.perf_counter() - started
    summary.mean_reward = tally.means()
    return summary
