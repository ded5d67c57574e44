"""Numerical accuracy: Video-R1's rounded exact match and VSI-Bench's mean relative accuracy (MRA).

Scorers take the extracted answer (``None`` when absent) and the gold string, return a float in [0, 1]
and never raise; a gold that does not parse as a finite number scores 0.0.
"""

from __future__ import annotations

import math
from fractions import Fraction

from factory.rewards.symbolic import math_number

# VSI-Bench's confidence thresholds C = {0.50, 0.55, ..., 0.95}, kept as exact fractions so that a
# relative error sitting on a boundary (e.g. 0.45) is compared exactly, not through 1 - 0.55 in floats.
MRA_THRESHOLDS: tuple[Fraction, ...] = tuple(Fraction(50 + 5 * k, 100) for k in range(10))


def parse_number(text: str | None) -> float | None:
    """Video-R1's ``normalize_number``: drop every ``,`` then ``float()``; None if that fails.

    Unlike Video-R1 a non-finite result (``nan``, ``inf``) is refused too: it can never be a gold answer
    and would otherwise compare equal to itself.
    """
    if text is None:
        return None
    try:
        value = float(text.replace(",", ""))
    except ValueError:
        return None
    return value if math.isfinite(value) else None


def video_r1_numerical(answer: str | None, gold: str | None) -> float:
    """Video-R1: 1.0 iff both round to the same value at 2 decimals, under the decimal-point rule.

    Decimal-point rule (Video-R1 ``accuracy_reward``): if exactly one of gold and answer contains a
    ``.`` or a ``,`` the answer scores 0.0 before any parsing. So gold ``3`` vs ``3.0`` -> 0.0, gold
    ``1,000`` vs ``1000`` -> 0.0, gold ``3.5`` vs ``3.50`` -> 1.0, gold ``3.14159`` vs ``3.14`` -> 1.0.
    """
    if answer is None or gold is None:
        return 0.0
    gold_s, answer_s = gold.strip(), answer.strip()
    gold_decimal = "." in gold_s or "," in gold_s
    answer_decimal = "." in answer_s or "," in answer_s
    if gold_decimal != answer_decimal:
        return 0.0
    gold_v, answer_v = parse_number(gold_s), parse_number(answer_s)
    if gold_v is None or answer_v is None:
        return 0.0
    return 1.0 if round(gold_v, 2) == round(answer_v, 2) else 0.0


def vsi_number(text: str | None) -> float | None:
    """A number read the way VSI-Bench/VerIPO evaluation reads one, or None.

    The first whitespace-separated token with trailing ``.`` removed (``3.5 meters.`` -> ``3.5``), a
    ``$...$`` wrapping and thousands commas dropped, then ``float()``; failing that, the value math_verify
    reads from the whole text (``\\frac{1}{2}`` -> 0.5). Only finite numbers.
    """
    if text is None:
        return None
    s = text.strip().strip("$").strip()
    if not s:
        return None
    value = parse_number(s.split()[0].rstrip("."))
    return value if value is not None else math_number(s)


def mean_relative_accuracy(pred: float, gold: float) -> float:
    """VSI-Bench MRA: mean over C in {0.50, ..., 0.95} of 1[|pred - gold| / |gold| <= 1 - C].

    Computed on the decimal values of the two floats (``Fraction(repr(x))``) so boundaries are exact.
    A gold of 0 has no relative error: 1.0 if ``pred == 0`` else 0.0. ``<=`` follows the VSI-Bench and
    VerIPO evaluation code (the paper writes ``<``); they differ only when the relative error lands
    exactly on a threshold (0.05, 0.10, ..., 0.50).
    """
    if gold == 0:
        return 1.0 if pred == 0 else 0.0
    gold_f, pred_f = Fraction(repr(gold)), Fraction(repr(pred))
    relative_error = abs(pred_f - gold_f) / abs(gold_f)
    hits = sum(1 for c in MRA_THRESHOLDS if relative_error <= 1 - c)
    return hits / len(MRA_THRESHOLDS)


def veripo_numeric(answer: str | None, gold: str | None) -> float:
    """VerIPO profile for numerical and regression answers: MRA of the VSI-style parsed numbers."""
    gold_v, answer_v = vsi_number(gold), vsi_number(answer)
    if gold_v is None or answer_v is None:
        return 0.0
    return mean_relative_accuracy(answer_v, gold_v)
