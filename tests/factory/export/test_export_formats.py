"""Each export format, loaded the way its consumer loads it: ``datasets.load_dataset`` on the folder (TRL,
the Hub), ``datasets.load_dataset("parquet", ...)`` plus verl's placeholder expansion (verl), JSON lines.

Real store (sample prompts, imported and recorded rollouts, hand-written pairs), real media decoding.
"""

import json

import numpy as np
import pyarrow as pa
import pyarrow.parquet as pq
import pytest
import yaml
from datasets import Image, load_dataset

from export_cases import RECORDED_FRAMES, RECORDED_TEXT, build_export_store, read_jsonl, rendered
from factory.errors import MediaError, UsageError
from factory.export import ExportConfig, export
from factory.media.frames import FrameSampling, load_media
from factory.store import Store

DATA = "data/train-00000-of-00001.parquet"


def run(store, tmp_path, **settings):
    settings.setdefault("out", str(tmp_path / settings.get("format", "trl-dpo")))
    return export(store, ExportConfig(**settings), show_progress=False)


def front_matter(folder):
    text = (folder / "README.md").read_text()
    assert text.startswith("---\n")
    return yaml.safe_load(text.split("---\n")[1]), text.split("---\n", 2)[2]


# -- trl-dpo ------------------------------------------------------------------------------------------
def test_trl_dpo_rows_are_trl_explicit_prompt_preference_rows_with_frames(export_store, tmp_path):
    store, prompts = export_store["store"], export_store["prompts"]
    result = run(store, tmp_path, format="trl-dpo")
    assert (result.rows, result.version) == (len(export_store["pairs"]), export_store["pairs_version"].id)
    data = load_dataset(str(result.folder), split="train")
    assert data.column_names == ["prompt", "chosen", "rejected", "images", "pair_id", "prompt_id", "pair_type",
                                 "policy", "chosen_rollout_id", "rejected_rollout_id", "margin", "weight"]
    assert isinstance(data.features["images"].feature, Image)
    by_problem = {p["prompt_id"]: p for p in prompts.values()}
    pairs = {p["pair_id"]: p for p in export_store["pairs"]}
    for row in data:
        pair, prompt = pairs[row["pair_id"]], by_problem[row["prompt_id"]]
        user = row["prompt"][-1]
        assert [m["role"] for m in row["prompt"]] == ["user"]
        parts = [part["type"] for part in user["content"]]
        assert parts == ["image"] * len(row["images"]) + ["text"]
        assert row["chosen"] == [{"role": "assistant", "content": pair["chosen"]}]
        assert row["rejected"] == [{"role": "assistant", "content": pair["rejected"]}]
        assert (row["pair_type"], row["margin"], row["weight"]) == (pair["pair_type"], pair["margin"], 1.0)
        assert len(row["images"]) == 1 if prompt["data_type"] == "image" else len(row["images"]) > 1
        if pair["chosen_rollout_id"] == export_store["recorded"][0]["rollout_id"]:
            # the recorded rollout: its prompt text and its frame sampling (4 frames), pixel for pixel
            assert user["content"][-1]["text"] == RECORDED_TEXT
            expected = load_media(prompt["media_uri"], "video", RECORDED_FRAMES).frames
            assert len(row["images"]) == len(expected) == 4
            assert all(np.array_equal(np.asarray(im), frame) for im, frame in zip(row["images"], expected))
        else:
            # imported rollouts record neither: the template's text and the default sampling (2 fps, 3 s clips)
            assert user["content"][-1]["text"] == rendered(prompt)
            if prompt["data_type"] == "video":
                assert len(row["images"]) == len(load_media(prompt["media_uri"], "video", FrameSampling()).frames)
    assert any("no prompt text recorded" in w for w in result.warnings)


def test_trl_dpo_frame_settings_override_and_system_prompt(export_store, tmp_path):
    result = run(export_store["store"], tmp_path, format="trl-dpo", max_frames=2, system_prompt="Be brief.",
                 image_format="jpeg")
    data = load_dataset(str(result.folder), split="train")
    for row in data:
        assert row["prompt"][0] == {"role": "system", "content": [{"type": "text", "text": "Be brief."}]}
        assert len(row["images"]) <= 2 and row["images"][0].format == "JPEG"
    # the recorded rollout saw 4 frames; exporting 2 instead is reported, not hidden
    assert [w for w in result.warnings if "1 row(s) got frames other than their rollout recorded" in w]


def test_text_only_export_keeps_plain_string_contents(export_store, tmp_path):
    result = run(export_store["store"], tmp_path, format="trl-dpo", include_frames=False, limit=2)
    data = load_dataset(str(result.folder), split="train")
    assert "images" not in data.column_names
    assert all(isinstance(row["prompt"][-1]["content"], str) for row in data)


