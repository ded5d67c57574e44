"""Free-form accuracy after Video-R1: mean of ROUGE-1, ROUGE-2 and ROUGE-L F-measures (``rouge-score``).

Returns a float in [0, 1] and never raises; a missing or blank gold scores 0.0. Like Video-R1 it uses
rouge-score's default tokenizer (lower-cased, ``[a-z0-9]`` words only) with the Porter stemmer, so text
without Latin letters or digits scores 0.0.
"""

from __future__ import annotations

from functools import lru_cache

from rouge_score import rouge_scorer

ROUGE_TYPES = ("rouge1", "rouge2", "rougeL")


@lru_cache(maxsize=1)
def _scorer() -> rouge_scorer.RougeScorer:
    # Building the scorer loads the stemmer; do it once per process.
    return rouge_scorer.RougeScorer(list(ROUGE_TYPES), use_stemmer=True)


def rouge_mean_f(reference: str, hypothesis: str) -> float:
    """Mean F-measure of ROUGE-1/2/L of ``hypothesis`` against ``reference``."""
    scores = _scorer().score(reference, hypothesis)
    return sum(scores[name].fmeasure for name in ROUGE_TYPES) / len(ROUGE_TYPES)


def video_r1_freeform(answer: str | None, gold: str | None) -> float:
    """``max(0, min(1, mean ROUGE-1/2/L F))`` of the answer against the gold."""
    if answer is None or gold is None or not gold.strip():
        return 0.0
    return max(0.0, min(1.0, rouge_mean_f(gold.strip(), answer.strip())))
