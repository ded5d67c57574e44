"""A synthetic store with plausible figures, built column-at-a-time (numpy + Arrow) at any size.

Used by the HTML rendering test (a few thousand rows) and for timing ``compute_report`` at scale::

    python tests/factory/stats/stats_synthetic.py /tmp/big-store --prompts 125000   # 1M rollouts, ~1.1M verdicts
"""

from __future__ import annotations

import hashlib
from datetime import datetime, timezone

import numpy as np
import pyarrow as pa

from factory.store import Store, TableWriter

TYPES = ("multiple choice", "numerical", "OCR", "free-form", "regression")
TYPE_WEIGHTS = (0.5, 0.2, 0.1, 0.1, 0.1)
NOW = datetime(2026, 11, 26, 12, 0, tzinfo=timezone.utc)


def _keys(prefix: str, n: int) -> pa.Array:
    return pa.array([hashlib.sha256(f"{prefix}{i}".encode()).hexdigest() for i in range(n)])


def _const(value, n: int, type_=None) -> pa.Array:
    return pa.array(np.full(n, value) if type_ is None else [value] * n, type=type_)


def _write(store: Store, table: str, data: pa.Table, rows_per_part: int) -> None:
    with TableWriter(store, table, stage="synthetic", config={"rows": data.num_rows},
                     rows_per_part=rows_per_part) as writer:
        writer.write(data)
        writer.commit()


