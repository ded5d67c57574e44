"""Fixtures of the trainer tests: a store of the sample data with verdicts and pairs, and trained checkpoints.

The store holds the sample prompts, the bundled written completions imported as rollouts, their rules
verdicts and the veripo pairs: every input the trainers read. ``trained`` runs sft, dpo and grpo once per
session on the tiny Qwen2.5-VL policy (two steps each, frames as images) so the tests of each stage and
the vLLM reload test share the checkpoints.
"""

from __future__ import annotations

import shutil

import pytest

from train_cases import FRAMES, fill_store


@pytest.fixture(scope="session")
def trainer_store(tmp_path_factory, sample_json):
    from factory.store import Store

    store = Store(tmp_path_factory.mktemp("trainer-store") / "store")
    pairs = fill_store(store, sample_json)
    return {"store": store, "pairs": pairs}


@pytest.fixture
def store_copy(trainer_store, tmp_path):
    """A private copy of the session store, for tests that write to it."""
    from factory.store import Store

    target = tmp_path / "store"
    shutil.copytree(trainer_store["store"].url, target)
    return Store(target)


@pytest.fixture(scope="session")
def trained(tmp_path_factory, trainer_store, tiny_models):
    """sft, dpo and grpo, two steps each from the tiny Qwen2.5-VL policy; ``{stage: TrainResult}`` plus ``store``."""
    from factory.store import Store
    from trainers.dpo import DpoConfig, run_dpo
    from trainers.grpo import GrpoConfig, run_grpo
    from trainers.sft import SftConfig, run_sft

    root = tmp_path_factory.mktemp("trained")
    store = Store(root / "store")
    shutil.copytree(trainer_store["store"].url, store.url)
    policy = str(tiny_models["vl"])
    small = dict(model=policy, max_steps=2, per_device_batch_size=2, global_batch_size=2, **FRAMES)
    results = {
        "sft": run_sft(store, SftConfig(output_dir=str(root / "sft"), **small)),
        "dpo": run_dpo(store, DpoConfig(output_dir=str(root / "dpo"), rpo_alpha=1.0, **small)),
        # G = 8 as VerIPO; two questions per step (prompts of different lengths share a padded batch), short
        # completions
        "grpo": run_grpo(store, GrpoConfig(model=policy, output_dir=str(root / "grpo"), max_steps=2,
                                           per_device_batch_size=8, global_batch_size=16, max_completion_length=16,
                                           limit=4, iteration=3, **FRAMES)),
    }
    return {**results, "store": store}
