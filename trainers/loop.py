"""``trainers loop``: the iterative VerIPO loop, GRPO -> verify -> pairs -> DPO -> GRPO ... (SPEC section 1).

One config file describes the run: ``[loop]`` (:class:`LoopConfig`: run folder, starting policy,
iterations, what changes after the first round) and one section per stage, read as the stand-alone
commands read them: ``[grpo]`` (:class:`~trainers.grpo.GrpoConfig`), ``[verify]``
(:class:`~factory.verifier.config.VerifyConfig`: the judge), ``[pairs]`` (:class:`~factory.pairs.PairConfig`:
the pair policy and the easy-question pruning) and ``[dpo]`` (:class:`~trainers.dpo.DpoConfig`).

Iteration ``i`` (1-based):

1. ``grpo``: from the current policy on prompts version ``P_i`` -> checkpoint ``<run_dir>/iter-<i>/grpo`` and
   rollouts version ``R_i`` (every sampled completion, ``iteration = i``; parent ``P_i``);
2. ``verify``: judge ``R_i`` -> verdicts version ``V_i`` (parent ``R_i``);
3. ``pairs``: pairs of ``R_i`` + ``V_i`` -> pairs version ``D_i`` (parents ``R_i``, ``V_i``) and, with
   ``[pairs] drop_easy_share``, the next prompts version ``P_{i+1}`` without that share of the questions every
   rollout solved (parents ``P_i``, ``D_i``);
4. ``dpo``: from the GRPO checkpoint (also the reference model) on ``D_i`` -> ``<run_dir>/iter-<i>/dpo``, the
   next iteration's policy. An iteration without pairs skips DPO and goes on from the GRPO checkpoint.

Every output is versioned with lineage; ``<run_dir>/loop_state.json`` records them, and a re-run resumes at
the first stage whose output is missing (:mod:`trainers.loop_state`).
"""

from __future__ import annotations

import dataclasses
import shlex
import subprocess
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml

from factory.config import build_config, config_dict, read_config_file
from factory.errors import FactoryError, UsageError
from factory.pairs import PairConfig, run_pairs
from factory.store import Store
from factory.verifier.config import VerifyConfig
from factory.verifier.run import run_verify
from trainers.dpo import DpoConfig, run_dpo
from trainers.grpo import GrpoConfig, run_grpo
from trainers.loop_report import STAGES, iteration_rows, write_summary
from trainers.loop_state import LoopState, outputs_present
from trainers.policy import RECORD, read_record


@dataclass
class LoopConfig:
    """Settings of ``trainers loop`` (section ``[loop]``; the stages read ``[grpo]``, ``[verify]``, ``[pairs]``,
    ``[dpo]``)."""

    run_dir: str = "runs/veripo"
    """Folder of the run: checkpoints (``iter-<i>/grpo``, ``iter-<i>/dpo``), ``loop_state.json``, ``summary.json``."""
    policy: str = ""
    """Starting policy: a model folder (e.g. an SFT checkpoint) or a Hub id."""
    revision: str | None = None
    """Hub revision of the starting policy."""
    iterations: int = 2
    """Rounds of GRPO -> verify -> pairs -> DPO."""
    prompts_version: str | None = None
    """prompts version of the first round (default latest); later rounds use the version the pairs stage
    writes (easy questions dropped), else the same."""
    later_grpo_learning_rate: float | None = 5e-7
    """GRPO learning rate from the second round on (VerIPO: 5e-7, starting from the DPO checkpoint);
    None: ``[grpo] learning_rate`` throughout."""
    later_data_types: list[str] | None = field(default_factory=lambda: ["video"])
    """Media types GRPO trains on from the second round on (VerIPO: video QA only); None: all."""
    final_grpo: bool = False
    """After the last round, one more GRPO (and verify) from the last DPO checkpoint."""
    launcher: str | None = None
    """Command that starts each training stage in processes of its own, e.g. ``accelerate launch
    --num_processes 8`` for data-parallel training on 8 GPUs: the stage runs as ``<launcher> -m trainers.cli
    <stage> --config <run_dir>/iter-<i>/<stage>.yaml``. None: in this process (one device)."""

    def __post_init__(self) -> None:
        if self.iterations < 1:
            raise ValueError("iterations must be at least 1")


