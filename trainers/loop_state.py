"""The loop's record of finished stages (``<run_dir>/loop_state.json``) and the test of their outputs.

After each stage the loop writes what it made (checkpoint folder, table versions, seconds, counts) under
``iterations[<i>][<stage>]``, atomically. On a re-run a stage counts as done only when its record is there
*and* its outputs still are (the checkpoint's ``veripo_checkpoint.json``, the store versions); the loop
resumes at the first stage that is not done and runs every stage after it again.
"""

from __future__ import annotations

import json
import os
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from factory.errors import UsageError, VersionNotFound
from factory.store import Store
from schemas import canonical_json
from trainers.policy import read_record

STATE = "loop_state.json"


@dataclass
class LoopState:
    """What a run directory holds: the config it was started with and each finished stage's outputs."""

    path: Path
    config: dict[str, Any]
    iterations: dict[str, dict[str, dict[str, Any]]] = field(default_factory=dict)

    @staticmethod
    def open(run_dir: Path, config: dict[str, Any]) -> "LoopState":
        """The run's state; a new one for a new run. A run started with another config is a usage error."""
        path = run_dir / STATE
        if not path.is_file():
            run_dir.mkdir(parents=True, exist_ok=True)
            state = LoopState(path, config)
            state.save()
            return state
        raw = json.loads(path.read_text())
        if canonical_json(raw["config"]) != canonical_json(json.loads(canonical_json(config))):
            changed = sorted(_changed(raw["config"], config))
            raise UsageError(f"{run_dir} holds a loop run started with other settings ({', '.join(changed[:6])}); "
                             "use a new run_dir, or delete that folder to start over")
        return LoopState(path, raw["config"], raw.get("iterations", {}))

    def get(self, iteration: int, stage: str) -> dict[str, Any] | None:
        return self.iterations.get(str(iteration), {}).get(stage)

    def put(self, iteration: int, stage: str, outputs: dict[str, Any]) -> None:
        self.iterations.setdefault(str(iteration), {})[stage] = outputs
        self.save()

    def forget_after(self, iteration: int, stage: str, order: list[tuple[int, str]]) -> None:
        """Drop the records of ``(iteration, stage)`` and every stage after it (they will run again)."""
        position = order.index((iteration, stage))
        for later_iteration, later_stage in order[position:]:
            self.iterations.get(str(later_iteration), {}).pop(later_stage, None)
        self.save()

    def save(self) -> None:
        temporary = self.path.with_suffix(".json.tmp")
        temporary.write_text(json.dumps({"config": self.config, "iterations": self.iterations}, indent=2,
                                        sort_keys=True, default=str))
        os.replace(temporary, self.path)


def _changed(old: dict[str, Any], new: dict[str, Any], prefix: str = "") -> set[str]:
    names = set()
    for key in set(old) | set(new):
        a, b = old.get(key), new.get(key)
        if isinstance(a, dict) and isinstance(b, dict):
            names |= _changed(a, b, f"{prefix}{key}.")
        elif canonical_json({"v": a}) != canonical_json({"v": b}):
            names.add(prefix + key)
    return names


def _version_exists(store: Store, table: str, version: str | None) -> bool:
    if version is None:
        return False
    try:
        return store.resolve(table, version) is not None
    except VersionNotFound:
        return False


def outputs_present(store: Store, stage: str, outputs: dict[str, Any] | None) -> bool:
    """Whether a recorded stage's outputs are all still there."""
    if outputs is None:
        return False
    store.refresh()
    if stage in ("grpo", "dpo"):
        if outputs.get("skipped"):
            return True
        if read_record(outputs["checkpoint"]) is None:
            return False
        return stage == "dpo" or not outputs.get("rollouts_version") or \
            _version_exists(store, "rollouts", outputs["rollouts_version"])
    if stage == "verify":
        return _version_exists(store, "verdicts", outputs.get("verdicts_version"))
    if stage == "pairs":
        return _version_exists(store, "pairs", outputs.get("pairs_version")) and (
            outputs.get("next_prompts_version") is None
            or _version_exists(store, "prompts", outputs["next_prompts_version"]))
    raise ValueError(f"unknown loop stage {stage!r}")
