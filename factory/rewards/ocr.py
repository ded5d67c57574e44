"""OCR accuracy after Video-R1: one minus the word error rate, clamped to [0, 1], via ``jiwer``.

Returns a float in [0, 1] and never raises; a missing or blank gold scores 0.0.
"""

from __future__ import annotations

import jiwer


def word_error_rate(reference: str, hypothesis: str) -> float:
    """Word-level edit distance / number of reference words, words split on any whitespace.

    Matches Video-R1's hand-written ``wer``: its ``str.split()`` splits on newlines and tabs too, while
    jiwer's default transform splits on spaces only, so both sides are re-joined with single spaces
    first. With no reference words Video-R1 divides by 1 (``max(1, m)``): the hypothesis' word count.
    """
    ref = " ".join(reference.split())
    hyp = " ".join(hypothesis.split())
    if not ref:
        return float(len(hyp.split()))
    if not hyp:
        return 1.0  # every reference word deleted
    return float(jiwer.wer(ref, hyp))


def video_r1_ocr(answer: str | None, gold: str | None) -> float:
    """``max(0, min(1, 1 - WER(gold, answer)))``; a missing answer scores 0.0 (all words deleted)."""
    if answer is None or gold is None or not gold.strip():
        return 0.0
    return max(0.0, min(1.0, 1.0 - word_error_rate(gold.strip(), answer.strip())))
