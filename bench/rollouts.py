"""Factory rollouts vs a raw ``vllm.LLM.generate`` on the same prompts and sampling params.

Both use one in-process engine (the tiny Qwen2.5-VL policy on the sample videos unless --policy is
given). The raw call gets its prompts already rendered and its frames already decoded; the factory
run does everything it does for users (decode, render, generate, score, write Parquet). Prints
generated tokens per second for each and ``ratio: factory / raw`` (target >= 0.95).

    .venv/bin/python bench/rollouts.py [--n 8] [--max-new-tokens 128] [--repeats 2]
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


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--policy", default=None, help="policy model folder (default: tiny Qwen2.5-VL, built)")
    parser.add_argument("--tasks", default=str(REPO / "data" / "sample" / "sample.json"))
    parser.add_argument("--n", type=int, default=8)
    parser.add_argument("--max-new-tokens", type=int, default=128)
    parser.add_argument("--repeats", type=int, default=5)
    parser.add_argument("--threads", type=int, default=None, help="OMP threads (CPU)")
    args = parser.parse_args()
    if args.threads:  # fewer engine threads swing less with other load on a shared CPU machine
        os.environ["OMP_NUM_THREADS"] = str(args.threads)
        os.environ["VLLM_CPU_OMP_THREADS_BIND"] = f"0-{args.threads - 1}"
    os.environ.setdefault("VLLM_ENABLE_V1_MULTIPROCESSING", "0")

    sys.path.insert(0, str(REPO / "data"))
    import tiny_models
    from vllm import SamplingParams

    from factory.engines.vllm_engine import VLLMEngine
    from factory.prompts import ImportConfig, import_prompts
    from factory.rollouts.config import RolloutConfig
    from factory.rollouts.generate import RolloutRun, run_rollouts
    from factory.store import Store

    policy = args.policy or str(tiny_models.build_all(REPO / "build" / "models")["vl"])
    work = Path(tempfile.mkdtemp(prefix="bench-rollouts-"))
    base_store = Store(work / "prompts-only")
    import_prompts(base_store, args.tasks, ImportConfig(), show_progress=False)
    config = RolloutConfig(policy=policy, n=args.n, max_new_tokens=args.max_new_tokens, max_model_len=2048,
                           enforce_eager=True, rows_per_part=4096)
    # No prefix or multimodal cache: both runs see the same prompts, and a cache would favour the second.
    engine = VLLMEngine(policy, max_model_len=2048, enforce_eager=True, enable_prefix_caching=False,
                        mm_processor_cache_gb=0)

    # The raw baseline's inputs, prepared outside its timing: rendered prompts, decoded frames, params.
    run = RolloutRun(base_store, config)
    planned, _ = run.plan(lambda key: False)
    import queue

    by_id: dict = {}
    requests = list(run.requests(planned, queue.Queue(), by_id))
    prompts = [engine.render(r) for r in requests]
    params = [SamplingParams(n=r.sampling.n, temperature=r.sampling.temperature, top_p=r.sampling.top_p,
                             top_k=r.sampling.top_k, max_tokens=r.sampling.max_tokens, seed=r.sampling.seed)
              for r in requests]
    engine.llm.generate(prompts[:2], params[:2], use_tqdm=False)  # warm-up

    raw_rates, factory_rates, ratios = [], [], []

    def raw_run() -> float:
        started = time.perf_counter()
        outputs = engine.llm.generate(prompts, params, use_tqdm=False)
        seconds = time.perf_counter() - started
        return sum(len(c.token_ids) for o in outputs for c in o.outputs) / seconds

    def factory_run(repeat: int) -> float:
        store = Store(work / f"factory-{repeat}")
        import_prompts(store, args.tasks, ImportConfig(), show_progress=False)
        started = time.perf_counter()
        summary = run_rollouts(store, config, engine=engine, show_progress=False)
        return summary.generated_tokens / (time.perf_counter() - started)

    for repeat in range(args.repeats):
        # Adjacent runs see the same machine load; alternate which goes first.
        if repeat % 2 == 0:
            raw_rates.append(raw_run())
            factory_rates.append(factory_run(repeat))
        else:
            factory_rates.append(factory_run(repeat))
            raw_rates.append(raw_run())
        ratios.append(factory_rates[-1] / raw_rates[-1])
        print(f"repeat {repeat}: raw {raw_rates[-1]:,.0f} tok/s, factory {factory_rates[-1]:,.0f} tok/s, "
              f"ratio {ratios[-1]:.3f}")
    engine.close()
    raw, factory = statistics.median(raw_rates), statistics.median(factory_rates)
    print(f"prompts: {len(requests)}, n: {args.n}, max_new_tokens: {args.max_new_tokens}")
    print(f"raw vllm.LLM.generate: {raw:,.0f} generated tok/s (median of {args.repeats})")
    print(f"factory rollouts:      {factory:,.0f} generated tok/s (median of {args.repeats})")
    print(f"ratio: {statistics.median(ratios):.3f}  (median of the per-repeat ratios)")


if __name__ == "__main__":
    main()
