"""``factory verify``: judge a rollouts version, writing one verdict per rollout and verifier.

Idempotent per row: the verdict key is hash(rollout id, verifier name, judge model and revision, judge
prompt version, judge sampling params). A re-run skips verdicts already ``ok`` (or ``skipped``: nothing
to judge), retries ``error`` and ``unparsable`` ones, and writes them over the old rows (upsert), so the
final verdict set equals that of an uninterrupted run.
"""

from __future__ import annotations

import json
import math
import time
from collections import Counter
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import datetime, timezone
from typing import Any

import polars as pl

from factory.engines.base import Engine, GenerationRequest, GenerationResult, Sampling
from factory.errors import UsageError
from factory.store import Manifest, ParentRef, Store, TableWriter
from factory.verifier.config import VerifyConfig
from factory.verifier.parse import parse_label
from factory.verifier.prompt import JudgePrompt, cut_think, load_judge_prompt, question_text
from factory.verifier.rules import apply_rules
from factory.verifier.rules_judge import rules_verdict
from factory.version import code_version
from schemas import verdict_id

_ROLLOUT_COLUMNS = ["rollout_id", "prompt_id", "status", "completion", "think", "answer", "fmt_ok", "truncated",
                    "accurate", "think_tokens", "iteration"]
_RULE_COLUMNS = ["fmt_ok", "truncated", "accurate", "think_tokens", "rep_max_ngram_count", "rep_distinct_ratio",
                 "repetitive", "reflective", "iteration"]


@dataclass
class VerifySummary:
    version: Manifest | None
    verifier: str
    judged: int = 0
    already_done: int = 0
    retried: int = 0
    statuses: Counter = field(default_factory=Counter)
    labels: Counter = field(default_factory=Counter)
    seconds: float = 0.0

    @property
    def per_second(self) -> float:
        return self.judged / self.seconds if self.seconds else 0.0


def make_judge_engine(config: VerifyConfig) -> Engine:
    if config.judge == "ray":
        raise UsageError("the ray judge runs a whole request table, not single requests: "
                         "call run_verify (factory.scaleout) with judge='ray'")
    if config.judge == "vllm":
        from factory.engines.vllm_engine import VLLMEngine

        return VLLMEngine(config.judge_model, revision=config.judge_revision, dtype=config.dtype,
                          max_model_len=config.max_model_len, gpu_memory_utilization=config.gpu_memory_utilization,
                          enforce_eager=config.enforce_eager, max_in_flight=config.max_in_flight, seed=config.seed)
    from factory.engines.openai_engine import OpenAIEngine

    return OpenAIEngine(config.base_url, config.judge_model, api_key_env=config.api_key_env,
                        concurrency=config.concurrency, max_retries=config.max_retries)


def load_prompts_for(store: Store, prompt_ids: set[str]) -> pl.DataFrame:
    """problem, options and problem type of every prompt id, searching prompts versions newest first."""
    found: list[pl.DataFrame] = []
    wanted = set(prompt_ids)
    for manifest in reversed(store.versions("prompts")):
        if not wanted:
            break
        frame = pl.from_arrow(store.read("prompts", manifest.id, columns=["prompt_id", "problem", "options",
                                                                           "problem_type"]))
        frame = frame.filter(pl.col("prompt_id").is_in(list(wanted)))
        wanted -= set(frame["prompt_id"].to_list())
        found.append(frame)
    if wanted:
        raise UsageError(f"{len(wanted)} rollout(s) refer to prompts not in store {store.url} "
                         f"(e.g. {sorted(wanted)[0]}); import those prompts first")
    return pl.concat(found).unique("prompt_id") if found else pl.DataFrame()


