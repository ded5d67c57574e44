"""Judging through Ray Data LLM (tiny text judge, structured choice) writes the verdicts a local judge writes."""

import os
import shutil
from pathlib import Path

import polars as pl
import pytest

from factory.prompts import ImportConfig, import_prompts
from factory.rollouts.importer import RolloutImportConfig, import_rollouts
from factory.store import Store
from factory.verifier.config import VerifyConfig
from factory.verifier.run import run_verify

pytestmark = pytest.mark.slow
REPO = Path(__file__).resolve().parents[3]


def test_ray_judge_writes_the_verdict_ids_of_the_local_judge(tmp_path, sample_json, tiny_models):
    local = Store(tmp_path / "local")
    import_prompts(local, sample_json, ImportConfig(), show_progress=False)
    import_rollouts(local, REPO / "data/completions/sample_completions.jsonl", RolloutImportConfig(),
                    show_progress=False)
    shutil.copytree(tmp_path / "local", tmp_path / "ray")
    on_ray = Store(tmp_path / "ray")
    judge = dict(judge_model=str(tiny_models["text"]), max_think_chars=400, max_model_len=2048, enforce_eager=True)

    os.environ["VLLM_ENABLE_V1_MULTIPROCESSING"] = "0"
    from factory.engines.vllm_engine import VLLMEngine

    engine = VLLMEngine(judge["judge_model"], max_model_len=2048, enforce_eager=True)
    try:
        run_verify(local, VerifyConfig(judge="vllm", **judge), engine=engine, show_progress=False)
    finally:
        engine.close()
    summary = run_verify(on_ray, VerifyConfig(judge="ray", replicas=1, **judge), show_progress=False)

    want = pl.from_arrow(local.read("verdicts")).sort("verdict_id")
    got = pl.from_arrow(on_ray.read("verdicts")).sort("verdict_id")
    assert got.height == got["verdict_id"].n_unique() == want.height > 80
    assert got["verdict_id"].to_list() == want["verdict_id"].to_list()
    assert got["status"].to_list() == want["status"].to_list()
    assert summary.statuses["ok"] == got.filter(pl.col("status") == "ok").height and not summary.statuses["error"]
    judged = got.filter(pl.col("status") == "ok")
    assert set(judged["raw_output"].unique()) <= {"consistent", "inconsistent"}  # structured choice held
    assert judged["confidence"].null_count() == 0 and ((judged["confidence"] > 0) & (judged["confidence"] <= 1)).all()
    assert (got.filter(pl.col("status") == "ok")["engine"] == "ray").all()
    # greedy judge, same prompt: the same labels, with confidences that agree
    both = judged.join(want, on="verdict_id", suffix="_local")
    assert (both["label"] == both["label_local"]).all()
    assert ((both["confidence"] - both["confidence_local"]).abs() < 1e-3).all()

    # a re-run has nothing left to judge and starts no cluster
    again = run_verify(on_ray, VerifyConfig(judge="ray", replicas=1, **judge), show_progress=False)
    assert again.judged == 0 and again.already_done == got.height
