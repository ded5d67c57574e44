"""The dataset card (``README.md``) and lineage manifest (``lineage.json``) of an exported folder.

The card's YAML front matter is what the Hub and ``datasets.load_dataset(folder)`` read: ``configs``
(which files form which split) and ``dataset_info`` (features and sizes), plus license and tags. Its body
says how the rows were made, from the rows themselves and from the manifests of every version they
descend from; ``lineage.json`` holds those manifests whole.
"""

from __future__ import annotations

import json
from collections import Counter
from dataclasses import dataclass, field
from datetime import datetime, timezone
from pathlib import Path
from typing import Any

from datasets import DatasetInfo, Features, Image, LargeList, List, Value
from datasets.info import DatasetInfosDict
from datasets.splits import SplitDict, SplitInfo
from datasets.utils.metadata import MetadataConfigs
from huggingface_hub import DatasetCard, DatasetCardData

from factory.config import config_dict
from factory.export.config import ExportConfig
from factory.export.layouts import COLUMN_DOCS
from factory.store import Manifest, Store
from factory.version import code_version
from schemas import table_spec

# Config keys worth a line in the card's lineage table (the whole config is in lineage.json).
_NOTABLE = ("model", "judge", "verifier", "policy", "profile", "template", "revision", "engine", "source")
_TAGS = {"trl-dpo": ["dpo", "preference"], "trl-grpo": ["grpo", "rl"], "verl": ["verl", "rl"],
         "hf": [], "jsonl": []}
_USAGE = {
    "trl-dpo": """```python
from datasets import load_dataset
from transformers import AutoModelForImageTextToText, AutoProcessor
from trl import DPOConfig, DPOTrainer

data = load_dataset("{where}", split="{split}")
model = AutoModelForImageTextToText.from_pretrained(POLICY)
trainer = DPOTrainer(model=model, args=DPOConfig(output_dir="dpo", beta=0.1, learning_rate=5e-7),
                     train_dataset=data, processing_class=AutoProcessor.from_pretrained(POLICY))
trainer.train()
```""",
    "trl-grpo": """```python
from datasets import load_dataset
from trl import GRPOConfig, GRPOTrainer
from factory.rewards.trl_reward import make_reward_funcs  # the factory's reward profiles

data = load_dataset("{where}", split="{split}")
trainer = GRPOTrainer(model=POLICY, args=GRPOConfig(output_dir="grpo", num_generations=8),
                      train_dataset=data, reward_funcs=make_reward_funcs("veripo"))
trainer.train()
```""",
    "verl": """Point verl at the Parquet file: `data.train_files={data_file}` (prompt_key `prompt`, image_key
`images`, video_key `videos`), with a custom reward function that reads `reward_model.ground_truth` and
`extra_info` (problem_type, options).""",
    "hf": """```python
from datasets import load_dataset
data = load_dataset("{where}", split="{split}")
```""",
}
_USAGE["jsonl"] = _USAGE["hf"]


@dataclass
class CardFacts:
    """What the card reports beyond the manifests."""

    rows: int
    data_file: str
    data_bytes: int
    counts: dict[str, Counter] = field(default_factory=dict)
    facts: dict[str, Any] = field(default_factory=dict)
    sources: dict[str, str] = field(default_factory=dict)
    warnings: list[str] = field(default_factory=list)


def lineage_document(store: Store, manifest: Manifest, config: ExportConfig, card: CardFacts) -> dict[str, Any]:
    """``lineage.json``: the export, its settings and every manifest it descends from (depth-first)."""
    return {
        "exported": {"table": manifest.table, "version": manifest.id, "format": config.format,
                     "split": config.split, "rows": card.rows, "file": card.data_file},
        "joined_with": card.sources,
        "export_config": config_dict(config),
        "code_version": code_version(),
        "created_at": datetime.now(timezone.utc).isoformat(timespec="seconds"),
        "versions": [{"depth": depth, **json.loads(m.to_json())} for depth, m in store.lineage(manifest)],
    }


def _flatten(config: Any, prefix: str = "") -> dict[str, Any]:
    if isinstance(config, dict):
        flat: dict[str, Any] = {}
        for key, value in config.items():
            flat.update(_flatten(value, f"{prefix}{key}."))
        return flat
    return {prefix.rstrip("."): config}


def _notable(config: dict[str, Any], limit: int = 8) -> str:
    items = [f"{key}={value}" for key, value in _flatten(config).items()
             if value not in (None, "", [], {}) and not isinstance(value, (list, dict))
             and any(word in key.lower() for word in _NOTABLE)]
    return "; ".join(items[:limit]) or "-"


