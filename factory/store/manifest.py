"""Dataset-version manifests: the only thing that makes a set of part files a version.

A manifest is a small JSON file written atomically (temporary name, then rename) *after* every part it
lists is in place, so a crash can never leave a half version visible.
"""

from __future__ import annotations

import json
from dataclasses import asdict, dataclass, field
from datetime import datetime, timezone
from typing import Any

from schemas import canonical_json, content_key


@dataclass(frozen=True)
class PartInfo:
    """One immutable Parquet part file, path relative to the store root."""

    path: str
    rows: int
    bytes: int
    sha256: str


@dataclass(frozen=True)
class ParentRef:
    """A version this one was built from (same table for appends, other tables for lineage)."""

    table: str
    version: str


@dataclass(frozen=True)
class Manifest:
    """What one dataset version is, who built it and how (SPEC section 3)."""

    id: str
    seq: int
    table: str
    stage: str
    mode: str
    run_key: str
    parents: list[ParentRef]
    config: dict[str, Any]
    code_version: str
    schema_version: int
    row_count: int
    parts: list[PartInfo]
    created_at: str
    notes: dict[str, Any] = field(default_factory=dict)

    @staticmethod
    def make(*, seq: int, table: str, stage: str, mode: str, run_key: str, parents: list[ParentRef],
             config: dict[str, Any], code_version: str, schema_version: int, parts: list[PartInfo],
             notes: dict[str, Any] | None = None) -> "Manifest":
        created = datetime.now(timezone.utc).isoformat(timespec="microseconds")
        digest = content_key("version", {"table": table, "parts": [p.path for p in parts],
                                         "parents": [asdict(p) for p in parents], "created": created,
                                         "config": json.loads(canonical_json(config))})[:8]
        return Manifest(id=f"{seq:04d}-{digest}", seq=seq, table=table, stage=stage, mode=mode,
                        run_key=run_key, parents=parents, config=config, code_version=code_version,
                        schema_version=schema_version, row_count=sum(p.rows for p in parts), parts=parts,
                        created_at=created, notes=notes or {})

    def to_json(self) -> str:
        return json.dumps(asdict(self), indent=2, sort_keys=True, default=str)

    @staticmethod
    def from_json(text: str) -> "Manifest":
        raw = json.loads(text)
        raw["parts"] = [PartInfo(**p) for p in raw["parts"]]
        raw["parents"] = [ParentRef(**p) for p in raw["parents"]]
        return Manifest(**raw)

    @property
    def base(self) -> str | None:
        """The same-table version this one extends, if any."""
        return next((p.version for p in self.parents if p.table == self.table), None)
