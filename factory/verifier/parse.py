"""Strict parsing of a judge's raw output into a label (or an honest 'unparsable')."""

from __future__ import annotations

import re

_THINK_BLOCK = re.compile(r"<think>.*?</think>", re.DOTALL | re.IGNORECASE)
_PREFIX = re.compile(r"^(?:final\s+)?(?:answer|label|verdict|judgement|judgment)\s*[:=\-]\s*", re.IGNORECASE)
_EDGES = " \t\r\n.,;:!?\"'`*_()[]{}<>"


def _normalise(line: str) -> str:
    line = line.strip().strip(_EDGES)
    line = _PREFIX.sub("", line)
    return line.strip(_EDGES).lower()


def parse_label(raw: str | None, labels: tuple[str, ...]) -> tuple[str, str | None, str | None]:
    """``(status, label, error)`` for a judge output.

    Accepted: the output is exactly one label, ignoring case, surrounding whitespace, punctuation, quotes
    and markdown, an optional 'Answer:'/'Label:'/'Verdict:' prefix, and a closed ``<think>`` block before
    it; or such a label alone on the last non-empty line after other text. Everything else (empty, both
    labels, unrelated text, an unclosed think block) is ``unparsable`` with the reason.
    """
    if raw is None or not raw.strip():
        return "unparsable", None, "empty output"
    text = _THINK_BLOCK.sub("", raw)
    if "<think>" in text.lower():
        return "unparsable", None, "unclosed <think> block"
    allowed = {label.lower(): label for label in labels}
    whole = _normalise(text)
    if whole in allowed:
        return "ok", allowed[whole], None
    lines = [line for line in text.splitlines() if line.strip()]
    if len(lines) > 1:
        last = _normalise(lines[-1])
        if last in allowed:
            return "ok", allowed[last], None
    mentioned = {label for label in allowed if re.search(rf"\b{re.escape(label)}\b", text.lower())}
    if len(mentioned) > 1:
        return "unparsable", None, "more than one label in the output"
    return "unparsable", None, "no label alone in the output" if mentioned else "no label in the output"
