"""The sft, dpo and grpo checkpoints load in vLLM as they are (one child process, text and image prompts)."""

import pytest

from trainers.reload import check_vllm

pytestmark = pytest.mark.slow


def test_checkpoints_load_and_generate_in_vllm(trained):
    pytest.importorskip("vllm")
    folders = [trained[stage].checkpoint for stage in ("sft", "dpo", "grpo")]
    results = check_vllm(folders)
    for folder in folders:
        result = results[str(folder)]
        assert "error" not in result, result.get("error")
        assert result["tokens"] == [4, 4]  # the text prompt and the image prompt


def test_factory_rollouts_takes_a_checkpoint_as_the_policy(trained, tmp_path):
    """The next stage loads a trainer checkpoint as it is: ``factory rollouts --policy FOLDER`` (in-process vLLM)."""
    import os
    import shutil
    import subprocess
    import sys

    from factory.store import Store

    pytest.importorskip("vllm")
    store = Store(tmp_path / "store")
    shutil.copytree(trained["store"].url, store.url)
    checkpoint = str(trained["dpo"].checkpoint)
    done = subprocess.run([sys.executable, "-m", "factory.cli", "rollouts", "--policy", checkpoint, "--n", "2",
                           "--max-new-tokens", "8", "--limit", "2", "--max-model-len", "1024", "--enforce-eager",
                           "--max-frames", "4", "--max-pixels", "3136", "--store", store.url, "-q"],
                          capture_output=True, text=True, timeout=600,
                          env={**os.environ, "VLLM_ENABLE_V1_MULTIPROCESSING": "0"})
    assert done.returncode == 0, done.stderr[-3000:]
    rows = store.read("rollouts").to_pylist()
    mine = [r for r in rows if r["policy_model"] == checkpoint]
    assert len(mine) == 4 and all(r["status"] == "ok" and r["completion_tokens"] > 0 for r in mine)
