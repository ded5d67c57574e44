"""factory verify vs a raw asyncio OpenAI client, against one local vLLM server, in judgements per second.

The raw client sends the very requests the factory sends (same judge prompt, structured choice, max
tokens, logprobs) at several concurrency levels; its best rate is the server's ceiling. Then
``factory verify --judge openai`` judges the same rollouts at that concurrency, store reads and Parquet
writes included. Prints both rates and ``ratio: factory / raw`` (target >= 0.9).

    .venv/bin/python bench/verify.py [--rollouts 1500] [--concurrency 8,16,32,64]
"""

from __future__ import annotations

import argparse
import asyncio
import json
import random
import statistics
import sys
import tempfile
import time
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent


def make_rollouts_file(path: Path, count: int) -> None:
    """``count`` written completions (the bundled ones, cycled with fresh sample indices)."""
    rows = [json.loads(line) for line in (REPO / "data/completions/sample_completions.jsonl").read_text().splitlines()]
    rows = [r for r in rows if "<answer>" in r["completion"] and "<think>" in r["completion"]]
    with open(path, "w") as handle:
        for i in range(count):
            row = dict(rows[i % len(rows)])
            row["sample_index"] = 100 + i
            row.pop("expect", None)
            handle.write(json.dumps(row) + "\n")


async def raw_rate(base_url: str, model: str, requests: list[dict], concurrency: int) -> float:
    from openai import AsyncOpenAI

    client = AsyncOpenAI(base_url=base_url, api_key="EMPTY", max_retries=0)
    gate = asyncio.Semaphore(concurrency)

    async def one(body: dict) -> None:
        async with gate:
            await client.chat.completions.create(model=model, **body)

    started = time.perf_counter()
    await asyncio.gather(*(one(body) for body in requests))
    seconds = time.perf_counter() - started
    await client.close()
    return len(requests) / seconds


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--rollouts", type=int, default=1500)
    parser.add_argument("--concurrency", default="8,16,32,64")
    parser.add_argument("--repeats", type=int, default=3)
    args = parser.parse_args()
    from factory.prompts import ImportConfig, import_prompts
    from factory.rollouts.importer import RolloutImportConfig, import_rollouts
    from factory.store import Store
    from factory.verifier.config import VerifyConfig
    from factory.verifier.run import VerifyRun, run_verify

    # after the factory imports: tests/factory would otherwise shadow the installed package
    sys.path.insert(0, str(REPO / "data"))
    sys.path.append(str(REPO / "tests"))
    import tiny_models
    from servers import start_vllm_server

    model_dir = tiny_models.build_all(REPO / "build" / "models")["text"]
    work = Path(tempfile.mkdtemp(prefix="bench-verify-"))
    make_rollouts_file(work / "rollouts.jsonl", args.rollouts)

    def fresh_store(name: str) -> Store:
        store = Store(work / name)
        import_prompts(store, REPO / "data/sample/sample.json", ImportConfig(), show_progress=False)
        import_rollouts(store, work / "rollouts.jsonl", RolloutImportConfig(), show_progress=False)
        return store

    with start_vllm_server(model_dir, served_name="judge", extra_args=("--max-model-len", "2048")) as server:
        config = VerifyConfig(judge="openai", judge_model="judge", base_url=server.base_url, max_think_chars=400)
        run = VerifyRun(fresh_store("raw"), config)
        bodies = []
        for row in run.rows.iter_rows(named=True):
            if row["think"] is None or row["answer"] is None:
                continue
            request, _ = run.request(row)
            s = request.sampling
            bodies.append({"messages": request.messages, "temperature": s.temperature, "max_tokens": s.max_tokens,
                           "seed": s.seed, "logprobs": True, "top_logprobs": s.logprobs,
                           "extra_body": {"structured_outputs": {"choice": s.choices}}})
        random.Random(0).shuffle(bodies)
        asyncio.run(raw_rate(server.base_url, "judge", bodies[:64], 16))  # warm-up
        rates = {}
        for concurrency in [int(c) for c in args.concurrency.split(",")]:
            rates[concurrency] = asyncio.run(raw_rate(server.base_url, "judge", bodies, concurrency))
            print(f"raw client, concurrency {concurrency:>3}: {rates[concurrency]:,.1f} judgements/s")
        best = max(rates, key=rates.get)
        # Alternate raw and factory runs at the best concurrency: on a shared 2-core machine the server's
        # speed drifts, and alternating keeps the comparison fair.
        raw_rates, factory_rates = [], []
        for repeat in range(args.repeats):
            raw_rates.append(asyncio.run(raw_rate(server.base_url, "judge", bodies, best)))
            store = fresh_store(f"factory-{repeat}")
            summary = run_verify(store, VerifyConfig(judge="openai", judge_model="judge", base_url=server.base_url,
                                                     max_think_chars=400, concurrency=best), show_progress=False)
            judged = summary.statuses["ok"] + summary.statuses["unparsable"] + summary.statuses["error"]
            factory_rates.append(judged / summary.seconds)
            print(f"repeat {repeat}: raw {raw_rates[-1]:,.1f}/s, factory {factory_rates[-1]:,.1f}/s "
                  f"({judged} judged, {dict(summary.statuses)})")
    raw, factory = statistics.median(raw_rates), statistics.median(factory_rates)
    print(f"requests: {len(bodies)}")
    print(f"raw asyncio client at its best concurrency ({best}): {raw:,.1f} judgements/s (median of {args.repeats})")
    print(f"factory verify at concurrency {best}:            {factory:,.1f} judgements/s (median of {args.repeats})")
    print(f"ratio: {factory / raw:.3f}")


if __name__ == "__main__":
    main()
