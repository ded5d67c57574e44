"""Upload an exported folder to the Hugging Face Hub as a dataset repo, tagged with its dataset version.

The token is whatever ``huggingface_hub`` finds (``token=`` argument, ``HF_TOKEN``, or the one ``hf auth
login`` stored); it is passed to the client only and never written into the folder, the card or any log.
"""

from __future__ import annotations

from pathlib import Path

from factory.errors import FactoryError, UsageError


class HubError(FactoryError):
    """The Hub refused or failed an upload step."""


def push(folder: str | Path, repo_id: str, *, tag: str, token: str | None = None, private: bool = False,
         message: str | None = None) -> str:
    """Create (if needed) the dataset repo ``repo_id``, upload ``folder`` in one commit, tag that commit ``tag``.

    Returns the URL of the tagged revision. A tag that already exists is an error naming it (tags name
    dataset versions, so one must never move); pass another ``tag`` to publish the folder again.
    """
    from huggingface_hub import HfApi
    from huggingface_hub.errors import HfHubHTTPError

    folder = Path(folder)
    if not (folder / "README.md").is_file():
        raise UsageError(f"{folder} is not an exported dataset folder (no README.md); run the export first")
    api = HfApi(token=token)
    step = "create the repo"
    try:
        api.create_repo(repo_id, repo_type="dataset", private=private, exist_ok=True)
        step = "upload the folder"
        commit = api.upload_folder(repo_id=repo_id, repo_type="dataset", folder_path=str(folder),
                                   commit_message=message or f"veripo-factory export {tag}")
        step = f"create tag {tag!r}"
        api.create_tag(repo_id, repo_type="dataset", tag=tag, revision=commit.oid,
                       tag_message=message or f"veripo-factory dataset version {tag}")
    except HfHubHTTPError as exc:
        status = getattr(exc.response, "status_code", None)
        if status == 409 and step.startswith("create tag"):
            raise UsageError(f"dataset repo {repo_id} already has tag {tag!r}; tags name dataset versions and "
                             "are never moved: pass another tag to publish this folder again") from None
        if status in (401, 403):
            raise HubError(f"Hub refused to {step} for {repo_id} (HTTP {status}): set HF_TOKEN or run "
                           "`hf auth login` with a token that may write to it") from None
        raise HubError(f"Hub failed to {step} for {repo_id}: {exc}") from None
    return f"https://huggingface.co/datasets/{repo_id}/tree/{tag}"
