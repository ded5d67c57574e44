"""trainers grpo: TRL steps on the tiny Qwen2.5-VL with G = 8, every completion recorded, verify and pairs on them."""

import math
import shutil

import polars as pl
import pytest

from factory.pairs import PairConfig, run_pairs
from factory.store import Store
from factory.verifier.config import VerifyConfig
from factory.verifier.run import run_verify
from schemas import ROLLOUTS, validated
from trainers.grpo import GrpoConfig, run_grpo
from trainers.policy import read_record, weights_hash
from trainers.reload import check_transformers
from written import WrittenRollouts

from train_cases import FRAMES

pytestmark = pytest.mark.slow


def _logged_means(result, name):
    return [entry[f"rewards/{name}/mean"] for entry in result.log_history if f"rewards/{name}/mean" in entry]


def test_grpo_steps_and_records_every_completion(trained, tiny_models, tmp_path):
    result, store = trained["grpo"], trained["store"]
    assert result.steps == 2 and result.finite
    version = store.resolve("rollouts", result.rollouts_version)
    prompts = store.latest("prompts")
    assert version.stage == "grpo" and [(p.table, p.version) for p in version.parents] == [("prompts", prompts.id)]
    table = validated(ROLLOUTS, store.read("rollouts", version.id), source="grpo rollouts")
    rows = pl.from_arrow(table)
    assert rows.height == result.rollouts == 32  # 2 steps x 2 questions x G = 8
    assert rows["engine"].unique().to_list() == ["trl-grpo"] and rows["iteration"].unique().to_list() == [3]
    assert sorted(rows["step"].unique().to_list()) == [0, 1]
    for (_, _), group in rows.group_by(["prompt_id", "step"]):
        assert sorted(group["sample_index"].to_list()) == list(range(8))
    assert rows["policy_model"].unique().to_list() == [str(tiny_models["vl"])]
    assert rows["policy_revision"].unique().to_list() == [weights_hash(tiny_models["vl"])]
    assert rows["completion_tokens"].max() <= 16 and set(rows["finish_reason"].unique()) <= {"stop", "length"}
    assert rows["reward_profile"].unique().to_list() == ["veripo"] and rows["reward_total"].null_count() == 0
    assert all("<answer>$B$</answer>" in text for text in rows["prompt_text"].to_list())  # the veripo template
    video = rows.filter(pl.col("frame_fps").is_not_null())
    assert video.height and video["max_frames"].unique().to_list() == [4]
    # what TRL logged per step is what the rows hold
    for name, column in (("accuracy_reward", "reward_accuracy"), ("format_reward", "reward_format")):
        per_step = [rows.filter(pl.col("step") == s)[column].mean() for s in (0, 1)]
        assert _logged_means(result, name) == pytest.approx(per_step)

    # factory verify and factory pairs run on the GRPO-phase rollouts as they are
    copy = Store(tmp_path / "store")
    shutil.copytree(store.url, copy.url)
    summary = run_verify(copy, VerifyConfig(rollouts_version=version.id), show_progress=False)
    assert summary.judged == 32 and sum(summary.statuses.values()) == 32
    pairs = run_pairs(copy, PairConfig(rollouts_version=version.id, verdicts_version=summary.version.id),
                      show_progress=False)
    assert pairs.questions == rows["prompt_id"].n_unique()

    record = read_record(result.checkpoint)
    assert record["stage"] == "grpo" and record["rollouts_version"] == version.id
    assert record["data"]["table"] == "prompts" and record["data"]["version"] == prompts.id
    from transformers import AutoTokenizer

    assert AutoTokenizer.from_pretrained(result.checkpoint).padding_side == "right"  # GRPO's left padding not saved
    loaded = check_transformers(result.checkpoint)
    assert loaded["finite"] and loaded["new_tokens"] == 4


def test_grpo_rewards_on_written_completions_match_the_records(store_copy, tiny_models, tmp_path):
    """Well-formed samples (TRL's rollout hook hands it written completions): rewards vary and still match."""
    config = GrpoConfig(model=str(tiny_models["vl"]), output_dir=str(tmp_path / "grpo"), max_steps=2,
                        num_generations=4, per_device_batch_size=4, global_batch_size=8, max_completion_length=256,
                        beta=0.0, limit=4, reward_profile="veripo", **FRAMES)
    result = run_grpo(store_copy, config, rollout_func=WrittenRollouts())
    assert result.steps == 2 and math.isfinite(result.train_loss)
    rows = pl.from_arrow(store_copy.read("rollouts", result.rollouts_version))
    assert rows.height == 16 and rows["accurate"].any() and not rows["accurate"].all()
    for name, column in (("accuracy_reward", "reward_accuracy"), ("format_reward", "reward_format")):
        per_step = [rows.filter(pl.col("step") == s)[column].mean() for s in (0, 1)]
        assert _logged_means(result, name) == pytest.approx(per_step)
    verdicts = run_verify(store_copy, VerifyConfig(rollouts_version=result.rollouts_version), show_progress=False)
    assert verdicts.statuses["ok"] > 0
    pairs = run_pairs(store_copy, PairConfig(rollouts_version=result.rollouts_version,
                                             verdicts_version=verdicts.version.id), show_progress=False)
    assert pairs.rows > 0


def test_grpo_on_an_exported_folder_records_its_template_and_frames(store_copy, tiny_models, tmp_path):
    from factory.export import ExportConfig, export

    folder = tmp_path / "prompts"
    export(store_copy, ExportConfig(format="trl-grpo", table="prompts", template="video-r1", out=str(folder), limit=2,
                                    **FRAMES), show_progress=False)
    config = GrpoConfig(model=str(tiny_models["vl"]), output_dir=str(tmp_path / "grpo"), dataset=str(folder),
                        max_steps=1, num_generations=2, per_device_batch_size=2, global_batch_size=2, beta=0.0)
    result = run_grpo(store_copy, config, rollout_func=WrittenRollouts())
    version = store_copy.resolve("rollouts", result.rollouts_version)
    assert version.parents[0].version == store_copy.latest("prompts").id
    rows = store_copy.read("rollouts", version.id).to_pylist()
    assert len(rows) == 2 and {r["template_id"] for r in rows} == {"video-r1"}
    assert all(r["max_pixels"] == 56 * 56 for r in rows)  # from the folder's lineage.json, not the defaults
    assert all(r["max_frames"] == 4 for r in rows if r["frame_fps"] is not None)
    assert read_record(result.checkpoint)["data"]["kind"] == "folder"
