"""trainers sft: verified rollouts (accurate, consistent, well formed) or a Video-R1 CoT file, a few TRL steps."""

import json
import shutil

import polars as pl
import pytest
from datasets import load_dataset

from factory.errors import InvalidRows
from trainers.policy import read_record
from trainers.reload import check_transformers
from trainers.sft import SftConfig, run_sft
from trainers.sft_data import cot_items

from train_cases import FRAMES


def _cot_file(sample_json, folder, rows=3):
    examples = json.loads(sample_json.read_text())[:rows]
    for example in examples:
        example["process"] = f"<think>\nLet me look at the clip. {example['problem']}\n</think>"
    shutil.copytree(sample_json.parent / "media", folder / "media")
    path = folder / "cot.json"
    path.write_text(json.dumps(examples))
    return path, examples


@pytest.mark.slow
def test_sft_on_verified_rollouts(trained, trainer_store):
    result = trained["sft"]
    assert result.steps == 2 and result.finite
    record = read_record(result.checkpoint)
    assert record["data"]["kind"] == "store" and record["data"]["verifier"] == "rules"
    rows = load_dataset(str(result.checkpoint / "train_data"), split="train")
    assert len(rows) == record["data"]["passed"] > 0
    assert all(len(row["images"]) >= 1 for row in rows if row["prompt_id"])  # the sample tasks all have media
    store = trainer_store["store"]
    verdicts = pl.from_arrow(store.read("verdicts")).filter(pl.col("rollout_id").is_in(rows["source_id"]))
    assert verdicts.height == len(rows)
    assert verdicts.select(pl.col("accurate").all(), pl.col("consistent").all(), pl.col("fmt_ok").all(),
                           (~pl.col("truncated")).all(), (~pl.col("repetitive")).all()).row(0) == (True,) * 5
    counts = pl.Series(rows["prompt_id"]).value_counts()
    assert counts["count"].max() <= 4  # max_per_question
    assert check_transformers(result.checkpoint)["finite"]


@pytest.mark.slow
def test_sft_on_a_video_r1_cot_file(sample_json, tiny_models, tmp_path):
    path, examples = _cot_file(sample_json, tmp_path)
    config = SftConfig(model=str(tiny_models["vl"]), output_dir=str(tmp_path / "sft"), cot_json=str(path),
                       max_steps=1, per_device_batch_size=3, global_batch_size=3, template="video-r1", **FRAMES)
    result = run_sft(None, config)
    assert result.steps == 1 and result.finite
    rows = load_dataset(str(result.checkpoint / "train_data"), split="train")
    assert rows[0]["completion"][0]["content"] == examples[0]["process"] + "\n" + examples[0]["solution"]
    assert examples[0]["problem"] in rows[0]["prompt"][-1]["content"][-1]["text"]
    assert read_record(result.checkpoint)["data"]["kind"] == "cot-json"


def test_bad_cot_rows_are_named(sample_json, tmp_path):
    path, examples = _cot_file(sample_json, tmp_path)
    del examples[1]["process"]
    examples[2]["path"] = "media/missing.mp4"
    path.write_text(json.dumps(examples))
    with pytest.raises(InvalidRows) as caught:
        cot_items(SftConfig(cot_json=str(path)))
    lines = caught.value.lines()
    assert any("row 1" in line and "'process'" in line for line in lines)
    assert any("row 2" in line and "'path'" in line and "missing.mp4" in line for line in lines)
