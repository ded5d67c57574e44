"""``run_pairs`` (and ``factory.stats``) on one million synthetic rollouts with verdicts.

Builds a store of N rollouts (G = 8 per question, 125k questions by default) with a realistic mix of
flags and one verdict each, written as Parquet parts of 100k rows through ``TableWriter``, plus the
prompts table. Then runs the timed part in a child process, so the figures are those of the stage alone
and not of building the data: ``run_pairs`` with the next round's prompts, then the stats report.
Prints ``seconds: X`` (pairs + stats, wall) and ``peak_mib: Y`` (the child's peak RSS, imports included)
at the end.
Target: under 20 s and under 3 GiB on 2 cores.

    .venv/bin/python bench/pairs.py [--rollouts 1000000] [--threads 2] [--store DIR] [--keep]
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import shutil
import subprocess
import sys
import tempfile
import time
from datetime import datetime, timezone
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO))

G = 8
PART_ROWS = 100_000
WORDS = ("the frame shows a person moving left then right so the object count is clearly three wait let me "
         "re-check the second clip because the camera pans and the red car appears again near the end which "
         "means option B fits better than option C given the timeline of events in the video").split()


def build_store(root: Path, rollouts: int, seed: int = 0) -> None:
    """Prompts, rollouts and verdicts (verifier ``judge-1.5b``) of ``rollouts // G`` questions."""
    import numpy as np
    import pyarrow as pa

    from factory.store import Store, TableWriter

    rng = np.random.default_rng(seed)
    store = Store(root)
    now = datetime(2026, 11, 26, tzinfo=timezone.utc)
    questions = rollouts // G
    corpus = " ".join(rng.choice(WORDS, size=800_000))
    prompt_ids = [f"{a:016x}{b:016x}" for a, b in rng.integers(0, 2**63, size=(questions, 2))]

    with TableWriter(store, "prompts", stage="bench", config={}, mode="replace", rows_per_part=PART_ROWS) as w:
        w.write(pa.table({
            "prompt_id": prompt_ids, "problem_id": [str(i) for i in range(questions)],
            "problem": [f"question {i}: what happens in the video?" for i in range(questions)],
            "problem_type": ["multiple choice"] * questions, "options": [["A. x", "B. y", "C. z"]] * questions,
            "gold": ["B"] * questions, "data_type": ["video"] * questions, "source_file": ["bench.json"] * questions,
            "source_row": list(range(questions)), "created_at": [now] * questions, "code_version": ["bench"] * questions,
        }))
        w.commit()

    # one difficulty per question: 25 % always solved, 15 % never, the rest anywhere in between
    u = rng.random(questions)
    p = np.where(u < 0.25, 1.0, np.where(u < 0.40, 0.0, rng.random(questions)))
    per_part = PART_ROWS // G
    rollout_writer = TableWriter(store, "rollouts", stage="bench", config={}, mode="replace", rows_per_part=PART_ROWS)
    verdict_writer = TableWriter(store, "verdicts", stage="bench", config={}, mode="replace", rows_per_part=PART_ROWS)
    for start in range(0, questions, per_part):
        q = np.arange(start, min(start + per_part, questions))
        n = len(q) * G
        qi = np.repeat(q, G)
        accurate = rng.random(n) < p[qi]
        truncated = rng.random(n) < 0.04
        fmt_ok = (rng.random(n) < 0.95) & ~truncated
        repetitive = rng.random(n) < 0.03
        reflective = rng.random(n) < 0.35
        think = np.clip(rng.lognormal(5.8, 0.6, n), 5, 6000).astype(np.int64)
        status = np.where(rng.random(n) < 0.005, "error", "ok")
        vstatus = rng.choice(["ok", "unparsable", "error"], size=n, p=[0.96, 0.025, 0.015])
        consistent = np.where(accurate, rng.random(n) < 0.88, rng.random(n) < 0.6)
        ids = [f"{a:016x}{b:016x}" for a, b in rng.integers(0, 2**63, size=(n, 2))]
        offsets = rng.integers(0, len(corpus) - 9000, n)
        lengths = np.minimum(think * 4, 8000)
        texts = [f"<think>{corpus[o:o + k]}</think><answer>B</answer>" for o, k in zip(offsets, lengths)]
        for i in np.nonzero(rng.random(n) < 0.01)[0]:  # some samples repeat their group's first text
            texts[i] = texts[i - i % G]
        ok = status == "ok"
        reward = accurate * 1.0 + fmt_ok * 0.5  # the veripo profile: accuracy 1, format 0.5
        figures = {"fmt_ok": fmt_ok, "truncated": truncated, "accurate": accurate, "think_tokens": think,
                   "repetitive": repetitive, "reflective": reflective}
        pids = [prompt_ids[i] for i in qi]
        rollout_writer.write(pa.table({
            "rollout_id": ids, "prompt_id": pids, "sample_index": np.tile(np.arange(G), len(q)), "status": status,
            "completion": pa.array(texts, mask=~ok), "policy_model": ["Qwen2.5-VL-7B"] * n, "engine": ["vllm"] * n,
            "sampling_params": ['{"temperature":1.0}'] * n, "template_id": ["veripo"] * n,
            "reward_total": pa.array(reward, mask=~ok), "iteration": [1] * n, "created_at": [now] * n,
            "code_version": ["bench"] * n, **figures,
        }))
        verdict_ok = vstatus == "ok"
        verdict_writer.write(pa.table({
            "verdict_id": [f"v{i}" for i in ids], "rollout_id": ids, "prompt_id": pids, "verifier": ["judge-1.5b"] * n,
            "judge_prompt_version": ["consistency-v1"] * n, "judge_sampling_params": ["{}"] * n, "status": vstatus,
            "label": [("consistent" if c else "inconsistent") if o else None for c, o in zip(consistent, verdict_ok)],
            "consistent": pa.array(consistent, mask=~verdict_ok), "raw_output": ["consistent"] * n,
            "created_at": [now] * n, "code_version": ["bench"] * n, **figures,
        }))
    rollout_writer.commit()
    verdict_writer.commit()


