"""Reading task data: Video-R1 JSON/JSONL, Parquet, or a Hugging Face dataset saved to disk."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

from factory.errors import UsageError

FORMATS = ("auto", "json", "jsonl", "parquet", "hf")


def detect_format(path: Path) -> str:
    if path.is_dir():
        if (path / "dataset_info.json").exists() or (path / "dataset_dict.json").exists() \
                or (path / "state.json").exists():
            return "hf"
        raise UsageError(f"{path} is a folder but not a Hugging Face dataset saved with save_to_disk")
    suffix = path.suffix.lower()
    if suffix == ".jsonl":
        return "jsonl"
    if suffix == ".json":
        return "json"
    if suffix == ".parquet":
        return "parquet"
    raise UsageError(f"cannot tell the format of {path} from its name; pass --format json|jsonl|parquet|hf")


def read_rows(path: Path, fmt: str = "auto", *, split: str | None = None) -> Iterator[tuple[int, Any]]:
    """Yield ``(row_number, row)``; a row that is not an object is yielded as is for the caller to name."""
    if not path.exists():
        raise UsageError(f"input {path} does not exist")
    fmt = detect_format(path) if fmt == "auto" else fmt
    if fmt == "json":
        try:
            data = json.loads(path.read_text())
        except json.JSONDecodeError as exc:
            raise UsageError(f"{path}: not valid JSON ({exc}); for one object per line use .jsonl") from None
        if isinstance(data, dict):
            data = next((v for v in data.values() if isinstance(v, list)), None) or [data]
        yield from enumerate(data)
    elif fmt == "jsonl":
        with open(path) as handle:
            for number, line in enumerate(handle):
                if not line.strip():
                    continue
                try:
                    yield number, json.loads(line)
                except json.JSONDecodeError as exc:
                    yield number, ValueError(f"not valid JSON: {exc}")
    elif fmt == "parquet":
        import pyarrow.parquet as pq

        yield from enumerate(pq.read_table(path).to_pylist())
    elif fmt == "hf":
        import datasets

        loaded = datasets.load_from_disk(str(path))
        if isinstance(loaded, datasets.DatasetDict):
            if split is None:
                if len(loaded) != 1:
                    raise UsageError(f"{path} has splits {list(loaded)}; choose one with --split")
                split = next(iter(loaded))
            if split not in loaded:
                raise UsageError(f"{path} has no split {split!r}; splits: {list(loaded)}")
            loaded = loaded[split]
        yield from enumerate(loaded)
    else:
        raise UsageError(f"unknown format {fmt!r}; use one of {', '.join(FORMATS)}")
