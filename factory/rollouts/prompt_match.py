"""Finding the stored prompt an imported rollout answers: by id, by the source's problem id, or by its text.

Trainer logs (TRL completion logs, verl rollout dumps) keep the prompt only as the text the policy saw:
a template around the question, perhaps a chat. The text rule, applied to that text:

1. Whitespace is collapsed (every run of whitespace becomes one space) in the logged text and in each
   stored ``problem``; a prompt is a *candidate* when its problem occurs in the logged text, starting at
   a word boundary.
2. Where the log carries a ground truth (verl's ``gts``), candidates whose gold agrees are preferred.
3. Then candidates whose options all occur in the text (more options first), then the longest problem.
4. One prompt left: the match. Several left (the same question on different media, say): ambiguous, and
   so is no candidate at all; both are bad rows the caller names. A ``prompt_id`` column in the log
   (TRL: ``log_extra`` from a reward function; verl: the reward's extra info) avoids guessing.
"""

from __future__ import annotations

import re
from collections import defaultdict
from dataclasses import dataclass
from typing import Any

import pyarrow as pa

from factory.prompts.gold import unwrap_answer

PROMPT_COLUMNS = ["prompt_id", "problem_id", "data_source", "problem", "options", "gold", "solution",
                  "media_uri", "media_sha256"]
_WORD = re.compile(r"\w+")
_SHINGLE = 3  # problems are indexed by their first few words, so a lookup need not scan every prompt


def collapse(text: str) -> str:
    """``text`` with every run of whitespace made one space, stripped."""
    return " ".join(text.split())


@dataclass(frozen=True)
class Match:
    """The outcome of resolving one reference: a prompt id, or why there is none (and what to do)."""

    prompt_id: str | None
    problem: str | None = None
    fix: str | None = None


class PromptIndex:
    """The prompts of one version, looked up by ``prompt_id``, ``problem_id`` (+ ``data_source``) or text."""

    def __init__(self, prompts: pa.Table, version: str = "the prompts version"):
        self.version = version
        self.rows: dict[str, dict[str, Any]] = {r["prompt_id"]: r for r in prompts.select(PROMPT_COLUMNS).to_pylist()}
        self._by_problem_id: dict[str, list[dict[str, Any]]] = defaultdict(list)
        self._by_words: dict[tuple[str, ...], list[tuple[str, dict[str, Any]]]] = defaultdict(list)
        self._wordless: list[tuple[str, dict[str, Any]]] = []
        for row in self.rows.values():
            self._by_problem_id[str(row["problem_id"])].append(row)
            problem = collapse(row["problem"])
            words = tuple(_WORD.findall(problem)[:_SHINGLE])
            (self._by_words[words] if words else self._wordless).append((problem, row))
        self._text_cache: dict[tuple[str, str | None], Match] = {}

    def by_id(self, prompt_id: str) -> Match:
        if prompt_id in self.rows:
            return Match(prompt_id)
        return Match(None, f"prompt {prompt_id!r} is not in {self.version}",
                     "import the prompts first, or fix the prompt_id")

    def by_problem_id(self, problem_id: str, data_source: str | None) -> Match:
        found = self._by_problem_id.get(problem_id, [])
        if data_source is not None:
            found = [r for r in found if r["data_source"] == data_source]
        if len(found) == 1:
            return Match(found[0]["prompt_id"])
        if not found:
            where = f" in data source {data_source!r}" if data_source is not None else ""
            return Match(None, f"problem_id {problem_id!r}{where} is not in {self.version}",
                         "import the prompts first, or fix the problem_id / data_source")
        sources = sorted({str(r["data_source"]) for r in found})
        return Match(None, f"problem_id {problem_id!r} names {len(found)} prompts (data sources {sources})",
                     "add a data_source field to say which")

    def by_text(self, text: str, gold: str | None = None) -> Match:
        """The prompt whose problem the logged ``text`` contains (module rule); cached per text."""
        key = (text, gold)
        if key not in self._text_cache:
            self._text_cache[key] = self._match_text(text, gold)
        return self._text_cache[key]

    def _candidates(self, text: str) -> list[dict[str, Any]]:
        words = _WORD.findall(text)
        seen: dict[str, dict[str, Any]] = {}
        for start in range(len(words)):
            for size in range(1, _SHINGLE + 1):
                if start + size > len(words):
                    break
                for problem, row in self._by_words.get(tuple(words[start:start + size]), ()):
                    if row["prompt_id"] not in seen and problem in text:
                        seen[row["prompt_id"]] = row
        for problem, row in self._wordless:
            if problem in text:
                seen.setdefault(row["prompt_id"], row)
        return list(seen.values())

    def _match_text(self, raw: str, gold: str | None) -> Match:
        text = collapse(raw)
        candidates = self._candidates(text)
        if not candidates:
            return Match(None, f"no problem text of {self.version} occurs in the logged prompt",
                         "import the prompts it was trained on, or log a prompt_id column")
        if gold is not None:
            agreeing = [r for r in candidates if _gold_agrees(r, gold)]
            candidates = agreeing or candidates

        def rank(row: dict[str, Any]) -> tuple[bool, int, int]:
            options = row["options"] or []
            shown = all(collapse(o) in text for o in options)
            return shown, len(options) if shown else 0, len(collapse(row["problem"]))

        best = max(rank(r) for r in candidates)
        chosen = [r for r in candidates if rank(r) == best]
        if len(chosen) == 1:
            return Match(chosen[0]["prompt_id"])
        ids = ", ".join(sorted(f"{r['prompt_id']} (problem_id {r['problem_id']})" for r in chosen)[:5])
        return Match(None, f"the logged prompt matches {len(chosen)} prompts equally well: {ids}",
                     "log a prompt_id column to say which (TRL: log_extra from a reward function; verl: the "
                     "reward's extra info)")


def _gold_agrees(row: dict[str, Any], gold: str) -> bool:
    wanted = collapse(unwrap_answer(gold))
    known = {collapse(str(row["gold"] or ""))}
    if row["solution"]:
        known.add(collapse(unwrap_answer(row["solution"])))
    return wanted in known
