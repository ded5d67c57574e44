"""``factory export``: one dataset version out of the store, as a Hugging Face dataset folder.

The folder is built under a temporary name beside ``out`` and renamed into place when complete, so a
failed export never leaves a half folder where a finished one is expected. Rows are written a batch at a
time (frames make trainer rows large), as one Parquet file with small row groups, or as JSON lines.
"""

from __future__ import annotations

import json
import shutil
import tempfile
from collections import Counter
from collections.abc import Iterable, Iterator
from datetime import date, datetime
from pathlib import Path
from typing import Any

import pyarrow as pa
import pyarrow.parquet as pq
from datasets import Dataset, Features

from factory.errors import UsageError
from factory.export.build import build
from factory.export.card import CardFacts, write_card
from factory.export.config import ExportConfig, ExportResult
from factory.export.hub import push
from factory.export.sources import exported_version, table_batches
from factory.progress import progress_bar
from factory.store import Manifest, Store

ROWS_PER_GROUP = 64  # small row groups: trainer rows carry frames, and readers load a group at a time
# Columns whose value counts the card reports for a table exported as is.
_COUNTED = {"pairs": ("pair_type", "policy", "verifier"), "prompts": ("problem_type", "data_type", "data_source"),
            "rollouts": ("policy_model", "reward_profile", "status"), "verdicts": ("verifier", "status", "label")}


def default_out(manifest: Manifest, config: ExportConfig) -> Path:
    return Path("exports") / f"{manifest.table}-{manifest.id}-{config.format}"


def _data_name(config: ExportConfig) -> str:
    suffix = "jsonl" if config.format == "jsonl" else "parquet"
    return f"data/{config.split}-00000-of-00001.{suffix}"


def _batches(rows: Iterable[dict[str, Any]], size: int) -> Iterator[list[dict[str, Any]]]:
    batch: list[dict[str, Any]] = []
    for row in rows:
        batch.append(row)
        if len(batch) == size:
            yield batch
            batch = []
    if batch:
        yield batch


def write_layout(path: Path, features: Features, rows: Iterable[dict[str, Any]], advance) -> int:
    """Rows encoded by ``features`` into one Parquet file (with the features in its metadata); row count."""
    schema = features.arrow_schema  # carries the "huggingface" metadata that restores Image columns
    written = 0
    with pq.ParquetWriter(path, schema) as writer:
        for batch in _batches(rows, ROWS_PER_GROUP):
            table = Dataset.from_list(batch, features=features).data.table
            writer.write_table(table.cast(schema), row_group_size=ROWS_PER_GROUP)
            written += len(batch)
            advance(len(batch))
    if not written:
        pq.write_table(schema.empty_table(), path)
    return written


def _json_value(value: Any) -> Any:
    if isinstance(value, (datetime, date)):
        return value.isoformat()
    if isinstance(value, list):
        return [_json_value(v) for v in value]
    if isinstance(value, dict):
        return {k: _json_value(v) for k, v in value.items()}
    return value


def _jsonl_schema(schema: pa.Schema) -> pa.Schema:
    """The schema of the rows as JSON gives them back: timestamps become ISO text, docs are kept."""
    fields = [pa.field(f.name, pa.string(), f.nullable, f.metadata) if pa.types.is_timestamp(f.type) else f
              for f in schema]
    return pa.schema(fields)


def write_table(path: Path, batches: Iterable[pa.Table], *, jsonl: bool, counts: dict[str, Counter],
                counted: tuple[str, ...], advance) -> tuple[int, pa.Schema | None]:
    """The table's own rows (every column) as Parquet (column docs kept) or JSON lines; count, schema."""
    written, schema, writer = 0, None, None
    handle = path.open("w", encoding="utf-8") if jsonl else None
    try:
        for table in batches:
            schema = schema or table.schema
            for column in counted:
                counts[f"rows by {column}"].update(v if v is not None else "(none)"
                                                   for v in table.column(column).to_pylist())
            if jsonl:
                for row in table.to_pylist():
                    handle.write(json.dumps(_json_value(row), ensure_ascii=False) + "\n")
            else:
                writer = writer or pq.ParquetWriter(path, table.schema)
                writer.write_table(table)
            written += table.num_rows
            advance(table.num_rows)
    finally:
        if handle is not None:
            handle.close()
        if writer is not None:
            writer.close()
    return written, schema


def _prepare(out: Path, overwrite: bool) -> Path:
    if out.exists() and (not out.is_dir() or any(out.iterdir())) and not overwrite:
        raise UsageError(f"output folder {out} exists and is not empty; choose another --out or pass --overwrite")
    out.parent.mkdir(parents=True, exist_ok=True)
    work = Path(tempfile.mkdtemp(prefix=f".{out.name}.", dir=out.parent))
    (work / "data").mkdir()
    return work


def export(store: Store, config: ExportConfig, *, show_progress: bool = True, token: str | None = None) -> ExportResult:
    """Write ``config.table`` version ``config.version`` as a dataset folder in ``config.format``; push if asked.

    Raises :class:`UsageError` for a missing version or a non-empty ``out``, :class:`~factory.errors.MediaError`
    naming the row when a frame cannot be decoded, and :class:`~factory.errors.StoreError` when a pair's
    prompt is missing from its lineage. ``token`` is for the push only (default: HF_TOKEN or the stored login).
    """
    manifest = exported_version(store, config.table, config.version)
    out = Path(config.out) if config.out else default_out(manifest, config)
    work = _prepare(out, config.overwrite)
    data_name = _data_name(config)
    try:
        if config.format in ("hf", "jsonl"):
            from schemas import table_spec

            counts: dict[str, Counter] = {f"rows by {c}": Counter() for c in _COUNTED[manifest.table]}
            total = manifest.row_count if config.limit is None else min(manifest.row_count, config.limit)
            with progress_bar(f"exporting {manifest.table}", total=total, enabled=show_progress) as advance:
                rows, schema = write_table(work / data_name, table_batches(store, manifest, config.limit),
                                           jsonl=config.format == "jsonl", counts=counts,
                                           counted=_COUNTED[manifest.table], advance=advance)
            schema = schema or table_spec(manifest.table).with_version_metadata()
            if config.format == "jsonl":
                schema = _jsonl_schema(schema)
            if not rows and config.format == "hf":
                pq.write_table(schema.empty_table(), work / data_name)
            features = Features.from_arrow_schema(schema)
            card = CardFacts(rows, data_name, (work / data_name).stat().st_size, counts)
        else:
            built = build(store, manifest, config)
            with progress_bar(f"exporting {config.format}", total=built.total, enabled=show_progress) as advance:
                rows = write_layout(work / data_name, built.features, built.rows, advance)
            features = built.features
            sources = {name: m.id for name, m in (("prompts", built.sources.prompts),
                                                  ("rollouts", built.sources.rollouts)) if m is not None}
            card = CardFacts(rows, data_name, (work / data_name).stat().st_size, built.counts, built.facts,
                             sources, built.warnings)
        files = [data_name] + write_card(work, store, manifest, config, features, card,
                                         where=config.push or str(out.resolve()))
        if out.is_dir():
            shutil.rmtree(out)
        elif out.exists():
            out.unlink()
        work.rename(out)
    except BaseException:
        shutil.rmtree(work, ignore_errors=True)
        raise
    result = ExportResult(out, config.format, manifest.table, manifest.id, rows, files, card.warnings)
    if config.push:
        result.pushed = push(out, config.push, tag=config.tag or manifest.id, token=token, private=config.private)
    return result
