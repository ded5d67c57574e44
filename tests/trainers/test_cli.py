"""The trainers command line: conventions (store, config, exit codes) and a loop run end to end."""

import json
import os
import subprocess
import sys

import pytest

from factory.prompts import ImportConfig, import_prompts


def trainers(*args, env=None):
    return subprocess.run([sys.executable, "-m", "trainers.cli", *args], capture_output=True, text=True,
                          env={**os.environ, **(env or {})})


def test_help_lists_the_commands():
    result = trainers("--help")
    assert result.returncode == 0
    for command in ("sft", "dpo", "grpo", "loop", "check"):
        assert command in result.stdout


def test_bad_usage_exits_2(tmp_path):
    config = tmp_path / "c.toml"
    config.write_text("[dpo]\nbeta = 0.1\nbetta = 0.2\n")
    typo = trainers("dpo", "--config", str(config), "--store", str(tmp_path))
    assert typo.returncode == 2 and "unknown key(s) ['betta'] in [dpo]" in typo.stderr
    no_model = trainers("dpo", "--output-dir", str(tmp_path / "o"), "--store", str(tmp_path))
    assert no_model.returncode == 2 and no_model.stderr.startswith("error: no policy model")
    bad_arg = trainers("grpo", "--trl-arg", "novalue", "--store", str(tmp_path))
    assert bad_arg.returncode == 2 and "KEY=VALUE" in bad_arg.stderr


def test_check_loads_a_model_folder(tiny_models, tmp_path):
    result = trainers("check", "--no-vllm", str(tiny_models["vl"]))
    assert result.returncode == 0 and "transformers ok" in result.stdout
    missing = trainers("check", "--no-vllm", str(tmp_path / "nothing"))
    assert missing.returncode == 2 and "is not a folder" in missing.stderr


@pytest.mark.slow
def test_loop_command_with_a_sampling_policy(store, sample_json, tiny_models, tmp_path):
    """Real sampling from the random tiny policy: no well-formed text, so no pairs, and DPO is skipped.

    The GRPO stage runs through the launcher in two processes (torchrun on CPU; ``accelerate launch ...`` on GPUs):
    both sample, the main process gathers and writes every completion, once."""
    import_prompts(store, sample_json, ImportConfig(probe_media=False), show_progress=False)
    config = tmp_path / "loop.yaml"
    config.write_text(f"""
store: {store.url}
loop:
  run_dir: {tmp_path / 'run'}
  policy: {tiny_models['vl']}
  iterations: 1
  launcher: {sys.executable} -m torch.distributed.run --nproc_per_node 2
grpo:
  num_generations: 2
  per_device_batch_size: 1
  global_batch_size: 2
  max_steps: 1
  max_completion_length: 8
  max_frames: 4
  max_pixels: 3136
  limit: 2
verify:
  judge: rules
""")
    result = trainers("loop", "--config", str(config))
    assert result.returncode == 0, result.stderr[-3000:]
    assert "iter  prompts  rollouts" in result.stdout and "ran 4 stage(s)" in result.stdout
    state = json.loads((tmp_path / "run" / "loop_state.json").read_text())
    assert state["iterations"]["1"]["dpo"]["skipped"] == "no pairs"
    assert state["iterations"]["1"]["grpo"]["rollouts"] == 2
    rollouts = store.read("rollouts", state["iterations"]["1"]["grpo"]["rollouts_version"]).to_pylist()
    assert sorted(r["sample_index"] for r in rollouts) == [0, 1] and len(store.versions("rollouts")) == 1
