"""The trainer exports, consumed by the trainers themselves: one real TRL step each, on CPU.

- ``trl-dpo`` with frames -> ``DPOTrainer`` on the tiny Qwen2.5-VL policy (``AutoModelForImageTextToText``,
  ``AutoProcessor`` as processing class): video frames go in as ``images``.
- ``trl-grpo`` with frames -> ``GRPOTrainer`` on the same tiny Qwen2.5-VL policy, rewarded by the factory's
  own reward functions (:func:`factory.rewards.trl_reward.make_reward_funcs`).

Each takes a few seconds on 2 CPU cores (the model is random and tiny; the step is what is tested).
"""

import math

import pytest
from datasets import load_dataset

from factory.export import ExportConfig, export
from factory.rewards.trl_reward import make_reward_funcs

pytest.importorskip("trl")


def trainer_args(config_class, tmp_path, **extra):
    return config_class(output_dir=str(tmp_path / "run"), max_steps=1, per_device_train_batch_size=2, use_cpu=True,
                        bf16=False, report_to=[], logging_steps=1, save_strategy="no", seed=0, **extra)


def test_dpo_trainer_steps_on_the_exported_pairs_with_frames(export_store, tiny_models, tmp_path):
    from transformers import AutoModelForImageTextToText, AutoProcessor
    from trl import DPOConfig, DPOTrainer

    result = export(export_store["store"], ExportConfig(format="trl-dpo", out=str(tmp_path / "dpo"), limit=2),
                    show_progress=False)
    data = load_dataset(str(result.folder), split="train")
    assert all(len(row["images"]) >= 1 for row in data)
    processor = AutoProcessor.from_pretrained(tiny_models["vl"])
    model = AutoModelForImageTextToText.from_pretrained(tiny_models["vl"])
    # max_length must leave the prompt whole: the image placeholder tokens and the image features must match
    trainer = DPOTrainer(model=model, args=trainer_args(DPOConfig, tmp_path, max_length=640, beta=0.1),
                         train_dataset=data, processing_class=processor)
    output = trainer.train()
    assert output.global_step == 1 and math.isfinite(output.training_loss)
    logged = trainer.state.log_history[0]
    assert logged["num_tokens"] > 2 * 6 * 9  # two rows of >= 6 frames, 9 vision tokens a frame at 84x84


def test_grpo_trainer_steps_on_the_exported_prompts_with_the_factory_rewards(export_store, tiny_models, tmp_path):
    from transformers import AutoModelForImageTextToText, AutoProcessor
    from trl import GRPOConfig, GRPOTrainer

    result = export(export_store["store"], ExportConfig(format="trl-grpo", table="prompts", template="veripo",
                                                        out=str(tmp_path / "grpo"), limit=2), show_progress=False)
    data = load_dataset(str(result.folder), split="train")
    seen = []

    def spy(func):
        def reward(prompts, completions, **kwargs):
            seen.append((func.__name__, completions, kwargs))
            return func(prompts, completions, **kwargs)

        reward.__name__ = func.__name__
        return reward

    processor = AutoProcessor.from_pretrained(tiny_models["vl"])
    model = AutoModelForImageTextToText.from_pretrained(tiny_models["vl"])
    args = trainer_args(GRPOConfig, tmp_path, num_generations=2, max_completion_length=16)
    trainer = GRPOTrainer(model=model, args=args, train_dataset=data, processing_class=processor,
                          reward_funcs=[spy(f) for f in make_reward_funcs("veripo")])
    output = trainer.train()
    assert output.global_step == 1
    assert [name for name, _, _ in seen] == ["accuracy_reward", "format_reward"]
    name, completions, kwargs = seen[0]
    assert len(completions) == 2 and completions[0][0]["role"] == "assistant"
    by_id = {row["prompt_id"]: row for row in data}
    row = by_id[kwargs["prompt_id"][0]]
    assert kwargs["gold"][0] == row["gold"] and kwargs["problem_type"][0] == row["problem_type"]
    assert kwargs["options"][0] == row["options"]
    logged = trainer.state.log_history[0]
    assert "rewards/accuracy_reward/mean" in logged and "rewards/format_reward/mean" in logged
