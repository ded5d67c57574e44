"""Regression accuracy after Video-R1: one minus the relative error, floored at 0.

Returns a float in [0, 1], never raises; a gold or answer that does not parse as a finite number
(Video-R1's ``normalize_number``: commas dropped, ``float()``) scores 0.0.
"""

from __future__ import annotations

from factory.rewards.numeric import parse_number


def video_r1_regression(answer: str | None, gold: str | None) -> float:
    """``1 - min(1, |answer - gold| / |gold|)``; exactly 1.0 when equal; gold 0 with answer != 0 -> 0.0.

    Video-R1 computes ``(|a - g| + 1e-9) / (|g| + 1e-9)``: that epsilon keeps an exact answer just below
    1 and turns gold 0 / answer 0 into a reward of 0. We use the plain relative error instead, so an
    exact answer earns exactly 1.0 (the two agree to within 1e-9 / |gold| everywhere else).
    """
    gold_v, answer_v = parse_number(gold), parse_number(answer)
    if gold_v is None or answer_v is None:
        return 0.0
    if answer_v == gold_v:
        return 1.0
    if gold_v == 0:
        return 0.0
    relative_error = abs(answer_v - gold_v) / abs(gold_v)
    return 1.0 - min(1.0, relative_error)
