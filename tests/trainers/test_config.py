"""Stage configs: VerIPO's defaults, their translation into TRL's configs, files, LoRA targets, loop settings."""

import re
from pathlib import Path

import pytest

from factory.config import build_config
from factory.errors import UsageError
from trainers.dpo import DpoConfig, dpo_arguments
from trainers.grpo import GrpoConfig, grpo_arguments
from trainers.loop import LoopConfig, LoopSettings
from trainers.settings import gradient_accumulation, lora_config
from trainers.sft import SftConfig, sft_arguments

README = Path(__file__).resolve().parents[2] / "README.md"


def test_dpo_defaults_are_veripo_and_reach_trl(tmp_path):
    config = DpoConfig()
    assert (config.beta, config.learning_rate, config.global_batch_size, config.rpo_alpha) == (0.1, 5e-7, 32, None)
    args = dpo_arguments(config, str(tmp_path))
    assert args.beta == 0.1 and args.learning_rate == 5e-7 and args.loss_type == ["sigmoid"]
    assert args.per_device_train_batch_size * args.gradient_accumulation_steps == 32
    assert args.use_cpu and not args.bf16  # these machines have no GPU


def test_rpo_alpha_adds_the_chosen_likelihood_term(tmp_path):
    args = dpo_arguments(DpoConfig(rpo_alpha=0.5), str(tmp_path))
    assert args.loss_type == ["sigmoid", "sft"] and args.loss_weights == [1.0, 0.5]
    with pytest.raises(ValueError, match="rpo_alpha"):
        DpoConfig(rpo_alpha=-1)


def test_grpo_defaults_and_arguments(tmp_path):
    config = GrpoConfig()
    assert (config.num_generations, config.temperature, config.reward_profile) == (8, 1.0, "veripo")
    args = grpo_arguments(GrpoConfig(per_device_batch_size=4, global_batch_size=16, trl_args={"epsilon": 0.3}),
                          str(tmp_path))
    assert args.num_generations == 8 and args.temperature == 1.0 and args.gradient_accumulation_steps == 4
    assert args.max_completion_length == 768 and args.epsilon == 0.3 and not args.use_vllm
    with pytest.raises(ValueError, match="multiple of num_generations"):
        GrpoConfig(global_batch_size=12, per_device_batch_size=4)
    with pytest.raises(ValueError, match="at least 2"):
        GrpoConfig(num_generations=1, global_batch_size=8)


def test_global_batch_must_divide_into_devices():
    assert gradient_accumulation(SftConfig(per_device_batch_size=2, global_batch_size=16), devices=4) == 2
    with pytest.raises(ValueError, match="not a multiple"):
        gradient_accumulation(SftConfig(per_device_batch_size=2, global_batch_size=16), devices=3)
    with pytest.raises(ValueError, match="not a multiple"):
        SftConfig(per_device_batch_size=3, global_batch_size=16)


def test_config_file_sections_unknown_keys_and_trl_args(tmp_path):
    path = tmp_path / "train.toml"
    path.write_text('[dpo]\nbeta = 0.2\nrpo_alpha = 1\n[dpo.trl_args]\nld_alpha = 0.5\n'
                    '[sft]\nlearing_rate = 1e-5\n')
    config = build_config(DpoConfig, file=path, section="dpo", overrides={"learning_rate": 1e-6})
    assert (config.beta, config.rpo_alpha, config.learning_rate) == (0.2, 1.0, 1e-6)
    assert config.trl_args == {"ld_alpha": 0.5}
    with pytest.raises(UsageError, match="unknown key"):
        build_config(SftConfig, file=path, section="sft")
    assert sft_arguments(SftConfig(), str(tmp_path)).max_grad_norm == 5.0


def test_lora_targets_the_language_model_only():
    pattern = lora_config(DpoConfig(lora=True, lora_r=8)).target_modules
    assert re.fullmatch(pattern, "model.language_model.layers.0.self_attn.q_proj")
    assert re.fullmatch(pattern, "model.layers.1.mlp.down_proj")  # text-only Qwen2
    assert not re.fullmatch(pattern, "model.visual.blocks.0.mlp.gate_proj")
    assert lora_config(DpoConfig()) is None
    assert lora_config(DpoConfig(lora=True, lora_target_modules=["q_proj"])).target_modules == {"q_proj"}


def _readme_loop_configs() -> list[str]:
    text = README.read_text()
    section = text[text.index("## Training: the trainers package and the VerIPO loop"):]
    return re.findall(r"```toml\n(.*?)```", section, flags=re.DOTALL)


def test_readme_loop_configs_parse(tmp_path):
    blocks = [b for b in _readme_loop_configs() if "[loop]" in b]
    assert len(blocks) >= 2  # the GPU run and the tiny CPU one
    for index, block in enumerate(blocks):
        path = tmp_path / f"loop{index}.toml"
        path.write_text(block)
        settings = LoopSettings.from_file(path)
        assert settings.loop.policy and settings.loop.iterations >= 1
    gpu = LoopSettings.from_file(tmp_path / "loop0.toml")
    assert "Qwen2.5-VL-7B" in gpu.loop.policy and gpu.grpo.use_vllm and gpu.verify.judge == "openai"


def test_loop_config_rejects_unknown_sections(tmp_path):
    path = tmp_path / "loop.toml"
    path.write_text("[loop]\npolicy = 'x'\n[dpoo]\nbeta = 0.1\n")
    with pytest.raises(UsageError, match="unknown section"):
        LoopSettings.from_file(path)
    with pytest.raises(ValueError):
        LoopConfig(iterations=0)
