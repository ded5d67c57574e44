"""Problem types and gold answers, parsed the way the rewards compare them."""

from __future__ import annotations

import re

PROBLEM_TYPES = ("multiple choice", "numerical", "OCR", "free-form", "regression")
_ALIASES = {
    "multiple choice": "multiple choice", "multiple-choice": "multiple choice", "multiple_choice": "multiple choice",
    "mc": "multiple choice", "choice": "multiple choice",
    "numerical": "numerical", "numeric": "numerical", "number": "numerical",
    "ocr": "OCR",
    "free-form": "free-form", "free form": "free-form", "free_form": "free-form", "open": "free-form",
    "regression": "regression",
}
_ANSWER = re.compile(r"<answer>(.*?)</answer>", re.DOTALL | re.IGNORECASE)
_OPTION_LETTER = re.compile(r"^\s*\(?([A-Za-z])\s*[\.\):：]")
_GOLD_LETTER = re.compile(r"^\s*\(?\$?\s*([A-Za-z])\s*\$?\s*(?:[\.\):]|$)")
_NUMBER = re.compile(r"^[-+]?(\d+(\.\d*)?|\.\d+)([eE][-+]?\d+)?$")


def normalize_problem_type(value: object) -> str | None:
    """The canonical Video-R1 name of a problem type, or None if unknown."""
    if not isinstance(value, str):
        return None
    return _ALIASES.get(value.strip().lower())


def unwrap_answer(solution: str) -> str:
    """The text inside ``<answer>`` tags when present (Video-R1 wraps gold that way), stripped."""
    match = _ANSWER.search(solution)
    return (match.group(1) if match else solution).strip()


def option_letters(options: list[str]) -> list[str]:
    """Letters of the options: their own leading letter ('A. red'), else A, B, C... by position."""
    letters = []
    for index, option in enumerate(options):
        match = _OPTION_LETTER.match(option)
        letters.append(match.group(1).upper() if match else chr(ord("A") + index))
    return letters


def choice_letter(text: str) -> str | None:
    """The option letter a gold answer names ('B', '(B)', 'B. red', '$B$'), or None."""
    match = _GOLD_LETTER.match(text)
    return match.group(1).upper() if match else None


def parse_number(text: str) -> float | None:
    """A float from a plain number ('3', '-2.5', '1,000', '12 m' not accepted), or None."""
    cleaned = text.strip().replace(",", "")
    return float(cleaned) if _NUMBER.match(cleaned) else None