def build(store: Store, prompts: int = 500, group: int = 8, *, second_judge_share: float = 0.1,
          seed: int = 0, rows_per_part: int = 250_000) -> dict[str, int]:
    """Write prompts, ``prompts * group`` rollouts, judge verdicts (plus a second judge and the rules
    verifier on a share of rollouts) and pairs; returns the row count per table."""
    rng = np.random.default_rng(seed)
    n_rollouts = prompts * group
    prompt_ids = _keys("p", prompts)
    types = rng.choice(len(TYPES), size=prompts, p=TYPE_WEIGHTS)
    type_names = pa.array(np.array(TYPES, dtype=object)[types])
    _write(store, "prompts", pa.table({
        "prompt_id": prompt_ids, "problem_id": pa.array([str(i) for i in range(prompts)]),
        "problem": _const("What happens in the video?", prompts, pa.string()), "problem_type": type_names,
        "options": pa.array([["A. yes", "B. no"]] * prompts, type=pa.list_(pa.string())),
        "data_type": _const("video", prompts, pa.string()), "source_file": _const("synthetic", prompts, pa.string()),
        "source_row": pa.array(np.arange(prompts)), "created_at": _const(NOW, prompts, pa.timestamp("us", "UTC")),
        "code_version": _const("synthetic", prompts, pa.string()),
    }), rows_per_part)

    # rollouts: each question has a difficulty; accuracy, length and flags follow from it
    owner = np.repeat(np.arange(prompts), group)
    difficulty = rng.beta(1.2, 1.0, size=prompts)[owner]
    accurate = rng.random(n_rollouts) < difficulty
    think_tokens = np.minimum(rng.lognormal(5.3 + 0.3 * (types[owner] == 1), 0.6, n_rollouts), 4096).astype(int)
    truncated = (think_tokens >= 4096) | (rng.random(n_rollouts) < 0.02)
    repetitive = rng.random(n_rollouts) < 0.03 + 0.2 * truncated
    error = rng.random(n_rollouts) < 0.01
    rollout_ids = _keys("r", n_rollouts)
    status = np.where(error, "error", "ok")

    def masked(values: np.ndarray) -> pa.Array:
        return pa.array(values, mask=error)

    _write(store, "rollouts", pa.table({
        "rollout_id": rollout_ids, "prompt_id": prompt_ids.take(pa.array(owner)),
        "sample_index": pa.array(np.tile(np.arange(group), prompts)), "status": pa.array(status),
        "completion": masked(np.where(accurate, "<think>so it is A</think><answer>A</answer>",
                                      "<think>maybe B</think><answer>B</answer>")),
        "policy_model": _const("Qwen2.5-VL-7B", n_rollouts, pa.string()),
        "engine": _const("vllm", n_rollouts, pa.string()), "sampling_params": _const("{}", n_rollouts, pa.string()),
        "template_id": _const("veripo", n_rollouts, pa.string()),
        "iteration": pa.array(np.where(owner < prompts // 2, 0, 1)),
        "think_tokens": masked(think_tokens), "fmt_ok": masked(rng.random(n_rollouts) < 0.95),
        "truncated": masked(truncated), "accurate": masked(accurate), "repetitive": masked(repetitive),
        "reflective": masked(rng.random(n_rollouts) < 0.3), "reward_total": masked(accurate + 0.5),
        "created_at": _const(NOW, n_rollouts, pa.timestamp("us", "UTC")),
        "code_version": _const("synthetic", n_rollouts, pa.string()),
    }), rows_per_part)

    # verdicts: the judge on every ok rollout; a second judge and the rules verifier on a share of them
    ok = np.flatnonzero(~error)
    second = ok[rng.random(ok.size) < second_judge_share]
    judged = np.concatenate([ok, second, second])
    verifier = np.concatenate([np.full(ok.size, "qwen-judge"), np.full(second.size, "llama-judge"),
                               np.full(second.size, "rules")]).astype(object)
    n_verdicts = judged.size
    roll = rng.random(n_verdicts)
    v_status = np.where(roll < 0.01, "error", np.where(roll < 0.03, "unparsable", "ok")).astype(object)
    v_status[verifier == "rules"] = "ok"
    consistent = np.where(accurate[judged], rng.random(n_verdicts) < 0.9, rng.random(n_verdicts) < 0.6)
    not_ok = v_status != "ok"
    _write(store, "verdicts", pa.table({
        "verdict_id": _keys("v", n_verdicts), "rollout_id": rollout_ids.take(pa.array(judged)),
        "prompt_id": prompt_ids.take(pa.array(owner[judged])), "verifier": pa.array(verifier),
        "judge_prompt_version": _const("consistency-v1", n_verdicts, pa.string()),
        "judge_sampling_params": _const("{}", n_verdicts, pa.string()), "status": pa.array(v_status),
        "error": pa.array(np.where(v_status == "error", "TimeoutError: judge did not answer in 60 s", None)),
        "raw_output": pa.array(np.where(v_status == "unparsable", "I think it is fine", "consistent")),
        "label": pa.array(np.where(consistent, "consistent", "inconsistent"), mask=not_ok),
        "consistent": pa.array(consistent, mask=not_ok), "attempt": pa.array(np.ones(n_verdicts, dtype=int)),
        "accurate": pa.array(accurate[judged]), "iteration": pa.array(np.where(owner[judged] < prompts // 2, 0, 1)),
        "created_at": _const(NOW, n_verdicts, pa.timestamp("us", "UTC")),
        "code_version": _const("synthetic", n_verdicts, pa.string()),
    }), rows_per_part)

    # pairs: two per question on the first and second rollouts of the group
    n_pairs = prompts * 2
    pair_owner = np.repeat(np.arange(prompts), 2)
    pair_type = np.array(["accuracy", "consistency", "penalty"], dtype=object)[rng.integers(0, 3, n_pairs)]
    _write(store, "pairs", pa.table({
        "pair_id": _keys("x", n_pairs), "prompt_id": prompt_ids.take(pa.array(pair_owner)),
        "policy": _const("veripo", n_pairs, pa.string()), "pair_type": pa.array(pair_type),
        "chosen_rollout_id": rollout_ids.take(pa.array(pair_owner * group)),
        "rejected_rollout_id": rollout_ids.take(pa.array(pair_owner * group + 1)),
        "chosen": _const("<think>so it is A</think><answer>A</answer>", n_pairs, pa.string()),
        "rejected": _const("<think>maybe B</think><answer>B</answer>", n_pairs, pa.string()),
        "margin": pa.array(rng.uniform(0.1, 1.5, n_pairs)),
        "chosen_think_tokens": pa.array(rng.integers(100, 600, n_pairs)),
        "rejected_think_tokens": pa.array(rng.integers(50, 900, n_pairs)),
        "created_at": _const(NOW, n_pairs, pa.timestamp("us", "UTC")),
        "code_version": _const("synthetic", n_pairs, pa.string()),
    }), rows_per_part)
    return {"prompts": prompts, "rollouts": n_rollouts, "verdicts": n_verdicts, "pairs": n_pairs}


if __name__ == "__main__":
    import argparse

    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("store")
    parser.add_argument("--prompts", type=int, default=125_000)
    parser.add_argument("--group", type=int, default=8)
    args = parser.parse_args()
    print(build(Store(args.store), args.prompts, args.group))
