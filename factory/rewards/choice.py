"""Multiple-choice accuracy: Video-R1's exact match and VerIPO's math-verify with an option-letter fallback.

All scorers take the extracted answer (``None`` when the completion has no answer block) and the gold
answer as a string, return 1.0 or 0.0, and never raise. A missing or blank gold scores 0.0.
"""

from __future__ import annotations

import re

from factory.rewards.symbolic import math_equal

# "(B)", "[B]", "(B) red", "(B). red"
_BRACKETED = re.compile(r"[(\[]\s*([A-Z])\s*[)\]][.:]?(?:\s+.*)?", re.S)
# "B", "B.", "B:", "B)", "B. red", "B) red", "B: red". A bare letter followed by words without a
# separator ("A or B") is not taken: it is as likely a sentence as an option.
_PLAIN = re.compile(r"([A-Z])(?:[.:)](?:\s+.*)?)?", re.S)
# "A. red" -> "A": the letter an option line starts with.
_OPTION_HEAD = re.compile(r"\s*[(\[]?\s*([A-Z])\b")


def video_r1_choice(answer: str | None, gold: str | None) -> float:
    """Video-R1: 1.0 iff ``answer.strip() == gold.strip()`` (exact, case-sensitive; "B." is wrong for "B")."""
    if answer is None or gold is None or not gold.strip():
        return 0.0
    return 1.0 if answer.strip() == gold.strip() else 0.0


def option_letter(text: str | None) -> str | None:
    """The option letter ``text`` names, if it is one of the accepted letter forms; else None.

    Accepted (after stripping whitespace and a ``$...$`` wrapping): ``B``, ``(B)``, ``[B]``, ``B.``,
    ``B:``, ``B)``, and any of these followed by a separator and the option text (``B. red``,
    ``(B) red``). Only upper-case letters: a lone "a" is more often a word than an option.
    """
    if text is None:
        return None
    s = text.strip()
    if len(s) >= 2 and s.startswith("$") and s.endswith("$") and "$" not in s.strip("$"):
        s = s.strip("$").strip()
    match = _BRACKETED.fullmatch(s) or _PLAIN.fullmatch(s)
    return match.group(1) if match else None


def option_letters(options: list[str] | None) -> set[str]:
    """Letters the options start with (``["A. red", "B. blue"]`` -> ``{"A", "B"}``); empty if none given."""
    letters = set()
    for option in options or []:
        match = _OPTION_HEAD.match(option or "")
        if match:
            letters.add(match.group(1))
    return letters


def veripo_choice(answer: str | None, gold: str | None, options: list[str] | None = None) -> float:
    """VerIPO: 1.0 if math_verify finds answer and gold equivalent, or both name the same option letter.

    The letter fallback catches what math_verify cannot read, e.g. ``B. red`` against ``B``. When
    ``options`` are given the answer's letter must be one of theirs.
    """
    if answer is None or gold is None or not gold.strip():
        return 0.0
    # The two tests are OR-ed, so the cheap letter test goes first and math-verify runs only when needed.
    gold_letter, answer_letter = option_letter(gold), option_letter(answer)
    allowed = option_letters(options)
    if gold_letter is not None and answer_letter == gold_letter and (not allowed or answer_letter in allowed):
        return 1.0
    return 1.0 if math_equal(answer, gold) else 0.0
