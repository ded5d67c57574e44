"""Agreement between verifiers on the same rollouts (judge vs judge, judge vs the rules judge)."""

from __future__ import annotations

import polars as pl

from factory.store import Store


def agreement(store: Store, version: str | None = None) -> pl.DataFrame:
    """One row per pair of verifiers: rollouts both judged ``ok``, share with the same label, Cohen's kappa."""
    latest = store.resolve("verdicts", version)
    columns = ["rollout_id", "verifier", "status", "consistent"]
    frame = pl.from_arrow(store.read("verdicts", latest.id if latest else None, columns=columns))
    frame = frame.filter(pl.col("status") == "ok").select("rollout_id", "verifier", "consistent")
    names = sorted(frame["verifier"].unique().to_list())
    rows = []
    for i, a in enumerate(names):
        for b in names[i + 1:]:
            both = frame.filter(pl.col("verifier") == a).join(frame.filter(pl.col("verifier") == b), on="rollout_id",
                                                              suffix="_b")
            n = both.height
            if n == 0:
                rows.append({"verifier_a": a, "verifier_b": b, "both_judged": 0, "agreement": None, "kappa": None})
                continue
            x, y = both["consistent"], both["consistent_b"]
            observed = float((x == y).mean())
            px, py = float(x.mean()), float(y.mean())
            expected = px * py + (1 - px) * (1 - py)
            kappa = (observed - expected) / (1 - expected) if expected < 1 else None
            rows.append({"verifier_a": a, "verifier_b": b, "both_judged": n, "agreement": observed, "kappa": kappa})
    return pl.DataFrame(rows, schema={"verifier_a": pl.Utf8, "verifier_b": pl.Utf8, "both_judged": pl.Int64,
                                      "agreement": pl.Float64, "kappa": pl.Float64})
