"""factory rollouts on a real in-process vLLM engine with the tiny Qwen2.5-VL policy and the sample videos."""

import json
import os
import signal
import subprocess
import sys
import time

import pytest

from factory.prompts import ImportConfig, import_prompts
from factory.rollouts.config import RolloutConfig
from factory.rollouts.generate import run_rollouts
from factory.store import Store

pytestmark = pytest.mark.slow


@pytest.fixture(scope="module")
def vl_engine(tiny_models):
    os.environ["VLLM_ENABLE_V1_MULTIPROCESSING"] = "0"
    from factory.engines.vllm_engine import VLLMEngine

    engine = VLLMEngine(str(tiny_models["vl"]), dtype="float32", max_model_len=1024, enforce_eager=True)
    yield engine
    engine.close()


def config_for(tiny_models, **overrides):
    settings = dict(policy=str(tiny_models["vl"]), n=4, max_new_tokens=24, max_model_len=1024, enforce_eager=True,
                    dtype="float32", rows_per_part=16)
    return RolloutConfig(**{**settings, **overrides})


def test_rollouts_with_video_frames_provenance_and_rewards(tmp_path, sample_json, tiny_models, vl_engine):
    store = Store(tmp_path / "store")
    import_prompts(store, sample_json, ImportConfig(), show_progress=False)
    prompts = store.read("prompts").to_pylist()
    summary = run_rollouts(store, config_for(tiny_models), engine=vl_engine, show_progress=False)
    assert summary.written == 4 * len(prompts) and not summary.errors
    rows = store.read("rollouts").to_pylist()
    by_prompt = {}
    for row in rows:
        by_prompt.setdefault(row["prompt_id"], []).append(row)
    assert set(by_prompt) == {p["prompt_id"] for p in prompts}
    for prompt in prompts:
        group = sorted(by_prompt[prompt["prompt_id"]], key=lambda r: r["sample_index"])
        assert [r["sample_index"] for r in group] == [0, 1, 2, 3]
        assert [r["seed"] for r in group] == [group[0]["seed"] + i for i in range(4)]
        for row in group:
            assert row["status"] == "ok" and row["completion"] is not None
            assert row["engine"] == "vllm" and row["engine_version"] and row["endpoint"] == "in-process"
            assert row["template_id"] == "video-r1" and len(row["template_hash"]) == 64
            assert len(row["chat_template_hash"]) == 64 and row["code_version"]
            assert json.loads(row["sampling_params"])["seed"] == row["seed"]
            assert row["finish_reason"] in ("stop", "length") and 0 < row["completion_tokens"] <= 24
            assert row["reward_profile"] == "video-r1" and row["reward_total"] is not None
            assert row["fmt_ok"] is not None and row["think_tokens"] is not None
            if prompt["data_type"] == "video":
                assert row["media_sha256"] == prompt["media_sha256"]
                assert row["frame_indices"][0] == 0 and len(row["frame_indices"]) % 2 == 0
                assert row["video_fps"] > 0 and row["video_duration_s"] > 0 and row["frame_fps"] == 2.0
                assert row["prompt_tokens"] > 50  # the video tokens are in the prompt
            elif prompt["data_type"] == "image":
                assert row["max_pixels"] and row["frame_indices"] is None
    manifest = store.latest("rollouts")
    assert manifest.parents[0].table == "prompts" and manifest.config["sampling"]["temperature"] == 1.0

    # A larger G generates only the new sample indices; the same config again generates nothing.
    more = run_rollouts(store, config_for(tiny_models, n=6), engine=vl_engine, show_progress=False)
    assert more.written == 2 * len(prompts) and more.already_present == 4 * len(prompts)
    again = run_rollouts(store, config_for(tiny_models, n=6), engine=vl_engine, show_progress=False)
    assert again.written == 0 and again.version.id == more.version.id


def test_missing_media_fails_that_prompts_rows_not_the_run(tmp_path, sample_json, tiny_models, vl_engine):
    store = Store(tmp_path / "store")
    media = tmp_path / "media"
    media.mkdir()
    rows = json.loads(sample_json.read_text())
    by_clip = {r["path"]: r for r in rows if r["data_type"] == "video"}
    video_rows = list(by_clip.values())[:2]  # two questions on two different clips
    for row in video_rows:
        (media / os.path.basename(row["path"])).write_bytes((sample_json.parent / row["path"]).read_bytes())
        row["path"] = "media/" + os.path.basename(row["path"])
    source = tmp_path / "t.json"
    source.write_text(json.dumps(video_rows))
    import_prompts(store, source, ImportConfig(), show_progress=False)
    os.remove(media / os.path.basename(video_rows[0]["path"]))  # vanishes after import
    summary = run_rollouts(store, config_for(tiny_models), engine=vl_engine, show_progress=False)
    assert summary.errors == {"media": 4}
    table = store.read("rollouts").to_pylist()
    failed = [r for r in table if r["status"] == "error"]
    assert len(failed) == 4 and all("does not exist" in r["error"] or "cannot decode" in r["error"] for r in failed)
    assert all(r["completion"] is None and r["reward_total"] is None for r in failed)
    assert sum(r["status"] == "ok" for r in table) == 4


def rollouts_cli(store, tiny_models, config_file):
    env = {**os.environ, "VLLM_ENABLE_V1_MULTIPROCESSING": "0"}
    return subprocess.Popen([sys.executable, "-m", "factory.cli", "rollouts", "--store", str(store), "--config",
                             str(config_file), "--policy", str(tiny_models["vl"]), "-q"],
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, env=env, start_new_session=True)


def test_killed_run_resumes_to_exactly_the_uninterrupted_rows(tmp_path, sample_json, tiny_models):
    config_file = tmp_path / "factory.toml"
    config_file.write_text("[rollouts]\nn = 4\nmax_new_tokens = 64\nmax_model_len = 1024\nenforce_eager = true\n"
                           "rows_per_part = 8\nseconds_per_part = 0.5\nmax_in_flight = 4\n")
    killed_store, clean_store = Store(tmp_path / "killed"), Store(tmp_path / "clean")
    for store in (killed_store, clean_store):
        import_prompts(store, sample_json, ImportConfig(), show_progress=False)

    process = rollouts_cli(killed_store.url, tiny_models, config_file)
    parts = tmp_path / "killed" / "rollouts" / "parts"
    deadline = time.time() + 240
    while time.time() < deadline and not (parts.exists() and len(list(parts.glob("*.parquet"))) >= 2):
        time.sleep(0.2)
    os.killpg(process.pid, signal.SIGKILL)
    process.wait()
    assert killed_store.latest("rollouts") is None, "the run finished before it could be killed"
    written_before_kill = len(list(parts.glob("*.parquet")))
    assert written_before_kill >= 2

    resumed = rollouts_cli(killed_store.url, tiny_models, config_file)
    out, err = resumed.communicate(timeout=600)
    assert resumed.returncode == 0, err.decode()[-2000:]
    clean = rollouts_cli(clean_store.url, tiny_models, config_file)
    out, err = clean.communicate(timeout=600)
    assert clean.returncode == 0, err.decode()[-2000:]

    killed_store.refresh()
    got, want = killed_store.read("rollouts"), clean_store.read("rollouts")
    ids = got.column("rollout_id").to_pylist()
    assert len(ids) == len(set(ids)) == want.num_rows == 4 * 19
    assert set(ids) == set(want.column("rollout_id").to_pylist())
    pairs = {(r["prompt_id"], r["sample_index"]) for r in got.select(["prompt_id", "sample_index"]).to_pylist()}
    assert len(pairs) == got.num_rows
