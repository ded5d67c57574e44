"""Pushing an export to the Hub, against a RECORDED FAKE of huggingface_hub (the Hub cannot be reached here).

``HfApi.create_repo``, ``upload_folder`` and ``create_tag`` are monkeypatched to record their arguments
(and, for the upload, the files as they are at that moment); nothing goes over the network. What is
checked is the sequence of calls, their arguments, and that no token ends up in the folder.
"""

from types import SimpleNamespace

import huggingface_hub
import pytest
from huggingface_hub.errors import HfHubHTTPError

from factory.errors import UsageError
from factory.export import ExportConfig, HubError, export, push

SECRET = "hf_secret_token_value_never_written"


@pytest.fixture
def hub(monkeypatch):
    """Records every HfApi call the push makes; ``hub.fail`` makes one step answer with an HTTP status."""
    calls = []
    state = SimpleNamespace(calls=calls, fail={}, uploaded={})

    def answer(step):
        if step in state.fail:
            raise HfHubHTTPError(f"{step} failed", response=SimpleNamespace(status_code=state.fail[step],
                                                                                headers={}, request=None))

    def init(self, endpoint=None, token=None, **kwargs):
        calls.append(("HfApi", {"token": token}))

    def create_repo(self, repo_id, **kwargs):
        calls.append(("create_repo", {"repo_id": repo_id, **kwargs}))
        answer("create_repo")

    def upload_folder(self, **kwargs):
        calls.append(("upload_folder", kwargs))
        answer("upload_folder")
        from pathlib import Path

        folder = Path(kwargs["folder_path"])
        state.uploaded = {str(p.relative_to(folder)): p.read_bytes() for p in folder.rglob("*") if p.is_file()}
        return SimpleNamespace(oid="c0ffee" * 6 + "abcd", commit_url="https://example/commit")

    def create_tag(self, repo_id, **kwargs):
        calls.append(("create_tag", {"repo_id": repo_id, **kwargs}))
        answer("create_tag")

    monkeypatch.setattr(huggingface_hub.HfApi, "__init__", init)
    monkeypatch.setattr(huggingface_hub.HfApi, "create_repo", create_repo)
    monkeypatch.setattr(huggingface_hub.HfApi, "upload_folder", upload_folder)
    monkeypatch.setattr(huggingface_hub.HfApi, "create_tag", create_tag)
    return state


def test_export_pushes_the_folder_and_tags_it_with_the_version(export_store, tmp_path, hub, monkeypatch):
    monkeypatch.setenv("HF_TOKEN", SECRET)
    version = export_store["pairs_version"].id
    config = ExportConfig(format="trl-dpo", out=str(tmp_path / "dpo"), push="me/veripo-pairs", private=True)
    result = export(export_store["store"], config, show_progress=False)
    names = [name for name, _ in hub.calls]
    assert names == ["HfApi", "create_repo", "upload_folder", "create_tag"]
    calls = dict(hub.calls)
    assert calls["HfApi"] == {"token": None}  # huggingface_hub reads HF_TOKEN / the stored login itself
    assert calls["create_repo"] == {"repo_id": "me/veripo-pairs", "repo_type": "dataset", "private": True,
                                    "exist_ok": True}
    upload = calls["upload_folder"]
    assert (upload["repo_id"], upload["repo_type"], upload["folder_path"]) == (
        "me/veripo-pairs", "dataset", str(result.folder))
    assert calls["create_tag"]["tag"] == version and calls["create_tag"]["revision"] == "c0ffee" * 6 + "abcd"
    assert calls["create_tag"]["repo_type"] == "dataset"
    assert set(hub.uploaded) == {"README.md", "lineage.json", "data/train-00000-of-00001.parquet"}
    assert all(SECRET.encode() not in content for content in hub.uploaded.values())
    assert 'load_dataset("me/veripo-pairs"' in hub.uploaded["README.md"].decode()
    assert result.pushed == f"https://huggingface.co/datasets/me/veripo-pairs/tree/{version}"


def test_push_passes_an_explicit_token_to_the_client_only(export_store, tmp_path, hub):
    result = export(export_store["store"], ExportConfig(format="hf", out=str(tmp_path / "hf")), show_progress=False)
    push(result.folder, "me/x", tag="v1", token=SECRET)
    assert dict(hub.calls)["HfApi"] == {"token": SECRET}
    assert dict(hub.calls)["create_tag"]["tag"] == "v1"
    assert all(SECRET not in p.read_text(errors="ignore") for p in result.folder.rglob("*") if p.is_file())


def test_an_existing_tag_is_never_moved(export_store, tmp_path, hub):
    result = export(export_store["store"], ExportConfig(format="hf", out=str(tmp_path / "hf")), show_progress=False)
    hub.fail["create_tag"] = 409
    with pytest.raises(UsageError, match="already has tag 'v1'"):
        push(result.folder, "me/x", tag="v1")
    hub.fail = {"upload_folder": 403}
    with pytest.raises(HubError, match="refused to upload the folder.*HF_TOKEN"):
        push(result.folder, "me/x", tag="v2")


def test_push_refuses_a_folder_that_is_not_an_export(tmp_path, hub):
    with pytest.raises(UsageError, match="not an exported dataset folder"):
        push(tmp_path, "me/x", tag="v1")
    assert hub.calls == []
