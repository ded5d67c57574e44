"""``factory rollouts --engine ray``: the missing rollouts of a prompts version, generated on a Ray cluster.

Planning, ids, rows and scores are :class:`RolloutRun`'s, so a rollout made here has the id and the row
shape of the same rollout made locally, and the store never holds both. The request table has one row
per missing sample (its own seed, ``seed + i``); results come back as Parquet files (staging) and are
ingested through the stage's :class:`TableWriter`, which skips ids already stored.
"""

from __future__ import annotations

import json
import time
from dataclasses import dataclass
from types import SimpleNamespace
from typing import Any

import pyarrow as pa

from factory.engines.base import GenerationResult, MediaInput, Sample
from factory.rollouts.config import RolloutConfig
from factory.rollouts.generate import RewardTally, RolloutRun, RolloutSummary, _Planned
from factory.scaleout.staging import Staging
from factory.store import Store, TableWriter


@dataclass
class RayRolloutSummary(RolloutSummary):
    ingested_leftovers: int = 0
    """Rows a previous job of this config had generated before its driver died (not generated again)."""
    generate_seconds: float = 0.0
    """From the first request reaching an engine to the last token of this job (engine start-up excluded)."""


@dataclass
class _Sample:
    item: _Planned  # count == 1: this sample only
    text: str  # the template-rendered question (prompt_text)
    prompt: str  # chat-templated, what the engine sees


def run_rollouts_ray(store: Store, config: RolloutConfig, *, show_progress: bool = True) -> RayRolloutSummary:
    """Generate every missing rollout of the prompts version on Ray and write a new rollouts version."""
    from factory.engines.ray_engine import PromptRenderer, RayCluster, RayLLM

    run = RolloutRun(store, config)
    started = time.perf_counter()
    with run.open_writer() as writer:  # the same manifest record and run key as run_rollouts'.
        planned, present = run.plan(writer.is_done)
        summary = RayRolloutSummary(None, already_present=present,
                                    prompts=len({p.prompt["prompt_id"] for p in planned}))
        staging = Staging(store, "rollouts", writer.run_key)
        if planned:
            renderer = PromptRenderer(config.policy, config.revision)
            run.chat_template_hash = renderer.chat_template_hash()
            samples = _samples(run, renderer, planned)
            ingest = _Ingest(run, renderer, samples, writer, summary, config.address or "ray:local")
            ingest.files(staging, staging.files())  # left by a job of this config whose driver died
            summary.ingested_leftovers = summary.written
            todo = [key for key in samples if not writer.is_done(key)]
            if todo:
                with RayCluster(config.address, cpu_replicas=config.replicas if _cpu_only(config) else 0,
                                quiet=not show_progress) as cluster:
                    llm = RayLLM(cluster, config.policy, revision=config.revision, replicas=config.replicas,
                                 tensor_parallel_size=config.tensor_parallel_size,
                                 gpus_per_replica=config.gpus_per_replica, dtype=config.dtype,
                                 max_model_len=config.max_model_len,
                                 gpu_memory_utilization=config.gpu_memory_utilization,
                                 enforce_eager=config.enforce_eager, seed=config.seed,
                                 batch_size=config.ray_batch_size, max_engine_restarts=config.max_engine_restarts,
                                 quiet=not show_progress)
                    ingest.endpoint = llm.endpoint
                    folder = staging.fresh()
                    llm.generate_table(_request_table(config, samples, todo), folder,
                                       filesystem=staging.filesystem, frames=run.frames)
                ingest.spans.clear()
                ingest.files(staging, staging.files(folder))
                summary.generate_seconds = ingest.window()
        summary.version = writer.commit()
    staging.clear()
    summary.seconds = time.perf_counter() - started
    if planned:
        summary.mean_reward = ingest.tally.means()
    return summary


def _cpu_only(config: RolloutConfig) -> bool:
    """Whether a local Ray for this run places replicas on CPUs (decided before Ray starts)."""
    if config.gpus_per_replica is not None:
        return config.gpus_per_replica == 0
    from factory.engines.vllm_engine import on_cpu

    return on_cpu()


