"""Written completions as GRPO's samples: a TRL ``rollout_func`` for tests.

A tiny random policy writes random text: no think block, no answer, nothing to verify or pair. To test
the GRPO -> verify -> pairs -> DPO path on well-formed text, this hook hands TRL the bundled written
completions (``data/completions/sample_completions.jsonl``: right, wrong, inconsistent, truncated,
repetitive, malformed ones per sample task) instead of sampling; everything after generation (rewards,
the loss, the recorded rollouts) is TRL's and the factory's own code.
"""

from __future__ import annotations

import json
from collections import defaultdict
from pathlib import Path

REPO = Path(__file__).resolve().parents[2]
COMPLETIONS = REPO / "data" / "completions" / "sample_completions.jsonl"
SAMPLE = REPO / "data" / "sample" / "sample.json"


class WrittenRollouts:
    """``rollout_func(prompts, trainer)``: for each prompt, the next written completion of its question."""

    def __init__(self) -> None:
        problems = {str(row["problem_id"]): row["problem"] for row in json.loads(SAMPLE.read_text())}
        self.by_problem: dict[str, list[str]] = defaultdict(list)
        for line in COMPLETIONS.read_text().splitlines():
            row = json.loads(line)
            self.by_problem[problems[str(row["problem_id"])]].append(row["completion"])
        self.taken: dict[str, int] = defaultdict(int)
        self.calls = 0

    def _question(self, prompt) -> str:
        content = prompt[-1]["content"]
        text = content if isinstance(content, str) else "".join(p.get("text") or "" for p in content
                                                                if p.get("type") == "text")
        matches = [problem for problem in self.by_problem if problem in text]
        assert matches, f"no written completions for prompt {text[:80]!r}"
        return max(matches, key=len)

    def __call__(self, prompts, trainer):
        self.calls += 1
        prompt_ids, _, _ = trainer._tokenize_prompts(prompts)
        tokenizer = getattr(trainer.processing_class, "tokenizer", trainer.processing_class)
        completion_ids = []
        for prompt in prompts:
            question = self._question(prompt)
            options = self.by_problem[question]
            text = options[self.taken[question] % len(options)]
            self.taken[question] += 1
            completion_ids.append(tokenizer(text, add_special_tokens=False)["input_ids"] + [tokenizer.eos_token_id])
        return {"prompt_ids": prompt_ids, "completion_ids": completion_ids, "logprobs": None}
