"""``factory verify --judge ray``: the LLM judge run on a Ray cluster, writing the verdicts a local judge would.

What to judge, the verdict ids, the requests and the rows are :class:`VerifyRun`'s: a verdict made here
has the id of the same verdict made with ``--judge vllm`` (the judge backend is not part of the key), and
a re-run retries only failed or unparsable verdicts, written over the old rows (upsert).
"""

from __future__ import annotations

import json
import time
from types import SimpleNamespace
from typing import Any

import pyarrow as pa

from factory.engines.base import GenerationResult, Sample
from factory.scaleout.staging import Staging
from factory.store import Store, TableWriter
from factory.verifier.config import VerifyConfig
from factory.verifier.run import VerifyRun, VerifySummary


def run_verify_ray(store: Store, config: VerifyConfig, *, show_progress: bool = True) -> VerifySummary:
    """Judge every rollout of the version that has no final verdict from this verifier yet, on Ray."""
    from factory.engines.ray_engine import PromptRenderer, RayCluster, RayLLM

    run = VerifyRun(store, config)
    started = time.perf_counter()
    summary = VerifySummary(None, config.name)
    endpoint = config.address or "ray:local"
    with run.open_writer() as writer:  # the same manifest record and run key as run_verify's
        staging = Staging(store, "verdicts", writer.run_key)
        pending: dict[str, tuple[dict[str, Any], int, int, str]] = {}  # verdict id -> row, attempt, cut, prompt
        renderer = None
        for row, attempt in run.todo(writer, summary):
            skipped = run.skipped(row, SimpleNamespace(name="ray", endpoint=endpoint), attempt)
            if skipped is not None:  # nothing to judge: no model call
                _record(writer, summary, [skipped])
                continue
            renderer = renderer or PromptRenderer(config.judge_model, config.judge_revision)
            request, cut = run.request(row)
            pending[row["verdict_id"]] = (row, attempt, cut, renderer.prompt(request))
        if pending:
            ingest = _Ingest(run, pending, writer, summary, endpoint)
            ingest.files(staging, staging.files())  # left by a job of this config whose driver died
            todo = [key for key in pending if key not in writer.run_keys]
            if todo:
                with RayCluster(config.address, cpu_replicas=config.replicas if _cpu_only(config) else 0,
                                quiet=not show_progress) as cluster:
                    llm = RayLLM(cluster, config.judge_model, revision=config.judge_revision,
                                 replicas=config.replicas, tensor_parallel_size=config.tensor_parallel_size,
                                 gpus_per_replica=config.gpus_per_replica, dtype=config.dtype,
                                 max_model_len=config.max_model_len,
                                 gpu_memory_utilization=config.gpu_memory_utilization,
                                 enforce_eager=config.enforce_eager, seed=config.seed,
                                 batch_size=config.ray_batch_size, max_engine_restarts=config.max_engine_restarts,
                                 quiet=not show_progress)
                    ingest.endpoint = llm.endpoint
                    folder = staging.fresh()
                    llm.generate_table(_request_table(run, pending, todo), folder, filesystem=staging.filesystem)
                ingest.files(staging, staging.files(folder))
        summary.version = writer.commit()
    staging.clear()
    summary.seconds = time.perf_counter() - started
    return summary


def _cpu_only(config: VerifyConfig) -> bool:
    if config.gpus_per_replica is not None:
        return config.gpus_per_replica == 0
    from factory.engines.vllm_engine import on_cpu

    return on_cpu()


def _record(writer: TableWriter, summary: VerifySummary, rows: list[dict[str, Any]]) -> None:
    if not rows:
        return
    writer.write(rows, source="verdicts")
    for out in rows:
        summary.judged += 1
        summary.statuses[out["status"]] += 1
        if out.get("label"):
            summary.labels[out["label"]] += 1


def _request_table(run: VerifyRun, pending: dict, keys: list[str]) -> pa.Table:
    """One row per judgement: the judge prompt and VerifyRun's sampling (the same for every row)."""
    row, _, _, _ = pending[keys[0]]
    request, _ = run.request(row)
    s = request.sampling
    sampling: dict[str, Any] = {"temperature": s.temperature, "top_p": s.top_p, "top_k": s.top_k,
                                "max_tokens": s.max_tokens, "seed": s.seed}
    if s.logprobs:
        sampling["logprobs"] = s.logprobs
    if s.choices:
        sampling["structured_outputs"] = {"choice": list(s.choices)}
    text = json.dumps(sampling)
    return pa.table({"key": keys, "prompt": [pending[k][3] for k in keys], "sampling": [text] * len(keys),
                     "media_uri": pa.nulls(len(keys), pa.string()), "media_kind": pa.nulls(len(keys), pa.string())})


class _Ingest:
    """Ray result rows -> verdict rows (parsed, with confidence) written through the writer."""

    def __init__(self, run: VerifyRun, pending: dict, writer: TableWriter, summary: VerifySummary, endpoint: str):
        self.run, self.pending, self.writer, self.summary, self.endpoint = run, pending, writer, summary, endpoint

    def files(self, staging: Staging, paths: list[str]) -> None:
        for table in staging.tables(paths):
            self.results(table.to_pylist())

    def results(self, results: list[dict[str, Any]]) -> None:
        rows = []
        for result in results:
            key = result["key"]
            if key not in self.pending or key in self.writer.run_keys:
                continue
            row, attempt, cut, _ = self.pending[key]
            engine = SimpleNamespace(name="ray", version=result["engine_version"], endpoint=self.endpoint)
            if result["error"]:
                generated = GenerationResult(key, [], error=f"{result['error_kind']}: {result['error']}",
                                             error_kind=result["error_kind"])
            else:
                generated = GenerationResult(key, [Sample(result["text"], result["finish_reason"],
                                                          result["completion_tokens"], None,
                                                          result["cumulative_logprob"])],
                                             result["prompt_tokens"], result["latency_s"])
            rows.append(self.run.judged_row(row, engine, attempt, cut, generated))
        _record(self.writer, self.summary, rows)