def _samples(run: RolloutRun, renderer, planned: list[_Planned]) -> dict[str, _Sample]:
    """One entry per missing rollout id, in plan order (the samples of a prompt stay neighbours)."""
    from factory.engines.base import GenerationRequest, Sampling

    samples: dict[str, _Sample] = {}
    for item in planned:
        prompt = item.prompt
        text = run.template.render(prompt["problem"], prompt["problem_type"], prompt["options"])
        kind = prompt["data_type"] if prompt["data_type"] in ("video", "image") else None
        content: list[dict[str, Any]] = ([{"type": kind}] if kind else []) + [{"type": "text", "text": text}]
        request = GenerationRequest("", [{"role": "user", "content": content}], Sampling(),
                                    MediaInput(kind=kind) if kind else None)
        chat = renderer.prompt(request)
        for index in range(item.start, item.start + item.count):
            key, _ = run.row_key(prompt, index, item.group_seed)
            samples[key] = _Sample(_Planned(prompt, index, 1, item.group_seed), text, chat)
    return samples


def _request_table(config: RolloutConfig, samples: dict[str, _Sample], keys: list[str]) -> pa.Table:
    sampling = {"temperature": config.temperature, "top_p": config.top_p, "top_k": config.top_k,
                "max_tokens": config.max_new_tokens}
    if config.stop:
        sampling["stop"] = list(config.stop)
    rows = {"key": [], "prompt": [], "sampling": [], "media_uri": [], "media_kind": []}
    for key in keys:
        sample = samples[key]
        kind = sample.item.prompt["data_type"]
        rows["key"].append(key)
        rows["prompt"].append(sample.prompt)
        rows["sampling"].append(json.dumps({**sampling, "seed": sample.item.group_seed + sample.item.start}))
        rows["media_uri"].append(sample.item.prompt["media_uri"] if kind in ("video", "image") else None)
        rows["media_kind"].append(kind if kind in ("video", "image") else None)
    return pa.table(rows, schema=pa.schema([(name, pa.string()) for name in rows]))


class _Ingest:
    """Ray result rows -> scored rollout rows written through the writer (ids not planned or done are skipped)."""

    def __init__(self, run: RolloutRun, renderer, samples: dict[str, _Sample], writer: TableWriter,
                 summary: RayRolloutSummary, endpoint: str):
        self.run, self.renderer, self.samples, self.writer, self.summary = run, renderer, samples, writer, summary
        self.endpoint = endpoint
        self.spans: list[tuple[float, float]] = []  # engine (start, end) of each generated row
        self.tally = RewardTally(run.prompt_frame)

    def files(self, staging: Staging, paths: list[str]) -> None:
        for table in staging.tables(paths):
            self.results(table.to_pylist())

    def results(self, results: list[dict[str, Any]]) -> None:
        rows = []
        for result in results:
            sample = self.samples.get(result["key"])
            if sample is None or self.writer.is_done(result["key"]):
                continue
            rows += self.rows(sample, result)
            if result.get("started_at") and result.get("finished_at"):
                self.spans.append((result["started_at"], result["finished_at"]))
        for start in range(0, len(rows), self.run.config.rows_per_part):
            scored = self.run.score(rows[start:start + self.run.config.rows_per_part], self.renderer.count_tokens)
            self.summary.written += self.writer.write(scored)
            self.tally.add(scored)

    def rows(self, sample: _Sample, result: dict[str, Any]) -> list[dict[str, Any]]:
        engine = SimpleNamespace(name="ray", version=result["engine_version"], endpoint=self.endpoint)
        kind = sample.item.prompt["data_type"]
        if result["error_kind"] == "media":  # as the local stage records a prompt whose media failed
            self.summary.errors["media"] += 1
            return self.run.rows(sample.item, engine, None, None, None, ("media", result["error"]))
        media = None
        if kind in ("video", "image"):
            media = MediaInput(kind=kind, fps=result["video_fps"], duration_s=result["video_duration_s"],
                               frame_indices=result["frame_indices"] or [])
        if result["error"]:
            self.summary.errors[result["error_kind"]] += 1
            generated = GenerationResult(result["key"], [], error=result["error"], error_kind=result["error_kind"])
        else:
            generated = GenerationResult(result["key"], [Sample(result["text"], result["finish_reason"],
                                                                result["completion_tokens"])],
                                         result["prompt_tokens"], result["latency_s"])
            self.summary.generated_tokens += result["completion_tokens"] or 0
        return self.run.rows(sample.item, engine, media, sample.text, generated, None)

    def window(self) -> float:
        if not self.spans:
            return 0.0
        return max(end for _, end in self.spans) - min(start for start, _ in self.spans)
