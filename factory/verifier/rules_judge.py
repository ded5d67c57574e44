"""The ``rules`` judge: no model. The conclusion is pulled out of the think text by pattern and compared
with the final answer. Cheap, deterministic, the embedded default and a cross-check of LLM judges.

The conclusion is the last explicit concluding phrase ('the answer is B', 'final answer: 3.5', 'the
correct option is (C)'); failing that, the last sentence of the think text that holds a value of the
question's kind: an option letter ('... is option A'), a number ('that makes 3'), or for text answers
the last sentence that states something with 'is', 'are' or a colon (else the last sentence). Text answers match when the answer's distinctive words (those not already in
the question) all appear in the conclusion.
"""

from __future__ import annotations

import re

from factory.prompts.gold import choice_letter, parse_number

_EXPLICIT = re.compile(
    r"(?:(?:final\s+)?answer\s*(?:is|should\s+be|would\s+be|must\s+be|[:=])"
    r"|correct\s+(?:option|choice|answer)\s*(?:is|[:=]))"
    r"\s*(?P<value>[^\n;!?]*?)(?:\.(?:\s|$)|[\n;!?]|$)",
    re.IGNORECASE,
)
_SENTENCE_END = re.compile(r"(?<=[.!?])\s+|\n+")
_LETTER = re.compile(r"\boption\s*\(?([A-Z])\b|\(([A-Z])\)|\bis\s+([A-Z])\b")
_STATES = re.compile(r"\b(?:is|are)\b|:")  # a text conclusion states something ('the text is K9Z')
_VALUE_TYPES = ("multiple choice", "numerical", "regression")
_NUMBER = re.compile(r"-?\d+(?:\.\d+)?")
_WORD = re.compile(r"[a-z0-9]+(?:\.[0-9]+)?")
_STOP = {"a", "an", "the", "is", "are", "it", "its", "of", "in", "on", "to", "and", "that", "this", "so", "be",
         "was", "were", "what", "which", "how", "many", "much", "does", "do", "there", "at", "by", "with"}


def _words(text: str) -> set[str]:
    return set(_WORD.findall(text.lower()))


def conclusion_of(think: str | None, problem_type: str) -> str | None:
    """The text of the reasoning's conclusion, or None when it reaches none that can be found."""
    if not think or not think.strip():
        return None
    explicit = [m.group("value").strip(" $*'\"") for m in _EXPLICIT.finditer(think)]
    explicit = [value for value in explicit if value]
    if explicit:
        return explicit[-1]
    sentences = [s for s in _SENTENCE_END.split(think.strip()) if s.strip()]
    for sentence in reversed(sentences):
        if problem_type == "multiple choice":
            letters = [next(g for g in m.groups() if g) for m in _LETTER.finditer(sentence)]
            if letters:
                return letters[-1]
        elif problem_type in ("numerical", "regression"):
            numbers = _NUMBER.findall(sentence)
            if numbers:
                return numbers[-1]
        elif _STATES.search(sentence):
            return sentence.strip()
    return sentences[-1].strip() if problem_type not in _VALUE_TYPES else None


def same_answer(conclusion: str, answer: str, problem_type: str, question: str = "") -> bool:
    """Whether a conclusion names the given answer, by the problem type's notion of 'the same'."""
    answer = answer.strip().strip("$").strip()
    if problem_type == "multiple choice":
        letter = choice_letter(conclusion)
        return letter is not None and letter == choice_letter(answer)
    if problem_type in ("numerical", "regression"):
        numbers = _NUMBER.findall(conclusion)
        a, b = (parse_number(numbers[-1]) if numbers else None), parse_number(answer)
        return a is not None and b is not None and abs(a - b) <= 1e-9 * max(1.0, abs(b))
    wanted = _words(answer) - _words(question) - _STOP or _words(answer)
    return bool(wanted) and wanted <= _words(conclusion)


def rules_verdict(think: str | None, answer: str | None, problem_type: str,
                  question: str = "") -> tuple[str, str | None, str | None, str]:
    """``(status, label, error, raw_output)`` of the rules judge for one rollout."""
    conclusion = conclusion_of(think, problem_type)
    if conclusion is None:
        return "unparsable", None, "no conclusion found in the think text", ""
    label = "consistent" if same_answer(conclusion, answer or "", problem_type, question) else "inconsistent"
    return "ok", label, None, f"conclusion: {conclusion}"