@dataclass
class LoopSettings:
    """The loop's config and the stage configs it derives each iteration's settings from."""

    loop: LoopConfig
    grpo: GrpoConfig
    verify: VerifyConfig
    pairs: PairConfig
    dpo: DpoConfig

    @staticmethod
    def from_file(path: str | Path | None, overrides: dict[str, Any] | None = None) -> "LoopSettings":
        """Sections ``[loop]``, ``[grpo]``, ``[verify]``, ``[pairs]``, ``[dpo]`` of ``path``; flags override ``[loop]``."""
        unknown = sorted(set(read_config_file(path)) - {"store", "loop", *STAGES})
        if unknown:
            raise UsageError(f"config file {path}: unknown section(s) {unknown}; a loop config has [loop], "
                             f"[grpo], [verify], [pairs], [dpo] and a top-level store")
        return LoopSettings(loop=build_config(LoopConfig, file=path, section="loop", overrides=overrides),
                            grpo=build_config(GrpoConfig, file=path, section="grpo"),
                            verify=build_config(VerifyConfig, file=path, section="verify"),
                            pairs=build_config(PairConfig, file=path, section="pairs"),
                            dpo=build_config(DpoConfig, file=path, section="dpo"))

    def record(self) -> dict[str, Any]:
        return {name: config_dict(getattr(self, name)) for name in ("loop", *STAGES)}


@dataclass
class LoopResult:
    run_dir: Path
    rows: list[dict[str, Any]]
    """The per-iteration table (see :mod:`trainers.loop_report`)."""
    ran: list[tuple[int, str]]
    """The stages this call ran (the others were found done)."""
    state: LoopState


def _plan(config: LoopConfig) -> list[tuple[int, str]]:
    order = [(i, stage) for i in range(1, config.iterations + 1) for stage in STAGES]
    if config.final_grpo:
        order += [(config.iterations + 1, "grpo"), (config.iterations + 1, "verify")]
    return order


def _stage_settings(settings: LoopSettings, state: LoopState, iteration: int, stage: str, run_dir: Path) -> Any:
    """The stage's config for ``iteration``: its section with the loop's inputs and outputs filled in."""
    loop = settings.loop
    previous = state.iterations.get(str(iteration - 1), {})
    current = state.iterations.get(str(iteration), {})
    if stage == "grpo":
        policy, revision = loop.policy, loop.revision
        prompts = loop.prompts_version
        if iteration > 1:
            dpo, grpo = previous.get("dpo", {}), previous.get("grpo", {})
            policy = grpo["checkpoint"] if dpo.get("skipped") else dpo["checkpoint"]
            revision = None
            prompts = previous.get("pairs", {}).get("next_prompts_version") or previous["grpo"]["prompts_version"]
        changes: dict[str, Any] = dict(model=policy, revision=revision, version=prompts, dataset=None,
                                       iteration=iteration, output_dir=str(run_dir / f"iter-{iteration}" / "grpo"))
        if iteration > 1 and loop.later_grpo_learning_rate is not None:
            changes["learning_rate"] = loop.later_grpo_learning_rate
        if iteration > 1 and loop.later_data_types is not None:
            changes["data_types"] = list(loop.later_data_types)
        return dataclasses.replace(settings.grpo, **changes)
    if stage == "verify":
        return dataclasses.replace(settings.verify, rollouts_version=current["grpo"]["rollouts_version"])
    if stage == "pairs":
        return dataclasses.replace(settings.pairs, rollouts_version=current["grpo"]["rollouts_version"],
                                   verdicts_version=current["verify"]["verdicts_version"],
                                   prompts_version=current["grpo"]["prompts_version"],
                                   write_next_prompts=settings.pairs.drop_easy_share is not None)
    return dataclasses.replace(settings.dpo, model=current["grpo"]["checkpoint"], revision=None,
                               version=current["pairs"]["pairs_version"], dataset=None, iteration=iteration,
                               output_dir=str(run_dir / f"iter-{iteration}" / "dpo"))


def _launched(store: Store, stage: str, config: Any, launcher: str) -> dict[str, Any]:
    """Run a training stage as ``<launcher> -m trainers.cli <stage>``; its checkpoint record."""
    folder = Path(config.output_dir)
    folder.parent.mkdir(parents=True, exist_ok=True)
    settings = folder.parent / f"{stage}.yaml"
    settings.write_text(yaml.safe_dump({"store": store.url, stage: config_dict(config)}, sort_keys=True))
    command = [*shlex.split(launcher), "-m", "trainers.cli", stage, "--config", str(settings)]
    done = subprocess.run(command)
    record = read_record(folder)
    if done.returncode != 0 or record is None:
        raise FactoryError(f"{stage} stage failed (exit {done.returncode}): {' '.join(command)}")
    return record


