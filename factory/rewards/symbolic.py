"""The one door to ``math_verify``: equivalence of an answer and a gold answer, and numbers from LaTeX.

Guarantees: never raises for any input string (math_verify's own errors and timeouts read as "not
equal" / "no number"), and works off the main thread. math_verify guards parsing and comparison with
``signal.alarm``, which only the main thread may use; elsewhere we call it without a timeout rather than
let it raise.
"""

from __future__ import annotations

import math
import threading

from math_verify import parse, verify

TIMEOUT_S = 5


def _timeout() -> int | None:
    return TIMEOUT_S if threading.current_thread() is threading.main_thread() else None


def _parse(text: str) -> list:
    # Bare text goes in as inline math, as VerIPO's evaluation does for the gold (f"${gold}$"): without
    # delimiters math_verify's LaTeX extractor ignores "B" or "\frac{1}{2}".
    source = text if "$" in text else f"${text}$"
    try:
        return parse(source, parsing_timeout=_timeout())
    except Exception:  # noqa: BLE001 - any parser failure is "unparsable", scored 0
        return []


def math_equal(answer: str | None, gold: str | None) -> bool:
    """True when math_verify finds ``answer`` equivalent to ``gold`` (e.g. ``1/2`` vs ``0.5``, ``$B$`` vs ``B``).

    False when either side is missing, blank or unparsable.
    """
    if answer is None or gold is None or not answer.strip() or not gold.strip():
        return False
    gold_parsed = _parse(gold.strip())
    answer_parsed = _parse(answer.strip())
    if not gold_parsed or not answer_parsed:
        return False
    try:
        return bool(verify(gold_parsed, answer_parsed, timeout_seconds=_timeout()))
    except Exception:  # noqa: BLE001
        return False


def math_number(text: str | None) -> float | None:
    """The finite real number math_verify reads from ``text`` (``\\frac{1}{2}`` -> 0.5); else None."""
    if text is None or not text.strip():
        return None
    parsed = _parse(text.strip())
    if not parsed or isinstance(parsed[0], str):
        return None
    expr = parsed[0]
    try:
        if not getattr(expr, "is_number", False) or not expr.is_real:
            return None
        value = float(expr)
    except Exception:  # noqa: BLE001 - sets, matrices, symbols: not a number
        return None
    return value if math.isfinite(value) else None
