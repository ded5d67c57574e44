"""factory rollouts through the openai engine against a real vLLM server (tiny text model, loopback)."""

import json
import threading
import time

import polars as pl
import pytest

from factory.engines.openai_engine import OpenAIEngine
from factory.prompts import ImportConfig, import_prompts
from factory.rollouts.config import RolloutConfig
from factory.rollouts.generate import run_rollouts
from factory.store import Store
from servers import start_vllm_server

pytestmark = pytest.mark.slow

QUESTIONS = [dict(problem_id=i, problem=f"What is {i} plus {i}?", problem_type="numerical", options=[],
                  solution=f"<answer>{2 * i}</answer>", data_source="text") for i in range(12)]


@pytest.fixture(scope="module")
def policy_server(tiny_models):
    with start_vllm_server(tiny_models["text"], served_name="policy", extra_args=("--max-model-len", "1024")) as s:
        yield s


def text_store(path):
    source = path.parent / f"{path.name}.json"
    source.write_text(json.dumps(QUESTIONS))
    store = Store(path)
    import_prompts(store, source, ImportConfig(), show_progress=False)
    return store


def config(server, **overrides):
    return RolloutConfig(**{"policy": "policy", "engine": "openai", "base_url": server.base_url, "n": 4,
                            "max_new_tokens": 48, "rows_per_part": 8, **overrides})


def test_openai_rollouts_survive_a_server_restart_with_no_row_lost_or_duplicated(tmp_path, policy_server):
    clean = text_store(tmp_path / "clean")
    summary = run_rollouts(clean, config(policy_server), show_progress=False)
    assert summary.written == 48 and not summary.errors

    store = text_store(tmp_path / "restarted")
    engine = OpenAIEngine(policy_server.base_url, "policy", concurrency=2, max_retries=30, backoff_base_s=0.5,
                          backoff_max_s=4.0, timeout_s=30)
    result = {}
    worker = threading.Thread(target=lambda: result.update(
        summary=run_rollouts(store, config(policy_server, concurrency=2), engine=engine, show_progress=False)))
    worker.start()
    deadline = time.time() + 60
    while engine.stats.get("calls", 0) < 3 and time.time() < deadline:
        time.sleep(0.01)
    policy_server.stop()
    time.sleep(2)
    policy_server.restart()
    worker.join(timeout=600)
    assert engine.stats["retries"] > 0  # the outage was seen and ridden out
    restarted = result["summary"]
    assert restarted.written == 48 and not restarted.errors

    got, want = pl.from_arrow(store.read("rollouts")), pl.from_arrow(clean.read("rollouts"))
    assert got.height == 48 and got["rollout_id"].n_unique() == 48
    assert sorted(got["rollout_id"].to_list()) == sorted(want["rollout_id"].to_list())
    assert (got["status"] == "ok").all() and (got["engine"] == "openai").all()
    assert got["engine_version"].unique().to_list() == [want["engine_version"][0]]
    assert got.group_by("prompt_id").len()["len"].to_list() == [4] * 12


def test_openai_n_sampling_seeds_and_provenance(tmp_path, policy_server):
    store = text_store(tmp_path / "s")
    run_rollouts(store, config(policy_server, seed=7), show_progress=False)
    rows = pl.from_arrow(store.read("rollouts")).sort("prompt_id", "sample_index")
    first = rows.filter(pl.col("prompt_id") == rows["prompt_id"][0])
    assert first["sample_index"].to_list() == [0, 1, 2, 3]
    assert first["seed"].to_list() == [first["seed"][0] + i for i in range(4)]
    assert (rows["endpoint"] == policy_server.base_url).all() and (rows["completion_tokens"] > 0).all()
    assert rows["reward_total"].null_count() == 0 and (rows["template_id"] == "video-r1").all()