class VerifyRun:
    """One ``factory verify`` run; see :func:`run_verify`."""

    def __init__(self, store: Store, config: VerifyConfig):
        self.store, self.config = store, config
        self.prompt: JudgePrompt = load_judge_prompt(config.prompt)
        self.rollouts_version = store.resolve("rollouts", config.rollouts_version)
        if self.rollouts_version is None:
            raise UsageError(f"store {store.url} has no rollouts to verify: run `factory rollouts` first")
        rollouts = pl.from_arrow(store.read("rollouts", self.rollouts_version.id, columns=_ROLLOUT_COLUMNS))
        rollouts = rollouts.filter(pl.col("status") == "ok")
        if config.limit is not None:
            rollouts = rollouts.head(config.limit)
        rollouts = apply_rules(rollouts, config.rules())
        prompts = load_prompts_for(store, set(rollouts["prompt_id"].unique().to_list()))
        self.sampling = config.sampling_key()
        judge_model = None if config.judge == "rules" else config.judge_model
        ids = [verdict_id(rollout_id=r, verifier=config.name, judge_model=judge_model,
                          judge_revision=config.judge_revision, judge_prompt_version=self.prompt.key,
                          judge_sampling_params=self.sampling) for r in rollouts["rollout_id"].to_list()]
        self.rows = rollouts.with_columns(verdict_id=pl.Series(ids, dtype=pl.Utf8)).join(prompts, on="prompt_id",
                                                                                         how="left")

    def previous(self) -> dict[str, tuple[str, int]]:
        """Status and attempt count of this verifier's verdicts already stored."""
        latest = self.store.latest("verdicts")
        if latest is None:
            return {}
        frame = pl.from_arrow(self.store.read("verdicts", latest.id, columns=["verdict_id", "verifier", "status",
                                                                              "attempt"]))
        frame = frame.filter(pl.col("verifier") == self.config.name)
        return {r[0]: (r[1], r[2] or 1) for r in frame.select("verdict_id", "status", "attempt").iter_rows()}

    def run_config(self) -> dict[str, Any]:
        """What the verdicts version's manifest records (and what its run key resumes by)."""
        config = self.config
        return {"verifier": config.name, "judge": config.judge, "judge_model": config.judge_model,
                "judge_revision": config.judge_revision, "prompt": self.prompt.key, "sampling": self.sampling,
                "rollouts": self.rollouts_version.id, "rules": config.rules().__dict__}

    def open_writer(self) -> TableWriter:
        """The upsert writer of the new verdicts version (retried rows replace their failed ones)."""
        return TableWriter(self.store, "verdicts", stage="verify", config=self.run_config(), mode="upsert",
                           parents=[ParentRef("rollouts", self.rollouts_version.id)],
                           rows_per_part=self.config.rows_per_part, seconds_per_part=self.config.seconds_per_part)

    def todo(self, writer: TableWriter, summary: "VerifySummary") -> list[tuple[dict[str, Any], int]]:
        """Rollouts still needing this verifier's verdict, each with its attempt number.

        Verdicts already ``ok``/``skipped`` (or written by a run that died) count as done; ``error`` and
        ``unparsable`` ones are retried.
        """
        previous = self.previous()
        todo = []
        for row in self.rows.iter_rows(named=True):
            status, attempt = previous.get(row["verdict_id"], (None, 0))
            if status in ("ok", "skipped") or row["verdict_id"] in writer.run_keys:
                summary.already_done += 1
                continue
            summary.retried += status is not None
            todo.append((row, attempt + 1))
        return todo

    def base_row(self, row: dict[str, Any], engine: Engine | None, attempt: int) -> dict[str, Any]:
        config = self.config
        return {
            "verdict_id": row["verdict_id"], "rollout_id": row["rollout_id"], "prompt_id": row["prompt_id"],
            "verifier": config.name, "judge_model": None if config.judge == "rules" else config.judge_model,
            "judge_revision": config.judge_revision, "judge_prompt_version": self.prompt.key,
            "judge_prompt_hash": self.prompt.hash, "judge_sampling_params": json.dumps(self.sampling, sort_keys=True),
            "engine": "rules" if engine is None else engine.name, "endpoint": None if engine is None else engine.endpoint,
            "think_chars_cut": 0, "attempt": attempt, **{c: row[c] for c in _RULE_COLUMNS},
            "created_at": datetime.now(timezone.utc), "code_version": code_version(),
        }

    def skipped(self, row: dict[str, Any], engine: Engine | None, attempt: int) -> dict[str, Any] | None:
        """A 'skipped' verdict when the rollout has nothing to judge (no think or no answer), else None."""
        if row["answer"] is not None and row["think"] is not None:
            return None
        return {**self.base_row(row, engine, attempt), "status": "skipped",
                "error": "nothing to judge: the rollout has no think or no answer"}

    def judge_rules(self, row: dict[str, Any], attempt: int) -> dict[str, Any]:
        out = self.base_row(row, None, attempt)
        skipped = self.skipped(row, None, attempt)
        if skipped is not None:
            return skipped
        started = time.perf_counter()
        status, label, error, raw = rules_verdict(row["think"], row["answer"], row["problem_type"], row["problem"])
        return {**out, "status": status, "label": label, "consistent": None if label is None else label == "consistent",
                "error": error, "raw_output": raw, "latency_s": time.perf_counter() - started}

    def request(self, row: dict[str, Any]) -> tuple[GenerationRequest, int]:
        think, cut = cut_think(row["think"], self.config.max_think_chars)
        messages = self.prompt.messages(question=question_text(row["problem"], row["options"]), think=think,
                                        answer=row["answer"])
        sampling = Sampling(n=1, temperature=self.config.temperature, max_tokens=self.config.max_tokens,
                            seed=self.config.seed, logprobs=self.config.logprobs or None,
                            choices=list(self.prompt.labels) if self.config.structured else None)
        return GenerationRequest(row["verdict_id"], messages, sampling), cut

    def judged_row(self, row: dict[str, Any], engine: Engine, attempt: int, cut: int,
                   result: GenerationResult) -> dict[str, Any]:
        out = {**self.base_row(row, engine, attempt), "think_chars_cut": cut, "latency_s": result.latency_s,
               "judge_prompt_tokens": result.prompt_tokens}
        if result.error or not result.samples:
            return {**out, "status": "error", "error": result.error or "the judge returned no output"}
        sample = result.samples[0]
        status, label, error = parse_label(sample.text, self.prompt.labels)
        confidence = math.exp(sample.cumulative_logprob) if sample.cumulative_logprob is not None else None
        return {**out, "status": status, "label": label, "error": error, "raw_output": sample.text,
                "consistent": None if label is None else label == "consistent",
                "confidence": confidence if status == "ok" else None}


