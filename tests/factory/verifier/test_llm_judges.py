"""LLM judges on real vLLM: in-process with structured choice, and an OpenAI endpoint that dies mid-run."""

import os
import threading
import time
from pathlib import Path

import polars as pl
import pytest

from factory.prompts import ImportConfig, import_prompts
from factory.rollouts.importer import RolloutImportConfig, import_rollouts
from factory.store import Store
from factory.verifier.config import VerifyConfig
from factory.verifier.run import run_verify
from servers import start_vllm_server

pytestmark = pytest.mark.slow
REPO = Path(__file__).resolve().parents[3]


def judged_store(path, sample_json):
    store = Store(path)
    import_prompts(store, sample_json, ImportConfig(), show_progress=False)
    import_rollouts(store, REPO / "data/completions/sample_completions.jsonl", RolloutImportConfig(),
                    show_progress=False)
    return store


def test_in_process_vllm_judge_structured_choice(tmp_path, sample_json, tiny_models):
    os.environ["VLLM_ENABLE_V1_MULTIPROCESSING"] = "0"
    from factory.engines.vllm_engine import VLLMEngine

    store = judged_store(tmp_path / "s", sample_json)
    config = VerifyConfig(judge="vllm", judge_model=str(tiny_models["text"]), max_think_chars=400,
                          max_model_len=2048, enforce_eager=True)
    engine = VLLMEngine(config.judge_model, max_model_len=2048, enforce_eager=True)
    try:
        summary = run_verify(store, config, engine=engine, show_progress=False)
    finally:
        engine.close()
    verdicts = pl.from_arrow(store.read("verdicts"))
    judged = verdicts.filter(pl.col("status") != "skipped")
    assert judged.height > 80 and summary.statuses["ok"] == judged.height  # every verdict parsed
    assert set(judged["label"].unique().to_list()) <= {"consistent", "inconsistent"}, judged.filter(pl.col("label").is_null()).select("status", "raw_output", "error", "verdict_id").to_dicts()
    assert judged["confidence"].null_count() == 0
    assert ((judged["confidence"] > 0) & (judged["confidence"] <= 1)).all()
    assert set(judged["raw_output"].unique()) <= {"consistent", "inconsistent"}
    assert (verdicts["verifier"] == "judge:tiny-qwen2").all() and (verdicts["engine"] == "vllm").all()


@pytest.fixture(scope="module")
def judge_server(tiny_models):
    with start_vllm_server(tiny_models["text"], served_name="judge", extra_args=("--max-model-len", "2048")) as handle:
        yield handle


def endpoint_config(server, **overrides):
    return VerifyConfig(**{"judge": "openai", "judge_model": "judge", "base_url": server.base_url,
                           "max_think_chars": 400, **overrides})


def test_endpoint_judge_respects_concurrency(tmp_path, sample_json, judge_server):
    from factory.engines.openai_engine import OpenAIEngine

    store = judged_store(tmp_path / "s", sample_json)
    engine = OpenAIEngine(judge_server.base_url, "judge", concurrency=3)
    summary = run_verify(store, endpoint_config(judge_server, concurrency=3), engine=engine, show_progress=False)
    assert engine.observed_max_in_flight == 3
    assert summary.statuses["ok"] > 80 and "error" not in summary.statuses


def test_server_stopped_mid_run_then_rerun_equals_uninterrupted(tmp_path, sample_json, judge_server):
    from factory.engines.openai_engine import OpenAIEngine

    clean = judged_store(tmp_path / "clean", sample_json)
    run_verify(clean, endpoint_config(judge_server), show_progress=False)

    broken = judged_store(tmp_path / "broken", sample_json)
    engine = OpenAIEngine(judge_server.base_url, "judge", concurrency=2, max_retries=1, backoff_base_s=0.05,
                          backoff_max_s=0.1, timeout_s=10)
    result = {}
    worker = threading.Thread(target=lambda: result.update(
        summary=run_verify(broken, endpoint_config(judge_server, concurrency=2), engine=engine, show_progress=False)))
    worker.start()
    deadline = time.time() + 60
    while engine.stats.get("calls", 0) < 15 and time.time() < deadline:
        time.sleep(0.01)
    judge_server.stop()
    worker.join(timeout=300)
    first = result["summary"]
    assert first.statuses["error"] > 0 and first.statuses["ok"] > 0  # a run that really died half-way
    judge_server.restart()

    second = run_verify(broken, endpoint_config(judge_server), show_progress=False)
    failed = first.statuses["error"] + first.statuses["unparsable"]
    assert second.judged == second.retried == failed  # exactly the failed rows, nothing else
    got = pl.from_arrow(broken.read("verdicts")).sort("verdict_id")
    want = pl.from_arrow(clean.read("verdicts")).sort("verdict_id")
    assert got["verdict_id"].to_list() == want["verdict_id"].to_list()
    assert got["status"].to_list() == want["status"].to_list()
    assert got["label"].to_list() == want["label"].to_list()
