"""Hand-written rollouts and verdicts for the pair tests, written into a store the way the stages write them."""

from __future__ import annotations

from datetime import datetime, timezone

from factory.pairs import PairConfig, run_pairs
from factory.store import Store, TableWriter

NOW = datetime(2026, 11, 26, 12, 0, tzinfo=timezone.utc)


def R(rid: str, pid: str = "q1", *, acc: bool | None = True, cons: bool | None = True, fmt: bool | None = True,
      rep: bool | None = False, trunc: bool | None = False, refl: bool | None = False, think: int | None = 100,
      reward: float | None = None, text: str | None = None, status: str = "ok", vstatus: str | None = "ok",
      verifier: str = "judge", iteration: int | None = 0) -> dict:
    """One rollout and its verdict. ``vstatus=None``: no verdict row; ``reward`` defaults to acc + 0.5 * fmt."""
    if reward is None and acc is not None and fmt is not None:
        reward = float(acc) + 0.5 * float(fmt)
    figures = {"fmt_ok": fmt, "truncated": trunc, "accurate": acc, "think_tokens": think, "repetitive": rep,
               "reflective": refl}
    rollout = {"rollout_id": rid, "prompt_id": pid, "sample_index": 0, "status": status,
               "completion": (text if text is not None else f"<think>{rid}</think><answer>x</answer>")
               if status == "ok" else None,
               "policy_model": "tiny", "engine": "import", "sampling_params": "{}", "template_id": "t",
               "reward_total": reward, "iteration": iteration, "created_at": NOW, "code_version": "test", **figures}
    verdict = None
    if vstatus is not None:
        ok = vstatus == "ok"
        verdict = {"verdict_id": f"v-{rid}-{verifier}", "rollout_id": rid, "prompt_id": pid, "verifier": verifier,
                   "judge_prompt_version": "p1", "judge_sampling_params": "{}", "status": vstatus,
                   "label": ("consistent" if cons else "inconsistent") if ok else None,
                   "consistent": cons if ok else None, "error": None if ok else "boom",
                   "created_at": NOW, "code_version": "test", **figures}
    return {"rollout": rollout, "verdict": verdict}


def write_cases(store: Store, cases: list[dict], *, rows_per_part: int = 500) -> None:
    """A rollouts version and a verdicts version holding ``cases`` (from :func:`R`)."""
    with TableWriter(store, "rollouts", stage="test", config={}, mode="replace", rows_per_part=rows_per_part) as w:
        w.write([c["rollout"] for c in cases])
        w.commit()
    verdicts = [c["verdict"] for c in cases if c["verdict"] is not None]
    with TableWriter(store, "verdicts", stage="test", config={}, mode="replace", rows_per_part=rows_per_part) as w:
        if verdicts:
            w.write(verdicts)
        w.commit()


def pairs_of(store: Store, cases: list[dict], **config) -> list[tuple[str, str, str]]:
    """``(chosen_rollout_id, rejected_rollout_id, pair_type)`` of a run over ``cases``, in table order."""
    write_cases(store, cases)
    run_pairs(store, PairConfig(**config), show_progress=False)
    rows = store.read("pairs").to_pylist()
    return [(r["chosen_rollout_id"], r["rejected_rollout_id"], r["pair_type"]) for r in rows]