def child(store_path: str) -> None:
    """The timed part: run_pairs (with the next prompts), then the stats report when it is importable."""
    from factory.pairs import PairConfig, run_pairs
    from factory.store import Store

    store = Store(store_path)
    baseline = peak_rss_mib()
    first_prompts = store.versions("prompts")[0].id  # a reused store also holds earlier runs' pruned prompts
    config = PairConfig(write_next_prompts=True, prompts_version=first_prompts)
    started, cpu_started = time.perf_counter(), cpu_seconds()
    result = run_pairs(store, config, show_progress=False)
    pairs_seconds, pairs_cpu = time.perf_counter() - started, cpu_seconds() - cpu_started

    # ---- factory.stats (another engineer's stage) is timed here too, when it is there ----------------
    stats_seconds = stats_cpu = None
    try:
        from factory.stats import compute_report
    except ImportError:
        compute_report = None
    if compute_report is not None:
        started, cpu_started = time.perf_counter(), cpu_seconds()
        compute_report(store)
        stats_seconds, stats_cpu = time.perf_counter() - started, cpu_seconds() - cpu_started
    # -------------------------------------------------------------------------------------------------
    print(json.dumps({"pairs_seconds": pairs_seconds, "stats_seconds": stats_seconds, "pairs_cpu": pairs_cpu,
                      "stats_cpu": stats_cpu, "pairs": result.rows,
                      "counts": result.counts, "easy": result.easy, "dropped": result.dropped,
                      "questions": result.questions, "import_mib": baseline, "peak_mib": peak_rss_mib()}))


def cpu_seconds() -> float:
    usage = resource.getrusage(resource.RUSAGE_SELF)
    return usage.ru_utime + usage.ru_stime


def peak_rss_mib() -> float:
    """This process's peak resident set (VmHWM; unlike ru_maxrss it does not carry the parent's over fork+exec)."""
    try:
        with open("/proc/self/status") as status:
            for line in status:
                if line.startswith("VmHWM:"):
                    return int(line.split()[1]) / 1024
    except OSError:
        pass
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024  # kB on Linux


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--rollouts", type=int, default=1_000_000)
    parser.add_argument("--threads", type=int, default=2, help="cores the child may use (CPU affinity, POLARS_MAX_THREADS)")
    parser.add_argument("--store", default=None, help="store folder to build (or reuse when it holds rollouts)")
    parser.add_argument("--keep", action="store_true", help="keep the store folder")
    parser.add_argument("--child", default=None, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.child:
        child(args.child)
        return

    root = Path(args.store) if args.store else Path(tempfile.mkdtemp(prefix="bench-pairs-")) / "store"
    if not (root / "rollouts" / "versions").exists():
        started = time.perf_counter()
        build_store(root, args.rollouts)
        print(f"built {args.rollouts:,} rollouts with verdicts in {time.perf_counter() - started:.1f} s ({root})")
    env = dict(os.environ, POLARS_MAX_THREADS=str(args.threads), OMP_NUM_THREADS=str(args.threads))
    cpus = list(range(min(args.threads, os.cpu_count() or 1)))
    started = time.perf_counter()
    done = subprocess.run([sys.executable, __file__, "--child", str(root)], env=env, capture_output=True, text=True,
                          preexec_fn=(lambda: os.sched_setaffinity(0, cpus)) if hasattr(os, "sched_setaffinity") else None)
    wall = time.perf_counter() - started
    if done.returncode:
        sys.exit(f"child failed ({done.returncode}):\n{done.stderr}")
    figures = json.loads(done.stdout.strip().splitlines()[-1])
    peak_mib = figures["peak_mib"]
    if not args.keep and not args.store:
        shutil.rmtree(root.parent, ignore_errors=True)
    print(f"pairs: {figures['pairs']:,} ({figures['counts']}); questions {figures['questions']:,}, "
          f"easy {figures['easy']:,}, dropped {figures['dropped']:,}")
    # CPU seconds do not grow much when other work shares the machine; wall seconds do
    print(f"run_pairs: {figures['pairs_seconds']:.2f} s wall, {figures['pairs_cpu']:.2f} s CPU")
    stats = figures["stats_seconds"]
    print("factory.stats: " + ("not available" if stats is None
                               else f"{stats:.2f} s wall, {figures['stats_cpu']:.2f} s CPU"))
    print(f"load average (1 min) after the run: {os.getloadavg()[0]:.2f} on {os.cpu_count()} cores")
    print(f"child wall (with interpreter start and imports): {wall:.2f} s; RSS after imports {figures['import_mib']:.0f} MiB")
    print(f"seconds: {figures['pairs_seconds'] + (stats or 0.0):.2f}")
    print(f"peak_mib: {peak_mib:.0f}")


if __name__ == "__main__":
    main()