# -- trl-grpo -----------------------------------------------------------------------------------------
@pytest.mark.parametrize("table", ["prompts", "pairs"])
def test_trl_grpo_rows_carry_the_reward_columns(export_store, tmp_path, table):
    store, prompts = export_store["store"], export_store["prompts"]
    result = run(store, tmp_path, format="trl-grpo", table=table, template="veripo")
    data = load_dataset(str(result.folder), split="train")
    assert data.column_names == ["prompt", "images", "prompt_id", "gold", "problem_type", "options", "data_type"]
    by_id = {p["prompt_id"]: p for p in prompts.values()}
    asked = {p["prompt_id"] for p in export_store["pairs"]} if table == "pairs" else set(by_id)
    assert sorted(data["prompt_id"]) == sorted(asked)
    for row in data:
        prompt = by_id[row["prompt_id"]]
        assert row["prompt"][-1]["content"][-1] == {"type": "text", "text": rendered(prompt, "veripo")}
        assert (row["gold"], row["problem_type"], row["options"]) == (prompt["gold"], prompt["problem_type"],
                                                                      prompt["options"])
        assert sum(part["type"] == "image" for part in row["prompt"][-1]["content"]) == len(row["images"]) > 0


# -- verl ---------------------------------------------------------------------------------------------
def verl_messages(row, image_key="images", video_key="videos"):
    """verl's ``RLHFDataset._build_messages``: split the user text on <image>/<video>, one media item each."""
    import re

    images, videos = row.get(image_key) or [], row.get(video_key) or []
    used = {"image": 0, "video": 0}
    for message in row["prompt"]:
        content = []
        for segment in [s for s in re.split("(<image>|<video>)", message["content"]) if s]:
            if segment in ("<image>", "<video>"):
                kind = segment[1:-1]
                item = (images if kind == "image" else videos)[used[kind]]
                content.append({"type": kind, **(item if isinstance(item, dict) else {kind: item})})
                used[kind] += 1
            else:
                content.append({"type": "text", "text": segment})
        message["content"] = content
    assert used == {"image": len(images), "video": len(videos)}, "placeholders and media differ in number"
    return row["prompt"]


def test_verl_parquet_matches_verls_documented_schema(export_store, tmp_path):
    """verl docs (docs/preparation/prepare_data.rst): data_source, prompt (chat messages), ability,
    reward_model {style, ground_truth}, extra_info (index, ...); RLHFDataset reads ``images``/``videos``."""
    store, prompts = export_store["store"], export_store["prompts"]
    result = run(store, tmp_path, format="verl", table="prompts")
    schema = pq.read_schema(result.folder / DATA)
    assert schema.names == ["data_source", "prompt", "ability", "reward_model", "extra_info", "images", "videos"]
    assert schema.field("data_source").type == pa.string() and schema.field("ability").type == pa.string()
    assert schema.field("prompt").type == pa.list_(pa.struct([("role", pa.string()), ("content", pa.string())]))
    assert schema.field("reward_model").type == pa.struct([("style", pa.string()), ("ground_truth", pa.string())])
    extra = schema.field("extra_info").type
    assert extra.field("index").type == pa.int64() and extra.field("prompt_id").type == pa.string()
    video = schema.field("videos").type.value_type
    assert {video.field(i).name for i in range(video.num_fields)} >= {"video", "fps", "max_frames", "max_pixels"}

    data = load_dataset("parquet", data_files=str(result.folder / DATA), split="train")  # as RLHFDataset does
    by_id = {p["prompt_id"]: p for p in prompts.values()}
    assert sorted(data["extra_info"][i]["index"] for i in range(len(data))) == list(range(len(by_id)))
    for row in data:
        prompt = by_id[row["extra_info"]["prompt_id"]]
        assert row["reward_model"] == {"style": "rule", "ground_truth": prompt["gold"]}
        assert row["ability"] == prompt["problem_type"] and row["data_source"] == prompt["data_source"]
        messages = verl_messages(dict(row))
        kinds = [part["type"] for part in messages[-1]["content"]]
        assert kinds == [prompt["data_type"], "text"]
        if prompt["data_type"] == "video":
            assert messages[-1]["content"][0]["video"] == prompt["media_uri"] and not row["images"]
            assert (messages[-1]["content"][0]["fps"], messages[-1]["content"][0]["max_frames"]) == (2.0, 16)
        assert messages[-1]["content"][-1]["text"] == rendered(prompt)


def test_verl_with_frames_uses_one_image_placeholder_per_frame(export_store, tmp_path):
    result = run(export_store["store"], tmp_path, format="verl", table="pairs", include_frames=True, max_frames=4)
    data = load_dataset("parquet", data_files=str(result.folder / DATA), split="train")
    assert "videos" not in data.column_names
    for row in data:
        messages = verl_messages(dict(row))
        assert 1 <= sum(part["type"] == "image" for part in messages[-1]["content"]) <= 4