def _column_docs(format: str, table: str) -> dict[str, str]:
    if format in COLUMN_DOCS:
        return COLUMN_DOCS[format]
    spec = table_spec(table)
    return {name: spec.doc(name) for name in spec.columns}


def _type_name(feature: Any) -> str:
    """A short type name: string, float64, image, list<string>, struct{...}."""
    if isinstance(feature, dict):
        return "struct{" + ", ".join(f"{k}: {_type_name(v)}" for k, v in feature.items()) + "}"
    if isinstance(feature, (List, LargeList)):
        return f"list<{_type_name(feature.feature)}>"
    if isinstance(feature, Image):
        return "image"
    if isinstance(feature, Value):
        return feature.dtype
    return type(feature).__name__


def _cell(text: Any) -> str:
    return str(text).replace("|", "\\|").replace("\n", " ")


def _prose(text: Any) -> str:
    """A table cell of prose: also escape angle brackets, which Markdown would read as HTML tags."""
    return _cell(text).replace("<", "&lt;").replace(">", "&gt;")


def card_text(lineage: dict[str, Any], features: Features, config: ExportConfig, card: CardFacts,
              where: str) -> str:
    """The README: YAML front matter plus a body describing the data and how it was made."""
    exported = lineage["exported"]
    data = DatasetCardData(license=config.license,
                           pretty_name=f"veripo-factory {exported['table']} {exported['version']} ({config.format})",
                           tags=["veripo-factory", exported["table"], *_TAGS[config.format],
                                 *(["video"] if card.counts.get("prompts by media", {}).get("video") else [])])
    MetadataConfigs({"default": {"data_files": [{"split": config.split,
                                                 "path": f"data/{config.split}-*"}]}}).to_dataset_card_data(data)
    splits = SplitDict()
    splits.add(SplitInfo(name=config.split, num_bytes=card.data_bytes, num_examples=card.rows))
    DatasetInfosDict({"default": DatasetInfo(features=features, splits=splits, download_size=card.data_bytes,
                                             dataset_size=card.data_bytes)}).to_dataset_card_data(data)

    lines = [f"# {data.pretty_name}", "",
             f"Version `{exported['version']}` of the `{exported['table']}` table of a "
             f"veripo-factory store, exported as `{config.format}` "
             f"({card.rows} rows) on {lineage['created_at']} by veripo-factory {lineage['code_version']}.", "",
             "## Use", "", _USAGE[config.format].format(where=where, split=config.split, data_file=card.data_file),
             "", "## Columns", "", "| column | type | meaning |", "|---|---|---|"]
    docs = _column_docs(config.format, exported["table"])
    lines += [f"| `{name}` | `{_cell(_type_name(feature))}` | {_prose(docs.get(name, ''))} |"
              for name, feature in features.items()]
    lines += ["", "## How it was made", ""]
    lines += [f"- {name}: {_cell(value)}" for name, value in card.facts.items()]
    for title, counter in card.counts.items():
        if counter:
            lines.append(f"- {title}: " + ", ".join(f"{_cell(k)} ({v})" for k, v in counter.most_common()))
    if card.sources:
        lines.append("- joined with: " + ", ".join(f"{t} `{v}`" for t, v in card.sources.items()))
    lines += ["", "### Lineage", "",
              "Every version these rows descend from (full manifests, configs included, in `lineage.json`):", "",
              "| depth | table | version | stage | rows | created | settings |", "|---|---|---|---|---|---|---|"]
    for version in lineage["versions"]:
        lines.append(f"| {version['depth']} | {version['table']} | `{version['id']}` | {_cell(version['stage'])} | "
                     f"{version['row_count']} | {version['created_at'][:19]} | {_cell(_notable(version['config']))} |")
    if card.warnings:
        lines += ["", "### Export warnings", ""] + [f"- {_prose(w)}" for w in card.warnings]
    lines += ["", "### Export settings", "", "```json", json.dumps(lineage["export_config"], indent=2), "```",
              "", "License: set `license` in the front matter before publishing (it says `other` until then).", ""]
    return f"---\n{data.to_yaml()}\n---\n\n" + "\n".join(lines)


def write_card(folder: Path, store: Store, manifest: Manifest, config: ExportConfig, features: Features,
               card: CardFacts, *, where: str) -> list[str]:
    """Write ``README.md`` and ``lineage.json`` into ``folder``; returns their names.

    ``where`` is what the card's usage example loads (the Hub repo id, or the final folder path).
    """
    lineage = lineage_document(store, manifest, config, card)
    (folder / "lineage.json").write_text(json.dumps(lineage, indent=2, sort_keys=True, default=str) + "\n")
    DatasetCard(card_text(lineage, features, config, card, where)).save(folder / "README.md")
    return ["README.md", "lineage.json"]
