"""trainers loop: one full iteration on the sample data with the tiny models; lineage, resume, the table."""

import json

import polars as pl
import pytest

from factory.errors import UsageError
from factory.prompts import ImportConfig, import_prompts
from factory.store import ParentRef
from trainers.loop import LoopSettings, run_loop
from trainers.loop_report import format_rows
from trainers.policy import RECORD, read_record
from written import WrittenRollouts

pytestmark = pytest.mark.slow


def loop_config(path, run_dir, policy, *, grpo_extra=""):
    path.write_text(f"""
[loop]
run_dir = "{run_dir}"
policy = "{policy}"
iterations = 1

[grpo]
num_generations = 6
per_device_batch_size = 6
global_batch_size = 12
max_steps = 2
max_completion_length = 256
max_frames = 4
max_pixels = 3136
limit = 4
beta = 0.0
{grpo_extra}

[verify]
judge = "rules"

[pairs]
policy = "veripo"
drop_easy_share = 0.8

[dpo]
per_device_batch_size = 2
global_batch_size = 2
max_steps = 2
rpo_alpha = 1.0
""")
    return path


def test_one_iteration_with_lineage_and_resume(store, sample_json, tiny_models, tmp_path):
    import_prompts(store, sample_json, ImportConfig(probe_media=False), show_progress=False)
    prompts = store.latest("prompts")
    config = loop_config(tmp_path / "loop.toml", tmp_path / "run", tiny_models["vl"])
    settings = LoopSettings.from_file(config)
    lines = []
    result = run_loop(store, settings, rollout_func=WrittenRollouts(), log=lines.append)
    assert result.ran == [(1, "grpo"), (1, "verify"), (1, "pairs"), (1, "dpo")]
    stages = result.state.iterations["1"]

    # lineage: DPO pairs -> verdicts -> GRPO rollouts -> prompts
    pairs = store.resolve("pairs", stages["pairs"]["pairs_version"])
    verdicts = store.resolve("verdicts", stages["verify"]["verdicts_version"])
    rollouts = store.resolve("rollouts", stages["grpo"]["rollouts_version"])
    assert pairs.parents == [ParentRef("rollouts", rollouts.id), ParentRef("verdicts", verdicts.id)]
    assert ParentRef("rollouts", rollouts.id) in verdicts.parents
    assert rollouts.parents == [ParentRef("prompts", prompts.id)] and rollouts.stage == "grpo"
    dpo = read_record(stages["dpo"]["checkpoint"])
    assert dpo["data"]["version"] == pairs.id and dpo["base_model"] == stages["grpo"]["checkpoint"]
    assert dpo["iteration"] == 1 and read_record(stages["grpo"]["checkpoint"])["rollouts_version"] == rollouts.id
    nxt = store.resolve("prompts", stages["pairs"]["next_prompts_version"])
    assert nxt.parents == [ParentRef("prompts", prompts.id), ParentRef("pairs", pairs.id)]
    # the rows agree: every pair's sides are GRPO rollouts of iteration 1 with verdicts in that version
    pair_rows = pl.from_arrow(store.read("pairs", pairs.id))
    grpo_rows = pl.from_arrow(store.read("rollouts", rollouts.id))
    assert pair_rows.height > 0 and pair_rows["iteration"].unique().to_list() == [1]
    sides = set(pair_rows["chosen_rollout_id"]) | set(pair_rows["rejected_rollout_id"])
    assert sides <= set(grpo_rows["rollout_id"]) and grpo_rows["engine"].unique().to_list() == ["trl-grpo"]
    judged = set(pl.from_arrow(store.read("verdicts", verdicts.id))["rollout_id"])
    assert sides <= judged

    # the per-iteration table
    row = result.rows[0]
    assert row["rollouts"] == grpo_rows.height == 24 and row["pairs"] == pair_rows.height
    assert 0 < row["accuracy"] < 1 and 0 < row["consistency"] <= 1 and row["think_tokens"] > 0
    assert all(row[f"{stage}_s"] > 0 for stage in ("grpo", "verify", "pairs", "dpo"))
    assert "pairs by type" in format_rows(result.rows)
    assert json.loads((tmp_path / "run" / "summary.json").read_text())[0]["pairs"] == row["pairs"]

    # resume: nothing is missing, nothing runs; a lost DPO checkpoint re-runs DPO alone
    assert run_loop(store, settings, rollout_func=WrittenRollouts()).ran == []
    (tmp_path / "run" / "iter-1" / "dpo" / RECORD).unlink()
    again = run_loop(store, settings, rollout_func=WrittenRollouts())
    assert again.ran == [(1, "dpo")] and again.rows[0]["pairs"] == row["pairs"]

    # a run folder belongs to one config
    changed = loop_config(tmp_path / "other.toml", tmp_path / "run", tiny_models["vl"], grpo_extra="temperature = 0.7")
    with pytest.raises(UsageError, match="grpo.temperature"):
        run_loop(store, LoopSettings.from_file(changed), rollout_func=WrittenRollouts())
