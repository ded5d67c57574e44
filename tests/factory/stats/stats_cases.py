"""A small store written row by row, whose every figure is worked out by hand in ``EXPECTED`` comments.

Prompts: pA, pB (multiple choice), pC (numerical), pD (OCR, never sampled). Rollouts (``ok`` unless noted):

| prompt | iteration | accurate        | think_tokens     | notes                                             |
|--------|-----------|-----------------|------------------|---------------------------------------------------|
| pA     | null      | T T T T         | 10 20 30 40      | r0 reflective                                     |
| pB     | null      | T F F F         | 50 60 70 80      | fmt_ok T T T F, truncated F F F T, repetitive     |
|        |           |                 |                  | F F T T, reflective F T F F; r8 status error      |
| pC     | null      | F F F F         | 100 x4           |                                                   |
| pC     | 1         | T T T F         | 200 210 220 230  |                                                   |
| pZ     | null      | T               | 5                | prompt not in prompts: problem type (unknown)     |

Verdicts: judge-a, judge-b and rules on r0..r7; judge-a also on r9..r12 (unparsable, error, ok T, ok F).
Pairs: veripo consistency x2 (margins 0.5, 1.5), veripo accuracy (1.0), other penalty (2.0).
"""

from __future__ import annotations

import pytest

from factory.store import Store, TableWriter
from helpers import full_rows

JUDGE_A = [True, True, True, False, True, False, False, False]
JUDGE_B = [True, True, False, False, True, False, True, False]
RULES = [True, True, True, True, True, False, False, False]


def _row(table: str, index: int, **values) -> dict:
    row = full_rows(table, 1, start=index)[0]
    row.update(values)
    return row


def rollout(index: int, prompt: str, accurate: bool, think_tokens: int, *, iteration=None, status="ok",
            fmt_ok=True, truncated=False, repetitive=False, reflective=False) -> dict:
    return _row("rollouts", index, rollout_id=f"r{index}", prompt_id=prompt, status=status, iteration=iteration,
                accurate=accurate, think_tokens=think_tokens, fmt_ok=fmt_ok, truncated=truncated,
                repetitive=repetitive, reflective=reflective, error=None if status == "ok" else "EngineError: x")


def verdict(index: int, rollout_index: int, prompt: str, verifier: str, *, status="ok", consistent=None,
            accurate=None, error=None, raw_output="consistent") -> dict:
    engine = {"rules": "rules", "judge-a": "openai", "judge-b": "vllm"}[verifier]
    return _row("verdicts", index, verdict_id=f"v{index}", rollout_id=f"r{rollout_index}", prompt_id=prompt,
                verifier=verifier, engine=engine, status=status, consistent=consistent, error=error,
                label=None if consistent is None else ("consistent" if consistent else "inconsistent"),
                accurate=accurate, raw_output=raw_output, iteration=None, attempt=1)


def write(store: Store, table: str, rows: list[dict]) -> None:
    with TableWriter(store, table, stage="test", config={"rows": len(rows)}) as writer:
        writer.write(rows)
        writer.commit()


def prompts_rows() -> list[dict]:
    types = {"pA": "multiple choice", "pB": "multiple choice", "pC": "numerical", "pD": "OCR"}
    return [_row("prompts", i, prompt_id=p, problem_id=f"q-{p}", problem_type=t, iteration=None)
            for i, (p, t) in enumerate(types.items())]


def rollouts_rows() -> list[dict]:
    rows = [rollout(i, "pA", True, 10 * (i + 1), reflective=i == 0) for i in range(4)]
    rows += [rollout(4 + i, "pB", i == 0, 50 + 10 * i, fmt_ok=i < 3, truncated=i == 3, repetitive=i >= 2,
                     reflective=i == 1) for i in range(4)]
    rows.append(rollout(8, "pB", True, 9999, status="error"))
    rows += [rollout(9 + i, "pC", False, 100) for i in range(4)]
    rows += [rollout(13 + i, "pC", i < 3, 200 + 10 * i, iteration=1) for i in range(4)]
    rows.append(rollout(17, "pZ", True, 5))
    return rows


def verdicts_rows() -> list[dict]:
    accurate = [True] * 5 + [False] * 3
    rows, n = [], 0
    for verifier, labels in (("judge-a", JUDGE_A), ("judge-b", JUDGE_B), ("rules", RULES)):
        for i, label in enumerate(labels):
            rows.append(verdict(n, i, "pA" if i < 4 else "pB", verifier, consistent=label, accurate=accurate[i]))
            n += 1
    rows.append(verdict(n, 9, "pC", "judge-a", status="unparsable", raw_output="it could be either"))
    rows.append(verdict(n + 1, 10, "pC", "judge-a", status="error", raw_output=None,
                        error="TimeoutError: no answer after 60 s"))
    rows.append(verdict(n + 2, 11, "pC", "judge-a", consistent=True, accurate=False))
    rows.append(verdict(n + 3, 12, "pC", "judge-a", consistent=False, accurate=False))
    return rows


def pairs_rows() -> list[dict]:
    spec = [("pA", "veripo", "consistency", 0.5), ("pB", "veripo", "consistency", 1.5),
            ("pB", "veripo", "accuracy", 1.0), ("pC", "other", "penalty", 2.0)]
    return [_row("pairs", i, pair_id=f"x{i}", prompt_id=p, policy=policy, pair_type=kind, margin=margin,
                 chosen_think_tokens=100 + i, rejected_think_tokens=200 + i)
            for i, (p, policy, kind, margin) in enumerate(spec)]


def fill(store: Store) -> Store:
    """Write the four tables above into ``store``."""
    write(store, "prompts", prompts_rows())
    write(store, "rollouts", rollouts_rows())
    write(store, "verdicts", verdicts_rows())
    write(store, "pairs", pairs_rows())
    return store


@pytest.fixture
def known_store(store) -> Store:
    """The store above, fresh for each test. Test modules import this fixture by name (a conftest.py here
    would shadow ``tests/conftest.py`` for modules that ``import conftest``)."""
    return fill(store)
