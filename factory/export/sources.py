"""What an export reads from the store: the exported version's rows joined with what the layouts need.

A pair names its rollouts and its prompt by id. The rollouts and prompts versions to look them up in are
the ones the pairs version was built from (its lineage); the latest versions stand in only when the
lineage holds none. Rows come back sorted by prompt, then key, so an export is deterministic and
consecutive rows share a decoded video.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Any

import pyarrow as pa
import pyarrow.compute as pc

from factory.errors import StoreError, UsageError
from factory.store import Manifest, Store

ROLLOUT_COLUMNS = ["rollout_id", "prompt_text", "frame_fps", "max_frames", "max_pixels", "frame_indices",
                   "policy_model", "policy_revision", "template_id", "reward_profile"]
PROMPT_COLUMNS = ["prompt_id", "problem", "problem_type", "options", "gold", "data_type", "media_uri",
                  "data_source"]


@dataclass
class Sources:
    """The exported version and the versions its rows were joined with."""

    manifest: Manifest
    prompts: Manifest | None = None
    rollouts: Manifest | None = None
    warnings: list[str] = field(default_factory=list)


def exported_version(store: Store, table: str, version: str | None) -> Manifest:
    """The version to export; :class:`UsageError` when the table has none yet."""
    manifest = store.resolve(table, version)
    if manifest is None:
        raise UsageError(f"store {store.url} has no {table} version to export; build the {table} table first")
    return manifest


def ancestor(store: Store, manifest: Manifest, table: str) -> Manifest | None:
    """The nearest version of ``table`` in ``manifest``'s lineage, else the latest version of ``table``."""
    found = [(depth, m) for depth, m in store.lineage(manifest) if m.table == table and m is not manifest]
    if found:
        return min(found, key=lambda item: item[0])[1]
    return store.latest(table)


def _select(store: Store, table: str, manifest: Manifest | None, key: str, wanted: set[str],
            columns: list[str]) -> dict[str, dict[str, Any]]:
    """Rows of one version whose ``key`` is in ``wanted``, by key (read a batch at a time)."""
    if manifest is None or not wanted:
        return {}
    value_set = pa.array(sorted(wanted), pa.string())
    found: dict[str, dict[str, Any]] = {}
    for batch in store.iter_batches(table, manifest.id, columns=columns):
        hit = pc.is_in(batch.column(key), value_set=value_set)
        for row in pa.Table.from_batches([batch]).filter(hit).to_pylist():
            found[row[key]] = row
    return found


def _sorted(table: pa.Table, key: str) -> pa.Table:
    order = [("prompt_id", "ascending"), (key, "ascending")] if "prompt_id" in table.column_names \
        else [(key, "ascending")]
    return table.sort_by(order)


def pair_rows(store: Store, manifest: Manifest, limit: int | None) -> tuple[list[dict[str, Any]], Sources]:
    """Pairs with ``prompt`` (the prompt row) and ``chosen_rollout``/``rejected_rollout`` (rollout rows or None)."""
    sources = Sources(manifest, ancestor(store, manifest, "prompts"), ancestor(store, manifest, "rollouts"))
    pairs = _sorted(store.read("pairs", manifest.id), "pair_id")
    if limit is not None:
        pairs = pairs.slice(0, limit)
    rows = pairs.to_pylist()
    rollout_ids = {r["chosen_rollout_id"] for r in rows} | {r["rejected_rollout_id"] for r in rows}
    rollouts = _select(store, "rollouts", sources.rollouts, "rollout_id", rollout_ids, ROLLOUT_COLUMNS)
    prompts = _select(store, "prompts", sources.prompts, "prompt_id", {r["prompt_id"] for r in rows},
                      PROMPT_COLUMNS)
    missing_prompts = sorted({r["prompt_id"] for r in rows} - set(prompts))
    if missing_prompts:
        where = sources.prompts.id if sources.prompts else "none"
        first = next(r for r in rows if r["prompt_id"] == missing_prompts[0])
        raise StoreError(f"pairs version {manifest.id}: pair {first['pair_id']} field 'prompt_id': prompt "
                         f"{missing_prompts[0]} is not in prompts version {where} ({len(missing_prompts)} prompt(s) "
                         "missing); export from a store that holds the pairs' prompts")
    missing_rollouts = sorted(rollout_ids - set(rollouts))
    if missing_rollouts:
        sources.warnings.append(
            f"{len(missing_rollouts)} rollout(s) named by pairs are not in rollouts version "
            f"{sources.rollouts.id if sources.rollouts else '(none)'} (first: {missing_rollouts[0]}); those pairs use "
            "the prompt template's text and the default frame sampling")
    for row in rows:
        row["prompt"] = prompts[row["prompt_id"]]
        row["chosen_rollout"] = rollouts.get(row["chosen_rollout_id"])
        row["rejected_rollout"] = rollouts.get(row["rejected_rollout_id"])
    return rows, sources


def prompt_rows(store: Store, manifest: Manifest, limit: int | None) -> tuple[list[dict[str, Any]], Sources]:
    """Prompt rows, each with ``rollout``: a rollout whose recorded frame sampling the export reuses (or None).

    From a prompts version: its rows. From a pairs version: the prompts its pairs ask about, each once,
    with the chosen rollout of its first pair.
    """
    if manifest.table == "prompts":
        table = _sorted(store.read("prompts", manifest.id, columns=PROMPT_COLUMNS), "prompt_id")
        if limit is not None:
            table = table.slice(0, limit)
        rows = table.to_pylist()
        for row in rows:
            row["rollout"] = None
        return rows, Sources(manifest, prompts=manifest)
    pairs, sources = pair_rows(store, manifest, None)
    rows: dict[str, dict[str, Any]] = {}
    for pair in pairs:
        if pair["prompt_id"] not in rows:
            rows[pair["prompt_id"]] = {**pair["prompt"], "rollout": pair["chosen_rollout"]}
    ordered = list(rows.values())
    return (ordered if limit is None else ordered[:limit]), sources


def table_batches(store: Store, manifest: Manifest, limit: int | None) -> Iterator[pa.Table]:
    """The version's rows as stored (every column, stored order), a batch at a time, at most ``limit``."""
    left = limit
    for batch in store.iter_batches(manifest.table, manifest.id, batch_rows=4096):
        table = pa.Table.from_batches([batch])
        if left is not None:
            table = table.slice(0, left)
            left -= table.num_rows
        if table.num_rows:
            yield table
        if left == 0:
            return
