"""Rollouts on a local Ray with Ray Data LLM and the tiny Qwen2.5-VL: the ids, rows and failures of a local run.

One module fixture makes the runs the tests compare (engine starts dominate the time): a local in-process
run and a Ray run with two replicas over the same prompts, one of whose videos vanished after import.
"""

import os
import shutil
import signal
import subprocess
import sys
import time
from pathlib import Path

import pyarrow.parquet as pq
import pytest

from factory.prompts import ImportConfig, import_prompts
from factory.rollouts.config import RolloutConfig
from factory.rollouts.generate import run_rollouts
from factory.store import Store

pytestmark = pytest.mark.slow

MISSING_CLIP = "clip_05.mp4"  # asked about by one question: its n rollouts fail, the others go on
N, MAX_NEW_TOKENS = 4, 48


def settings(tiny_models, **overrides):
    return {"policy": str(tiny_models["vl"]), "n": N, "max_new_tokens": MAX_NEW_TOKENS, "max_model_len": 1024,
            "enforce_eager": True, "dtype": "float32", "rows_per_part": 16, **overrides}


@pytest.fixture(scope="module")
def runs(tmp_path_factory, sample_json, tiny_models):
    root = tmp_path_factory.mktemp("ray-rollouts")
    shutil.copytree(sample_json.parent, root / "sample")
    template = Store(root / "template")
    import_prompts(template, root / "sample" / sample_json.name, ImportConfig(), show_progress=False)
    os.remove(root / "sample" / "media" / MISSING_CLIP)  # vanishes after import
    stores = {}
    for name in ("local", "ray", "killed"):
        shutil.copytree(root / "template", root / name)
        stores[name] = Store(root / name)

    os.environ["VLLM_ENABLE_V1_MULTIPROCESSING"] = "0"
    from factory.engines.vllm_engine import VLLMEngine

    engine = VLLMEngine(str(tiny_models["vl"]), dtype="float32", max_model_len=1024, enforce_eager=True)
    try:
        local = run_rollouts(stores["local"], RolloutConfig(**settings(tiny_models)), engine=engine,
                             show_progress=False)
    finally:
        engine.close()
    started = time.perf_counter()
    ray = run_rollouts(stores["ray"], RolloutConfig(**settings(tiny_models, engine="ray", replicas=2)),
                       show_progress=False)
    print(f"ray rollouts, 2 replicas: {time.perf_counter() - started:.1f} s")
    return {"root": root, "stores": stores, "local": local, "ray": ray}


def by_id(store):
    return {row["rollout_id"]: row for row in store.read("rollouts").to_pylist()}


def same_completions(rows, reference) -> float:
    ok = [key for key, row in rows.items() if row["status"] == "ok"]
    return sum(rows[key]["completion"] == reference[key]["completion"] for key in ok) / len(ok)


def test_ray_rollouts_have_the_ids_and_rows_of_a_local_run(runs):
    local, ray = by_id(runs["stores"]["local"]), by_id(runs["stores"]["ray"])
    assert runs["stores"]["ray"].read("rollouts").num_rows == len(ray) == len(local) == 19 * N  # no duplicates
    assert set(ray) == set(local)
    for key, row in ray.items():
        twin = local[key]
        for column in ("prompt_id", "sample_index", "seed", "sampling_params", "status", "template_hash",
                       "chat_template_hash", "prompt_text", "media_sha256", "frame_indices", "max_pixels"):
            assert row[column] == twin[column], (column, key)
        assert row["engine"] == "ray" and row["endpoint"] == "ray:local" and "vllm" in row["engine_version"]
        if row["status"] == "ok":
            # the same chat-templated prompt and the same frames reached the engine
            assert row["prompt_tokens"] == twin["prompt_tokens"], key
            assert 0 < row["completion_tokens"] <= MAX_NEW_TOKENS and row["finish_reason"] in ("stop", "length")
            assert (row["finish_reason"] == "length") == (row["completion_tokens"] == MAX_NEW_TOKENS)
            assert row["reward_total"] is not None and row["latency_s"] > 0
            if row["completion"] == twin["completion"]:  # scored alike: same tokenizer, same profile
                assert (row["think_tokens"], row["reward_total"]) == (twin["think_tokens"], twin["reward_total"])
    # each sample has its own seed, the one vLLM gives it in a local n-sampling request: the same rollout
    # samples the same text (batch-dependent float rounding may, rarely, flip a token)
    assert same_completions(ray, local) >= 0.9
    summary = runs["ray"]
    assert summary.written == 19 * N and summary.generated_tokens > 0
    manifest = runs["stores"]["ray"].latest("rollouts")
    assert manifest.config["engine"] == "ray" and manifest.parents[0].table == "prompts"
    assert not (Path(runs["stores"]["ray"].url) / "rollouts" / "ray").exists()  # staging removed after commit


