"""Prompt templates: the text a policy sees for a question, selected by name, hashed into provenance.

``video-r1`` reproduces the Video-R1 GRPO prompt (question, then a per-problem-type answer
instruction; options appended after "Options:"). ``veripo`` is our VerIPO/MM-EUREKA-style variant
that asks for the final answer inside ``$...$`` within the answer tags. A user template is a TOML or
YAML file with ``question`` (a format string with ``{Question}``) and optional per-type ``types``.
"""

from __future__ import annotations

import hashlib
import json
import tomllib
from dataclasses import dataclass, field
from pathlib import Path

import yaml

from factory.errors import UsageError

_VIDEO_R1_QUESTION = (
    "{Question}\n"
    "Please think about this question as if you were a human pondering deeply. "
    "Engage in an internal dialogue using expressions such as 'let me think', 'wait', 'Hmm', 'oh, I see', "
    "'let's break it down', etc, or other natural language thought expressions "
    "It's encouraged to include self-reflection or verification in the reasoning process. "
    "Provide your detailed reasoning between the <think> </think> tags, and then give your final answer "
    "between the <answer> </answer> tags."
)
_VIDEO_R1_TYPES = {
    "multiple choice": " Please provide only the single option letter (e.g., A, B, C, D, etc.) within the "
                       "<answer> </answer> tags.",
    "numerical": " Please provide the numerical value (e.g., 42 or 3.14) within the <answer> </answer> tags.",
    "OCR": " Please transcribe text from the image/video clearly and provide your text answer within the "
           "<answer> </answer> tags.",
    "free-form": " Please provide your text answer within the <answer> </answer> tags.",
    "regression": " Please provide the numerical value (e.g., 42 or 3.14) within the <answer> </answer> tags.",
}
_VERIPO_QUESTION = (
    "{Question}\n"
    "Think step by step before answering: put your reasoning between <think> and </think>, and check it "
    "before concluding. Then give the final answer between <answer> and </answer>, written inside "
    "dollar signs, for example <answer>$B$</answer>."
)
_VERIPO_TYPES = {
    "multiple choice": " Answer with the single option letter.",
    "numerical": " Answer with a number.",
    "OCR": " Answer with the transcribed text.",
    "free-form": " Answer in a short sentence.",
    "regression": " Answer with a number.",
}


@dataclass(frozen=True)
class PromptTemplate:
    """A question template plus per-problem-type suffixes."""

    id: str
    question: str
    types: dict[str, str] = field(default_factory=dict)
    options_header: str = "Options:\n"

    @property
    def hash(self) -> str:
        payload = json.dumps({"question": self.question, "types": self.types, "options": self.options_header},
                             sort_keys=True)
        return hashlib.sha256(payload.encode()).hexdigest()

    def render(self, problem: str, problem_type: str, options: list[str] | None) -> str:
        """The user text for one question (options listed for multiple choice, as Video-R1 does)."""
        question = problem
        if problem_type == "multiple choice" and options:
            question = problem + self.options_header + "\n".join(options)
        return self.question.replace("{Question}", question) + self.types.get(problem_type, "")


BUILTIN = {
    "video-r1": PromptTemplate("video-r1", _VIDEO_R1_QUESTION, _VIDEO_R1_TYPES),
    "veripo": PromptTemplate("veripo", _VERIPO_QUESTION, _VERIPO_TYPES),
}


def load_template(name_or_path: str) -> PromptTemplate:
    """A built-in template by name, or a user template file (TOML/YAML with question and types)."""
    if name_or_path in BUILTIN:
        return BUILTIN[name_or_path]
    path = Path(name_or_path)
    if not path.is_file():
        raise UsageError(f"unknown prompt template {name_or_path!r}: use {', '.join(BUILTIN)} or a template file")
    text = path.read_text()
    data = yaml.safe_load(text) if path.suffix in (".yaml", ".yml") else tomllib.loads(text)
    if not isinstance(data, dict) or "{Question}" not in str(data.get("question", "")):
        raise UsageError(f"template file {path} needs a 'question' string containing {{Question}}")
    return PromptTemplate(f"file:{path.name}", data["question"], dict(data.get("types", {})),
                          data.get("options_header", "Options:\n"))