# -- hf / jsonl: the table itself ---------------------------------------------------------------------
def test_hf_folder_has_card_configs_features_and_lineage(export_store, tmp_path):
    store = export_store["store"]
    result = run(store, tmp_path, format="hf")
    data = load_dataset(str(result.folder), split="train")
    stored = store.read("pairs")
    assert data.column_names == stored.column_names and data.num_rows == stored.num_rows
    assert sorted(data["pair_id"]) == sorted(stored.column("pair_id").to_pylist())
    assert pq.read_schema(result.folder / DATA).field("pair_id").metadata[b"doc"]  # column docs travel along

    meta, body = front_matter(result.folder)
    assert meta["configs"] == [{"config_name": "default", "data_files": [{"split": "train", "path": "data/train-*"}]}]
    assert [f["name"] for f in meta["dataset_info"]["features"]] == stored.column_names
    assert meta["dataset_info"]["splits"][0]["num_examples"] == stored.num_rows
    assert meta["license"] == "other" and "veripo-factory" in meta["tags"]
    assert "pair_type (" not in body and "rows by pair_type: accuracy" in body
    assert export_store["pairs_version"].id in body and "judge-tiny" in body

    lineage = json.loads((result.folder / "lineage.json").read_text())
    assert lineage["exported"] == {"table": "pairs", "version": export_store["pairs_version"].id, "format": "hf",
                                   "split": "train", "rows": stored.num_rows, "file": DATA}
    tables = [(v["depth"], v["table"]) for v in lineage["versions"]]
    assert tables == [(0, "pairs"), (1, "rollouts"), (2, "rollouts"), (3, "prompts")]
    assert lineage["versions"][0]["config"] == {"policy": "veripo", "verifier": "judge-tiny"}


def test_trainer_layout_card_reports_models_and_counts(export_store, tmp_path):
    result = run(export_store["store"], tmp_path, format="trl-dpo")
    meta, body = front_matter(result.folder)
    assert [f["name"] for f in meta["dataset_info"]["features"]][:4] == ["prompt", "chosen", "rejected", "images"]
    assert {"dpo", "video"} <= set(meta["tags"])
    assert "tiny-policy@r1" in body and "written-examples" in body and "pairs by type: accuracy" in body
    assert export_store["rollouts_version"].id in body


def test_jsonl_round_trip(export_store, tmp_path):
    store = export_store["store"]
    result = run(store, tmp_path, format="jsonl", table="rollouts")
    path = result.folder / "data/train-00000-of-00001.jsonl"
    rows = read_jsonl(path)
    stored = store.read("rollouts").to_pylist()
    assert len(rows) == len(stored) == result.rows
    assert list(rows[0]) == list(stored[0])
    for got, want in zip(rows, stored):
        want = {**want, "created_at": want["created_at"].isoformat()}
        assert got == want
    assert load_dataset(str(result.folder), split="train").num_rows == len(stored)


# -- safety and errors --------------------------------------------------------------------------------
def test_output_folder_is_never_clobbered_silently(export_store, tmp_path):
    out = tmp_path / "taken"
    out.mkdir()
    (out / "keep.txt").write_text("mine")
    with pytest.raises(UsageError, match="not empty"):
        run(export_store["store"], tmp_path, format="hf", out=str(out))
    assert (out / "keep.txt").read_text() == "mine"
    run(export_store["store"], tmp_path, format="hf", out=str(out), overwrite=True)
    assert not (out / "keep.txt").exists() and (out / DATA).is_file()
    assert [p.name for p in tmp_path.iterdir() if p.name.startswith(".taken")] == []


def test_missing_media_names_the_row_and_leaves_no_folder(tmp_path, sample_json):
    import shutil

    copy = tmp_path / "sample"
    shutil.copytree(sample_json.parent, copy)  # never touch the repository's own media
    store = Store(tmp_path / "store")
    built = build_export_store(store, copy / sample_json.name)
    users = {p["prompt_id"] for p in built["prompts"].values() if p["media_uri"].endswith("clip_01.mp4")}
    (copy / "media" / "clip_01.mp4").unlink()
    with pytest.raises(MediaError, match=r"pair \w+ \(prompt (\w+)\): .*clip_01.mp4: cannot decode") as failure:
        run(store, tmp_path, format="trl-dpo", out=str(tmp_path / "broken"))
    assert failure.value.args[0].split("(prompt ")[1].split(")")[0] in users
    assert not (tmp_path / "broken").exists()
    assert [p.name for p in tmp_path.iterdir() if p.name.startswith(".broken")] == []


def test_config_refuses_layouts_of_the_wrong_table():
    with pytest.raises(ValueError, match="trl-dpo exports the pairs table"):
        ExportConfig(format="trl-dpo", table="prompts")
    with pytest.raises(ValueError, match="format must be one of"):
        ExportConfig(format="parquet")
    assert ExportConfig(format="verl").include_frames is False
    assert ExportConfig(format="trl-grpo").include_frames is True


def test_empty_store_is_a_usage_error(store, tmp_path):
    with pytest.raises(UsageError, match="no pairs version"):
        run(store, tmp_path, format="trl-dpo")
