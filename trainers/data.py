"""Where a trainer's rows come from: a store version, an exported dataset folder, or a Hub dataset.

From the store, the version is exported with :func:`factory.export.export` (the same code ``factory
export`` runs) into ``<output_dir>/train_data``: a dataset folder with its card and lineage, kept beside
the checkpoint as the record of exactly what was trained on. A folder or a Hub id is loaded with
``datasets.load_dataset`` as a trainer would load it. Either way the rows are the trainer layouts of
:mod:`factory.export.layouts` (``trl-dpo``, ``trl-grpo``).
"""

from __future__ import annotations

import json
import shutil
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from factory.errors import UsageError
from factory.export import ExportConfig, export
from factory.store import Store
from trainers.settings import TrainSettings, main_process_first

TRAIN_DATA = "train_data"


@dataclass
class TrainData:
    """The rows a stage trains on and where they came from (recorded in the checkpoint)."""

    dataset: Any
    """A ``datasets.Dataset``."""
    source: dict[str, Any] = field(default_factory=dict)
    """``kind`` (store, folder, hub) and, for the store, ``store``, ``table`` and ``version``."""

    @property
    def version(self) -> str | None:
        return self.source.get("version")


def export_settings(settings: TrainSettings, *, format: str, table: str, vision: bool) -> ExportConfig:
    """The export of ``settings``' store version in ``format`` (frames as images for vision policies)."""
    include = settings.include_frames if settings.include_frames is not None else vision
    if include and not vision:
        raise UsageError("include_frames is set but the policy is text-only; leave include_frames unset or false")
    return ExportConfig(format=format, table=table, version=settings.version, include_frames=include,
                        fps=settings.fps, min_frames=settings.min_frames, max_frames=settings.max_frames,
                        max_pixels=settings.max_pixels, template=settings.template,
                        system_prompt=settings.system_prompt, limit=settings.limit, overwrite=True)


def from_store(store: Store, settings: TrainSettings, out: Path, *, format: str, table: str,
               vision: bool) -> TrainData:
    """Export ``table`` version ``settings.version`` to ``out`` in ``format`` and load it (the main process
    exports; with several processes the others load what it wrote)."""
    config = export_settings(settings, format=format, table=table, vision=vision)
    config.out = str(out)
    warnings: list[str] = []
    with main_process_first() as main:
        if main:
            if out.exists():
                shutil.rmtree(out)
            warnings = list(export(store, config, show_progress=False).warnings)
        data = _load_folder(out, config.split)
    source = {**folder_source(out), "kind": "store", "store": store.url, "rows": len(data), "warnings": warnings}
    return TrainData(data, source)


def _load_folder(folder: Path, split: str):
    from datasets import load_dataset

    return load_dataset(str(folder), split=split)


def folder_source(folder: Path) -> dict[str, Any]:
    """What an exported folder's ``lineage.json`` says it holds: table, version, format, template, frames."""
    source: dict[str, Any] = {"kind": "folder", "folder": str(folder.resolve())}
    lineage = folder / "lineage.json"
    if lineage.is_file():
        record = json.loads(lineage.read_text())
        exported, used = record.get("exported", {}), record.get("export_config", {})
        source.update(table=exported.get("table"), version=exported.get("version"), format=exported.get("format"),
                      template=used.get("template"),
                      export={k: used.get(k) for k in ("include_frames", "fps", "min_frames", "max_frames",
                                                       "max_pixels")})
    return source


def from_dataset(settings: TrainSettings) -> TrainData:
    """Load ``settings.dataset``: an exported folder (its lineage names the store version) or a Hub id."""
    from datasets import load_dataset

    name = str(settings.dataset)
    folder = Path(name)
    if folder.is_dir():
        data = _load_folder(folder, settings.dataset_split)
        source = folder_source(folder)
    else:
        try:
            data = load_dataset(name, split=settings.dataset_split)
        except Exception as exc:  # datasets raises many kinds for a missing or private repo
            raise UsageError(f"cannot load dataset {name!r} (split {settings.dataset_split}): {exc}") from None
        source = {"kind": "hub", "dataset": name, "split": settings.dataset_split}
    if settings.limit is not None:
        data = data.select(range(min(settings.limit, len(data))))
    return TrainData(data, source)


def load_train_data(store: Store | None, settings: TrainSettings, out: Path, *, format: str, table: str,
                    vision: bool) -> TrainData:
    """The stage's rows: ``settings.dataset`` when set, else ``table`` from the store exported as ``format``."""
    if settings.dataset:
        data = from_dataset(settings)
        if "images" in data.dataset.column_names and not vision:
            raise UsageError(f"dataset {settings.dataset} has frames (an images column) but the policy "
                             f"{settings.model} is text-only; export it with --no-frames or use a vision model")
        return data
    if store is None:
        raise UsageError("no training data: set dataset (an exported folder or Hub id), or give a store")
    manifest = store.resolve(table, settings.version)
    if manifest is None or manifest.row_count == 0:
        what = f"{table} version {manifest.id} is empty" if manifest else f"store {store.url} has no {table} version"
        raise UsageError(f"nothing to train on: {what}; name another with --version")
    return from_store(store, settings, out / TRAIN_DATA, format=format, table=table, vision=vision)


def require_columns(data: TrainData, columns: tuple[str, ...], what: str) -> None:
    missing = [c for c in columns if c not in data.dataset.column_names]
    if missing:
        where = data.source.get("folder") or data.source.get("dataset") or "the dataset"
        raise UsageError(f"{where} lacks column(s) {missing} that {what} needs; export it with the matching "
                         "`factory export --format`")
