"""Replica scaling of ``factory rollouts --engine ray``: the same rollout job with 1 and with N engine replicas.

Each run is a real factory run on a fresh store (decode on the workers, generate, ingest, score, write):
the tiny Qwen2.5-VL policy on the sample videos unless --policy is given, a local Ray unless --address
is. Throughput is generated tokens over the generation window (first to last result), which leaves the
engines' start-up out; the end-to-end time is printed too. The last line is ``ratio: X``, the window
throughput of the largest replica count over the smallest.

    .venv/bin/python bench/ray_scaling.py                        # 1 and 2 replicas on this machine's cores
    python bench/ray_scaling.py --replicas 1 8 --policy Qwen/Qwen2.5-VL-7B-Instruct \\
        --address auto --store s3://bucket/bench-store --max-new-tokens 768    # a GPU cluster
"""

from __future__ import annotations

import argparse
import os
import sys
import tempfile
import time
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--replicas", type=int, nargs="+", default=[1, 2], help="replica counts to compare")
    parser.add_argument("--policy", default=None, help="policy model folder or Hub id (default: tiny Qwen2.5-VL)")
    parser.add_argument("--tasks", default=str(REPO / "data" / "sample" / "sample.json"))
    parser.add_argument("--n", type=int, default=8)
    parser.add_argument("--max-new-tokens", type=int, default=256)
    parser.add_argument("--max-model-len", type=int, default=1024)
    parser.add_argument("--tensor-parallel-size", type=int, default=1)
    parser.add_argument("--gpus-per-replica", type=float, default=None)
    parser.add_argument("--address", default=None, help="Ray cluster to join (default: a local Ray per run)")
    parser.add_argument("--store", default=None, help="store root every node reaches (default: a temp folder)")
    args = parser.parse_args()
    os.environ.setdefault("VLLM_CPU_KVCACHE_SPACE", "1")

    sys.path.insert(0, str(REPO / "data"))
    import tiny_models

    from factory.prompts import ImportConfig, import_prompts
    from factory.rollouts.config import RolloutConfig
    from factory.rollouts.generate import run_rollouts
    from factory.store import Store

    policy = args.policy or str(tiny_models.build_all(REPO / "build" / "models")["vl"])
    root = (args.store or tempfile.mkdtemp(prefix="bench-ray-")).rstrip("/")
    rates = {}
    for replicas in args.replicas:
        store = Store(f"{root}/replicas-{replicas}-{int(time.time())}")
        import_prompts(store, args.tasks, ImportConfig(), show_progress=False)
        config = RolloutConfig(policy=policy, engine="ray", replicas=replicas, n=args.n,
                               max_new_tokens=args.max_new_tokens, max_model_len=args.max_model_len,
                               enforce_eager=True, tensor_parallel_size=args.tensor_parallel_size,
                               gpus_per_replica=args.gpus_per_replica, address=args.address, rows_per_part=4096)
        started = time.perf_counter()
        summary = run_rollouts(store, config, show_progress=False)
        seconds = time.perf_counter() - started
        rates[replicas] = summary.generated_tokens / summary.generate_seconds if summary.generate_seconds else 0.0
        print(f"replicas {replicas}: {rates[replicas]:,.0f} generated tok/s over a {summary.generate_seconds:.1f} s "
              f"generation window; {summary.generated_tokens} tokens, {summary.written} rollouts, "
              f"{seconds:.1f} s end to end ({summary.generated_tokens / seconds:,.0f} tok/s)", flush=True)
    low, high = min(rates), max(rates)
    print(f"policy: {policy}; n: {args.n}; max_new_tokens: {args.max_new_tokens}; cores here: "
          f"{len(os.sched_getaffinity(0))}")
    print(f"ratio: {rates[high] / rates[low]:.3f}" if rates[low] else "ratio: nan")


if __name__ == "__main__":
    main()
