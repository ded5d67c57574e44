"""The revision recorded for a policy, so a retrained checkpoint at the same path gets new rollout ids."""

from __future__ import annotations

import hashlib
import json
from pathlib import Path

CHECKPOINT_RECORD = "veripo_checkpoint.json"  # written by the trainers package next to each checkpoint


def weights_hash(folder: str | Path) -> str:
    """SHA-256 (16 hex) over the weight files of a local model folder, in name order."""
    digest = hashlib.sha256()
    files = sorted(p for p in Path(folder).iterdir() if p.suffix in (".safetensors", ".bin") and p.is_file())
    for path in files:
        digest.update(path.name.encode())
        with path.open("rb") as handle:
            for chunk in iter(lambda: handle.read(1 << 22), b""):
                digest.update(chunk)
    return digest.hexdigest()[:16]


def model_revision(name: str, revision: str | None) -> str | None:
    """The given revision; for a local folder without one, its checkpoint record's, else its weights hash.

    Hub ids without a revision stay None (the Hub's latest commit is not pinned here).
    """
    if revision:
        return revision
    folder = Path(name)
    if not folder.is_dir():
        return None
    record = folder / CHECKPOINT_RECORD
    if record.is_file():
        try:
            recorded = json.loads(record.read_text()).get("revision")
        except (json.JSONDecodeError, AttributeError):
            recorded = None
        if recorded:
            return str(recorded)
    return weights_hash(folder)
