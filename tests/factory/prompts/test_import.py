"""Prompt import from each source format, with each kind of bad row named by file and row."""

import json

import av
import numpy as np
import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from factory.errors import InvalidRows, UsageError
from factory.prompts import ImportConfig, import_prompts


def write_clip(path, frames=4):
    with av.open(str(path), "w") as container:
        stream = container.add_stream("libx264", rate=4)
        stream.width, stream.height, stream.pix_fmt = 32, 32, "yuv420p"
        for i in range(frames):
            image = np.zeros((32, 32, 3), np.uint8)
            image[:, i * 4:(i * 4) + 8] = 255
            for packet in stream.encode(av.VideoFrame.from_ndarray(image, format="rgb24")):
                container.mux(packet)
        for packet in stream.encode():
            container.mux(packet)


GOOD = [
    dict(problem_id=1, problem="Which way does the bar move?", data_type="video", problem_type="multiple choice",
         options=["A. left", "B. right"], solution="<answer>B</answer>", path="media/clip.mp4", data_source="t"),
    dict(problem_id=2, problem="How many bars?", data_type="video", problem_type="numerical", options=[],
         solution="<answer>1</answer>", path="media/clip.mp4", data_source="t"),
    dict(problem_id=3, problem="Spell it", problem_type="OCR", options=[], solution="<answer>ABC</answer>",
         data_source="t"),
]


@pytest.fixture
def task_dir(tmp_path):
    (tmp_path / "media").mkdir()
    write_clip(tmp_path / "media" / "clip.mp4")
    (tmp_path / "media" / "broken.mp4").write_bytes(b"\x00\x00\x00\x18ftypmp42 not really")
    return tmp_path


def write_json(path, rows):
    path.write_text(json.dumps(rows))
    return path


def test_good_rows_import_with_media_hash_and_parsed_gold(store, task_dir):
    result = import_prompts(store, write_json(task_dir / "t.json", GOOD), ImportConfig(), show_progress=False)
    assert result.written == 3 and not result.problems
    rows = {r["problem_id"]: r for r in store.read("prompts").to_pylist()}
    assert rows["1"]["gold"] == "B" and rows["1"]["data_type"] == "video"
    assert rows["1"]["media_sha256"] == rows["2"]["media_sha256"] and len(rows["1"]["media_sha256"]) == 64
    assert rows["2"]["gold_numeric"] == 1.0
    assert rows["3"]["data_type"] == "text" and rows["3"]["media_uri"] is None
    assert rows["3"]["source_file"].endswith("t.json") and rows["3"]["source_row"] == 2


def test_reimport_is_idempotent(store, task_dir):
    source = write_json(task_dir / "t.json", GOOD)
    first = import_prompts(store, source, ImportConfig(), show_progress=False)
    again = import_prompts(store, source, ImportConfig(), show_progress=False)
    assert again.written == 0 and again.already_present == 3 and again.version.id == first.version.id
    assert store.read("prompts").num_rows == 3


BAD = [
    (dict(problem_id=10, problem_type="OCR", solution="x"), 0, "problem", "is missing"),
    (dict(problem_id=11, problem="q", problem_type="essay", solution="x"), 1, "problem_type", "unknown problem type 'essay'"),
    (dict(problem_id=12, problem="q", problem_type="multiple choice", options=["A. x", "B. y"],
          solution="<answer>E</answer>"), 2, "solution", "not one of the option letters ['A', 'B']"),
    (dict(problem_id=13, problem="q", problem_type="OCR", solution="x", path="media/none.mp4", data_type="video"),
     3, "path", "does not exist"),
    (dict(problem_id=14, problem="q", problem_type="OCR", solution="x", path="media/broken.mp4", data_type="video"),
     4, "path", "cannot be decoded as video"),
    (dict(problem_id=1, problem="a different question", problem_type="OCR", solution="x", data_source="t"),
     5, "problem_id", "already used for different content"),
]


def test_every_kind_of_bad_row_is_named_and_fail_writes_nothing(store, task_dir):
    source = write_json(task_dir / "bad.json", [GOOD[0], *[row for row, *_ in BAD]])
    with pytest.raises(InvalidRows) as info:
        import_prompts(store, source, ImportConfig(on_error="fail"), show_progress=False)
    lines = info.value.lines()
    assert len(lines) == len(BAD)
    for (_, row, field, text), line in zip(BAD, lines):
        assert f"bad.json row {row + 1}" in line and f"field '{field}'" in line and text in line, line
    assert store.latest("prompts") is None
    assert not list((task_dir / "store").rglob("*.parquet")) if (task_dir / "store").exists() else True


def test_skip_writes_the_good_rows_and_reports_the_bad(store, task_dir):
    source = write_json(task_dir / "bad.json", [GOOD[0], *[row for row, *_ in BAD]])
    result = import_prompts(store, source, ImportConfig(on_error="skip"), show_progress=False)
    assert result.written == 1 and len(result.problems) == len(BAD)
    assert store.read("prompts").column("problem_id").to_pylist() == ["1"]


def test_conflict_with_a_row_already_in_the_store(store, task_dir):
    import_prompts(store, write_json(task_dir / "a.json", GOOD), ImportConfig(), show_progress=False)
    changed = [dict(GOOD[2], solution="<answer>XYZ</answer>")]
    with pytest.raises(InvalidRows, match="id '3' was already used for different content"):
        import_prompts(store, write_json(task_dir / "b.json", changed), ImportConfig(), show_progress=False)


def test_jsonl_parquet_and_hf_dataset_give_the_same_prompts(store, task_dir, tmp_path_factory):
    import datasets

    jsonl = task_dir / "t.jsonl"
    jsonl.write_text("\n".join(json.dumps(r) for r in GOOD) + "\n")
    parquet = task_dir / "t.parquet"
    pq.write_table(pa.Table.from_pylist([dict(r, options=r.get("options", [])) for r in GOOD]), parquet)
    hf_dir = task_dir / "hf"
    datasets.Dataset.from_list([dict(r, options=r.get("options", []), path=r.get("path", "")) for r in GOOD]) \
        .save_to_disk(str(hf_dir))
    ids = []
    for source in (jsonl, parquet, hf_dir):
        from factory.store import Store

        fresh = Store(tmp_path_factory.mktemp("s"))
        import_prompts(fresh, source, ImportConfig(media_root=str(task_dir)), show_progress=False)
        ids.append(sorted(fresh.read("prompts").column("prompt_id").to_pylist()))
    assert ids[0] == ids[1] == ids[2] and len(ids[0]) == 3


def test_bad_jsonl_line_is_named(store, task_dir):
    source = task_dir / "t.jsonl"
    source.write_text(json.dumps(GOOD[2]) + "\n{not json\n")
    with pytest.raises(InvalidRows, match=r"t.jsonl row 1: field '\(row\)': not valid JSON"):
        import_prompts(store, source, ImportConfig(), show_progress=False)


def test_unknown_input_format_is_a_usage_error(store, tmp_path):
    (tmp_path / "t.csv").write_text("a,b")
    with pytest.raises(UsageError, match="cannot tell the format"):
        import_prompts(store, tmp_path / "t.csv", ImportConfig(), show_progress=False)