def test_a_missing_video_is_a_failed_rollout_not_a_failed_job(runs):
    rows = by_id(runs["stores"]["ray"]).values()
    failed = [r for r in rows if r["status"] == "error"]
    assert runs["ray"].errors == {"media": N} and len(failed) == N
    assert all(r["media_uri"].endswith(MISSING_CLIP) and r["error"].startswith("media: ") for r in failed)
    assert all(MISSING_CLIP in r["error"] and r["completion"] is None and r["reward_total"] is None
               for r in failed)
    assert sum(r["status"] == "ok" for r in rows) == 18 * N


def rollouts_cli(store, tiny_models, config_file):
    return subprocess.Popen([sys.executable, "-m", "factory.cli", "rollouts", "--store", str(store), "--config",
                             str(config_file), "--policy", str(tiny_models["vl"]), "--engine", "ray",
                             "--replicas", "2", "-q"],
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, start_new_session=True)


def kill_session(process) -> None:
    """SIGKILL the command's process group, then whatever else of its session (Ray's workers) is left."""
    os.killpg(process.pid, signal.SIGKILL)
    process.wait()
    import psutil

    deadline = time.time() + 30
    while time.time() < deadline:
        left = []
        for other in psutil.process_iter():
            try:
                if os.getsid(other.pid) == process.pid:
                    left.append(other)
            except (OSError, psutil.Error):
                continue
        if not left:
            return
        time.sleep(1)
    for other in left:
        other.kill()


def test_driver_killed_mid_job_rerun_ends_with_the_uninterrupted_table(runs, tiny_models):
    root = runs["root"]
    config_file = root / "factory.toml"
    config_file.write_text(f"[rollouts]\nn = {N}\nmax_new_tokens = {MAX_NEW_TOKENS}\nmax_model_len = 1024\n"
                           "enforce_eager = true\ndtype = \"float32\"\nray_batch_size = 2\n")
    store = runs["stores"]["killed"]
    staging = Path(store.url) / "rollouts" / "ray"
    process = rollouts_cli(store.url, tiny_models, config_file)
    deadline = time.time() + 300
    while time.time() < deadline and not list(staging.glob("*/*/*.parquet")) and process.poll() is None:
        time.sleep(0.1)
    kill_session(process)
    store.refresh()
    assert store.latest("rollouts") is None, "the job finished before it could be killed"
    left = {}
    for path in staging.glob("*/*/*.parquet"):
        try:
            left.update({r["key"]: r for r in pq.read_table(path).to_pylist()})
        except Exception:
            pass  # written while the driver was killed
    assert left, "no result file was complete when the driver was killed"

    rerun = rollouts_cli(store.url, tiny_models, config_file)
    out, err = rerun.communicate(timeout=600)
    assert rerun.returncode == 0, err.decode()[-3000:]
    store.refresh()
    got, want = store.read("rollouts"), runs["stores"]["ray"].read("rollouts")
    ids = got.column("rollout_id").to_pylist()
    assert len(ids) == len(set(ids)) == want.num_rows
    assert set(ids) == set(want.column("rollout_id").to_pylist())
    rows, reference = by_id(store), by_id(runs["stores"]["ray"])
    for key, row in rows.items():
        assert (row["status"], row["seed"], row["sample_index"]) == (
            reference[key]["status"], reference[key]["seed"], reference[key]["sample_index"])
    assert same_completions(rows, reference) >= 0.9
    # what the killed job had finished was ingested, not generated again
    print(f"driver killed with {len(left)} of {len(rows)} results written; the re-run generated the rest")
    for key, result in left.items():
        assert rows[key]["latency_s"] == result["latency_s"] or result["error"], key
    assert not staging.exists()
