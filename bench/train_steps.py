"""Seconds per DPO step and per GRPO step (G = 8) on the same tiny policy and the same questions.

VerIPO reports its DPO stage about 7x faster than GRPO. This measures the two steps on our own stack
(``trainers dpo`` and ``trainers grpo``, TRL underneath, defaults of ``DpoConfig`` / ``GrpoConfig`` apart
from batch and step counts) on the tiny random Qwen2.5-VL with the sample videos as frames:

- a DPO step trains on B pairs: one veripo pair (written completions, rules verdicts) per question;
- a GRPO step samples G = 8 completions for each of the same B questions (up to ``--max-completion-length``
  tokens, which the random policy nearly always uses), scores them with the factory's rewards, records
  them to the store and trains on them.

Both use the reference model (DPO's beta, GRPO's KL beta 0.04). Each step's time is the wall time between
consecutive step ends (generation included); the first step is warm-up and not counted. Prints both
medians and, last, ``ratio: GRPO seconds / DPO seconds``.

    .venv/bin/python bench/train_steps.py [--questions 4] [--steps 4] [--max-completion-length 96] [--threads 1]
"""

from __future__ import annotations

import argparse
import os
import statistics
import sys
import tempfile
import time
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent


def step_timer():
    """A TrainerCallback that records the wall time between consecutive step ends."""
    from transformers import TrainerCallback

    class StepTimer(TrainerCallback):
        def __init__(self) -> None:
            self.ends: list[float] = []

        def on_train_begin(self, args, state, control, **kwargs):
            self.ends = [time.perf_counter()]

        def on_step_end(self, args, state, control, **kwargs):
            self.ends.append(time.perf_counter())

        @property
        def seconds(self) -> list[float]:
            return [b - a for a, b in zip(self.ends, self.ends[1:])]

    return StepTimer()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--policy", default=None, help="policy model folder (default: tiny Qwen2.5-VL, built)")
    parser.add_argument("--questions", type=int, default=4, help="B: questions per step (DPO: B pairs)")
    parser.add_argument("--steps", type=int, default=4, help="timed steps (after one warm-up step)")
    parser.add_argument("--generations", type=int, default=8, help="G")
    parser.add_argument("--max-completion-length", type=int, default=96)
    parser.add_argument("--threads", type=int, default=1,
                        help="torch threads (CPU; 1 gives steady timings on shared cores, see PLATFORM)")
    args = parser.parse_args()
    os.environ.setdefault("OMP_NUM_THREADS", str(args.threads))
    os.environ.setdefault("TRL_EXPERIMENTAL_SILENCE", "1")

    import torch

    torch.set_num_threads(args.threads)
    sys.path.insert(0, str(REPO / "data"))
    import tiny_models

    from factory.pairs import PairConfig, run_pairs
    from factory.prompts import ImportConfig, import_prompts
    from factory.rollouts.importer import RolloutImportConfig, import_rollouts
    from factory.store import Store
    from factory.verifier.config import VerifyConfig
    from factory.verifier.run import run_verify
    from trainers.dpo import DpoConfig, run_dpo
    from trainers.grpo import GrpoConfig, run_grpo

    policy = args.policy or str(tiny_models.build_all(REPO / "build" / "models")["vl"])
    work = Path(tempfile.mkdtemp(prefix="bench-train-steps-"))
    store = Store(work / "store")
    import_prompts(store, REPO / "data" / "sample" / "sample.json", ImportConfig(), show_progress=False)
    import_rollouts(store, REPO / "data" / "completions" / "sample_completions.jsonl", RolloutImportConfig(),
                    show_progress=False)
    run_verify(store, VerifyConfig(), show_progress=False)
    pairs = run_pairs(store, PairConfig(max_pairs_per_question=1), show_progress=False)
    if pairs.questions_with_pairs != pairs.questions:
        raise SystemExit("every sample question needs a pair for the two steps to see the same questions")
    b, g, steps = args.questions, args.generations, args.steps + 1

    dpo_timer = step_timer()
    dpo = run_dpo(store, DpoConfig(model=policy, output_dir=str(work / "dpo"), limit=b, max_steps=steps,
                                   per_device_batch_size=b, global_batch_size=b), callbacks=[dpo_timer])
    grpo_timer = step_timer()
    grpo = run_grpo(store, GrpoConfig(model=policy, output_dir=str(work / "grpo"), limit=b, max_steps=steps,
                                      num_generations=g, per_device_batch_size=b * g, global_batch_size=b * g,
                                      max_completion_length=args.max_completion_length), callbacks=[grpo_timer])

    dpo_steps, grpo_steps = dpo_timer.seconds[1:], grpo_timer.seconds[1:]
    dpo_tokens = [e["num_tokens"] for e in dpo.log_history if "num_tokens" in e]
    grpo_lengths = [e["completions/mean_length"] for e in grpo.log_history if "completions/mean_length" in e]
    dpo_s, grpo_s = statistics.median(dpo_steps), statistics.median(grpo_steps)
    print(f"policy: {policy}; threads: {args.threads}; questions per step: {b}; timed steps: {args.steps}")
    print(f"dpo:  {b} pairs/step, {dpo_tokens[-1] / steps:,.0f} tokens/step (prompt+chosen+rejected, frames "
          f"included); steps {[round(s, 2) for s in dpo_steps]}")
    print(f"grpo: {b} questions x G={g} = {b * g} completions/step, {statistics.mean(grpo_lengths[1:]):.0f} tokens per "
          f"completion (max {args.max_completion_length}); steps {[round(s, 2) for s in grpo_steps]}; "
          f"mean completion length per step {[round(x) for x in grpo_lengths[1:]]}")
    print(f"seconds per DPO step:  {dpo_s:.3f} (median)")
    print(f"seconds per GRPO step: {grpo_s:.3f} (median)")
    print(f"ratio: {grpo_s / dpo_s:.2f}")


if __name__ == "__main__":
    main()