def run_verify(store: Store, config: VerifyConfig, *, engine: Engine | None = None,
               show_progress: bool = True) -> VerifySummary:
    """Judge every rollout of the version that has no final verdict from this verifier yet."""
    from factory.verifier.progress import VerifyProgress

    if config.judge == "ray" and engine is None:  # the same verdicts, judged on a Ray cluster
        from factory.scaleout import run_verify_ray

        return run_verify_ray(store, config, show_progress=show_progress)
    run = VerifyRun(store, config)
    started = time.perf_counter()
    summary = VerifySummary(None, config.name)
    with run.open_writer() as writer:
        pending = run.todo(writer, summary)
        todo = [row for row, _ in pending]
        attempts = {row["verdict_id"]: attempt for row, attempt in pending}
        progress = VerifyProgress(total=len(todo), enabled=show_progress)
        buffer: list[dict[str, Any]] = []
        last_write = [time.monotonic()]

        def flush(force: bool = False) -> None:
            if buffer and (force or len(buffer) >= 1000 or time.monotonic() - last_write[0] > 2):
                writer.write(buffer, source="verdicts")
                buffer.clear()
                last_write[0] = time.monotonic()

        def record(out: dict[str, Any]) -> None:
            buffer.append(out)
            flush()
            summary.judged += 1
            summary.statuses[out["status"]] += 1
            if out.get("label"):
                summary.labels[out["label"]] += 1
            progress.advance(out["status"])

        with progress:
            if config.judge == "rules":
                for row in todo:
                    record(run.judge_rules(row, attempts[row["verdict_id"]]))
            elif todo:
                own = engine is None
                engine = engine or make_judge_engine(config)
                try:
                    _judge_with_engine(run, engine, todo, attempts, record)
                finally:
                    if own:
                        engine.close()
            flush(force=True)
        summary.version = writer.commit()
    summary.seconds = time.perf_counter() - started
    return summary


def _judge_with_engine(run: VerifyRun, engine: Engine, todo: list[dict[str, Any]], attempts: dict[str, int],
                       record) -> None:
    pending: dict[str, tuple[dict[str, Any], int]] = {}

    def requests() -> Iterator[GenerationRequest]:
        for row in todo:
            skipped = run.skipped(row, engine, attempts[row["verdict_id"]])
            if skipped is not None:
                record(skipped)  # nothing to judge: no model call
                continue
            request, cut = run.request(row)
            pending[request.request_id] = (row, cut)
            yield request

    for result in engine.generate(requests()):
        row, cut = pending.pop(result.request_id)
        record(run.judged_row(row, engine, attempts[row["verdict_id"]], cut, result))
