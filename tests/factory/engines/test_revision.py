import json

from factory.engines.revision import CHECKPOINT_RECORD, model_revision


def test_local_folder_is_pinned_by_weights_then_by_its_record(tmp_path):
    (tmp_path / "model.safetensors").write_bytes(b"weights v1")
    first = model_revision(str(tmp_path), None)
    assert len(first) == 16 and model_revision(str(tmp_path), None) == first
    (tmp_path / "model.safetensors").write_bytes(b"weights v2")  # retrained in place
    assert model_revision(str(tmp_path), None) != first
    (tmp_path / CHECKPOINT_RECORD).write_text(json.dumps({"revision": "dpo-iter1-abc"}))
    assert model_revision(str(tmp_path), None) == "dpo-iter1-abc"
    assert model_revision(str(tmp_path), "given") == "given"


def test_hub_ids_are_not_pinned_here():
    assert model_revision("Qwen/Qwen2.5-VL-7B-Instruct", None) is None
    assert model_revision("Qwen/Qwen2.5-VL-7B-Instruct", "abc123") == "abc123"