def _run_training(store: Store, stage: str, config: Any, rollout_func: Any, launcher: str | None) -> dict[str, Any]:
    """A GRPO or DPO stage in this process, or through the launcher; its checkpoint record."""
    (Path(config.output_dir) / RECORD).unlink(missing_ok=True)  # a stale record must not pass for this run's
    if launcher:
        if rollout_func is not None:
            raise UsageError("a rollout_func cannot cross into launched processes; unset [loop] launcher")
        return _launched(store, stage, config, launcher)
    if stage == "grpo":
        return run_grpo(store, config, rollout_func=rollout_func).record
    return run_dpo(store, config).record


def _run_stage(store: Store, stage: str, config: Any, rollout_func: Any, launcher: str | None) -> dict[str, Any]:
    """Run one stage; the outputs recorded in the loop state."""
    started = time.perf_counter()
    if stage == "grpo":
        record = _run_training(store, stage, config, rollout_func, launcher)
        outputs = {"checkpoint": config.output_dir, "rollouts_version": record.get("rollouts_version"),
                   "rollouts": record.get("rollouts"), "prompts_version": record.get("data", {}).get("version"),
                   "steps": record.get("steps"), "train_loss": record.get("train_loss"), "policy": config.model}
    elif stage == "verify":
        summary = run_verify(store, config, show_progress=False)
        outputs = {"verdicts_version": summary.version.id if summary.version else None, "verifier": summary.verifier,
                   "judged": summary.judged, "statuses": dict(summary.statuses)}
        if summary.statuses.get("error"):
            raise FactoryError(f"verify: {summary.statuses['error']} judgement(s) failed (verdicts version "
                             f"{outputs['verdicts_version']}); run the loop again to retry them")
    elif stage == "pairs":
        result = run_pairs(store, config, show_progress=False)
        outputs = {"pairs_version": result.version, "rows": result.rows, "counts": result.counts,
                   "easy": result.easy, "dropped": result.dropped, "next_prompts_version": result.prompts_version,
                   "policy": result.policy}
    else:
        if config.version is None or store.resolve("pairs", config.version).row_count == 0:
            outputs = {"skipped": "no pairs", "checkpoint": None}
        else:
            record = _run_training(store, stage, config, rollout_func, launcher)
            outputs = {"checkpoint": config.output_dir, "steps": record.get("steps"),
                       "train_loss": record.get("train_loss"), "pairs_version": config.version, "policy": config.model}
    outputs["seconds"] = round(time.perf_counter() - started, 3)
    return outputs


def run_loop(store: Store, settings: LoopSettings, *, rollout_func: Any = None,
             log: Callable[[str], None] | None = None) -> LoopResult:
    """Run (or resume) the loop; returns the per-iteration table.

    ``rollout_func`` goes to every GRPO stage (TRL's custom-generation hook). Raises :class:`UsageError` for
    a missing policy or prompts, or a run folder that holds a run with other settings.
    """
    loop = settings.loop
    if not loop.policy:
        raise UsageError("no starting policy: set [loop] policy (a model folder or Hub id)")
    if store.resolve("prompts", loop.prompts_version) is None:
        raise UsageError(f"store {store.url} has no prompts: run `factory prompts import` first")
    run_dir = Path(loop.run_dir)
    state = LoopState.open(run_dir, settings.record())
    say = log or (lambda message: None)
    order = _plan(loop)
    ran: list[tuple[int, str]] = []
    for iteration, stage in order:
        if not ran and outputs_present(store, stage, state.get(iteration, stage)):
            continue
        if not ran:
            state.forget_after(iteration, stage, order)
            say(f"resuming at iteration {iteration} stage {stage}" if state.iterations else "starting the loop")
        config = _stage_settings(settings, state, iteration, stage, run_dir)
        say(f"iteration {iteration}: {stage} ...")
        outputs = _run_stage(store, stage, config, rollout_func, loop.launcher)
        state.put(iteration, stage, outputs)
        ran.append((iteration, stage))
        say(f"iteration {iteration}: {stage} done in {outputs['seconds']:.1f} s "
            f"{ {k: v for k, v in outputs.items() if k.endswith('version') or k in ('rows', 'skipped')} }")
    rows = iteration_rows(store, state)
    write_summary(run_dir, rows)
    return LoopResult(run_dir, rows, ran, state)
