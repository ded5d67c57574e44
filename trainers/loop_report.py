"""The per-iteration table ``trainers loop`` prints at the end (and writes to ``<run_dir>/summary.json``).

One row per iteration, computed from the store versions the iteration made (so resumed iterations report
the same figures as fresh ones): GRPO-phase accuracy (share of ``ok`` rollouts that are accurate), the
judge's consistency rate (share of ``ok`` verdicts of the loop's verifier on those rollouts that say
consistent), mean think length in tokens, pairs made and by type, easy questions and how many were dropped
for the next round, and wall time per stage.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import polars as pl

from factory.store import Store
from trainers.loop_state import LoopState

STAGES = ("grpo", "verify", "pairs", "dpo")
COLUMNS = ("iteration", "prompts", "rollouts", "accuracy", "consistency", "think_tokens", "pairs", "pair_types",
           "easy", "dropped", "grpo_s", "verify_s", "pairs_s", "dpo_s")


def _rollout_figures(store: Store, version: str) -> dict[str, Any]:
    frame = pl.from_arrow(store.read("rollouts", version, columns=["rollout_id", "prompt_id", "status", "accurate",
                                                                   "think_tokens"]))
    ok = frame.filter(pl.col("status") == "ok")
    return {"rollouts": frame.height, "prompts": ok["prompt_id"].n_unique(),
            "accuracy": ok["accurate"].cast(pl.Float64).mean() if ok.height else None,
            "think_tokens": ok["think_tokens"].cast(pl.Float64).mean() if ok.height else None,
            "_ids": ok["rollout_id"]}


def _consistency(store: Store, version: str, verifier: str | None, rollout_ids: pl.Series) -> float | None:
    frame = pl.from_arrow(store.read("verdicts", version, columns=["rollout_id", "verifier", "status", "consistent"]))
    frame = frame.filter((pl.col("status") == "ok") & pl.col("rollout_id").is_in(rollout_ids.implode()))
    if verifier is not None:
        frame = frame.filter(pl.col("verifier") == verifier)
    return frame["consistent"].cast(pl.Float64).mean() if frame.height else None


def iteration_rows(store: Store, state: LoopState) -> list[dict[str, Any]]:
    """One row of :data:`COLUMNS` per iteration recorded in ``state``."""
    rows = []
    for key in sorted(state.iterations, key=int):
        stages = state.iterations[key]
        row: dict[str, Any] = {c: None for c in COLUMNS}
        row["iteration"] = int(key)
        for stage in STAGES:
            if stage in stages and not stages[stage].get("skipped"):
                row[f"{stage}_s"] = stages[stage].get("seconds")
        grpo = stages.get("grpo") or {}
        if grpo.get("rollouts_version"):
            figures = _rollout_figures(store, grpo["rollouts_version"])
            ids = figures.pop("_ids")
            row.update(figures)
            verify = stages.get("verify") or {}
            if verify.get("verdicts_version"):
                row["consistency"] = _consistency(store, verify["verdicts_version"], verify.get("verifier"), ids)
        pairs = stages.get("pairs") or {}
        if pairs:
            row.update(pairs=pairs.get("rows"), pair_types=pairs.get("counts"), easy=pairs.get("easy"),
                       dropped=pairs.get("dropped"))
        rows.append(row)
    return rows


HEADERS = {"iteration": "iter", "prompts": "prompts", "rollouts": "rollouts", "accuracy": "acc",
           "consistency": "consist", "think_tokens": "think", "pairs": "pairs", "easy": "easy", "dropped": "dropped",
           "grpo_s": "grpo_s", "verify_s": "verify_s", "pairs_s": "pairs_s", "dpo_s": "dpo_s",
           "pair_types": "pairs by type"}


def _cell(value: Any) -> str:
    if value is None:
        return "-"
    if isinstance(value, float):
        return f"{value:.2f}" if value < 100 else f"{value:.0f}"
    if isinstance(value, dict):
        return ", ".join(f"{k} {v}" for k, v in sorted(value.items())) or "-"
    return str(value)


def format_rows(rows: list[dict[str, Any]]) -> str:
    """The table as aligned plain text (acc, consist: shares of rollouts; think: mean tokens; *_s: seconds)."""
    columns = [c for c in COLUMNS if c != "pair_types"] + ["pair_types"]
    cells = [[HEADERS[c] for c in columns]] + [[_cell(row[c]) for c in columns] for row in rows]
    widths = [max(len(line[i]) for line in cells) for i in range(len(columns))]
    lines = ["  ".join(cell.rjust(width) if i < len(columns) - 1 else cell
                       for i, (cell, width) in enumerate(zip(line, widths))) for line in cells]
    return "\n".join(lines)


def print_rows(rows: list[dict[str, Any]], console: Any = None) -> None:
    """The table in a terminal, under a title line."""
    text = "VerIPO loop, per iteration (acc, consist: shares; think: mean tokens; *_s: seconds)\n" + format_rows(rows)
    if console is None:
        print(text)
    else:
        console.print(text, markup=False, highlight=False, soft_wrap=True)


def write_summary(run_dir: Path, rows: list[dict[str, Any]]) -> Path:
    path = run_dir / "summary.json"
    path.write_text(json.dumps(rows, indent=2, default=str))
    return path
