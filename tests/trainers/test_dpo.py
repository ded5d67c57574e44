"""trainers dpo: TRL steps on pairs from the store (frames as images) and from an exported folder, with LoRA."""

import pytest

from factory.errors import UsageError
from factory.export import ExportConfig, export
from trainers.data import from_dataset
from trainers.dpo import DpoConfig, run_dpo
from trainers.policy import read_record
from trainers.reload import check_transformers

from train_cases import FRAMES


@pytest.mark.slow
def test_dpo_on_a_store_pairs_version(trained, trainer_store):
    result = trained["dpo"]
    assert result.steps == 2 and result.finite and len(result.losses) == 2
    record = read_record(result.checkpoint)
    assert record["stage"] == "dpo" and record["config"]["rpo_alpha"] == 1.0 and record["config"]["beta"] == 0.1
    assert record["data"]["kind"] == "store" and record["data"]["version"] == trainer_store["pairs"].version
    assert record["base_model"].endswith("tiny-qwen2.5-vl") and record["revision"]
    data = (result.checkpoint / "train_data" / "lineage.json")
    assert data.is_file()  # the exported pairs are kept beside the checkpoint
    # the chosen-likelihood term is logged by TRL next to the DPO terms
    assert any("rewards/margins" in entry for entry in result.log_history)
    loaded = check_transformers(result.checkpoint)
    assert loaded["finite"] and loaded["class"] == "Qwen2_5_VLForConditionalGeneration"


@pytest.mark.slow
def test_dpo_on_an_exported_folder_with_lora_and_a_pair_type(trainer_store, tiny_models, tmp_path):
    folder = tmp_path / "pairs"
    export(trainer_store["store"], ExportConfig(format="trl-dpo", out=str(folder), **FRAMES), show_progress=False)
    config = DpoConfig(model=str(tiny_models["vl"]), output_dir=str(tmp_path / "dpo"), dataset=str(folder),
                       pair_types=["consistency"], lora=True, lora_r=4, lora_alpha=8, max_steps=1,
                       per_device_batch_size=2, global_batch_size=2)
    result = run_dpo(None, config)
    assert result.steps == 1 and result.finite
    record = read_record(result.checkpoint)
    assert record["data"]["kind"] == "folder" and record["data"]["version"] == trainer_store["pairs"].version
    assert record["rows"] == trainer_store["pairs"].counts["consistency"]
    assert (result.checkpoint / "adapter" / "adapter_config.json").is_file()
    assert not (result.checkpoint / "adapter_config.json").exists()  # merged: a plain model folder
    assert check_transformers(result.checkpoint)["finite"]


def test_dpo_needs_a_model_and_a_hub_dataset_that_exists(tmp_path):
    with pytest.raises(UsageError, match="no output folder"):
        run_dpo(None, DpoConfig(model="x"))
    with pytest.raises(UsageError, match="cannot load dataset 'nobody/no-such-pairs'"):
        from_dataset(DpoConfig(dataset="nobody/no-such-pairs"))
