"""The judge prompt: a versioned template (shipped default or a user file), hashed into every verdict key.

The judge sees the question with its options, the think text and the final answer, and says whether the
reasoning's own conclusion matches the answer, regardless of whether either is true. Long think texts are
cut from the start, keeping the end where the conclusion is (see :func:`cut_think`).
"""

from __future__ import annotations

import hashlib
import json
import tomllib
from dataclasses import dataclass
from pathlib import Path

import yaml

from factory.errors import UsageError

LABELS = ("consistent", "inconsistent")

_SYSTEM_V1 = ("You check chains of reasoning. You do not solve problems and you do not judge whether an "
              "answer is true. Reply with exactly one word: consistent or inconsistent.")
_USER_V1 = (
    "Question:\n{question}\n\n"
    "Reasoning:\n{think}\n\n"
    "Final answer given:\n{answer}\n\n"
    "Does the conclusion that the reasoning itself reaches match the final answer given? Ignore whether "
    "either is correct. Reply 'consistent' if the reasoning concludes with this answer, 'inconsistent' if it "
    "concludes with a different answer or reaches no conclusion that supports it."
)


@dataclass(frozen=True)
class JudgePrompt:
    """A judge prompt template; ``version`` goes into verdict keys, ``hash`` guards against silent edits."""

    version: str
    system: str
    user: str
    labels: tuple[str, ...] = LABELS

    @property
    def hash(self) -> str:
        payload = json.dumps({"system": self.system, "user": self.user, "labels": list(self.labels)}, sort_keys=True)
        return hashlib.sha256(payload.encode()).hexdigest()

    @property
    def key(self) -> str:
        """What the verdict key records: the version plus a short hash of the text."""
        return f"{self.version}@{self.hash[:12]}"

    def messages(self, *, question: str, think: str, answer: str) -> list[dict[str, str]]:
        user = self.user.replace("{question}", question).replace("{think}", think).replace("{answer}", answer)
        return ([{"role": "system", "content": self.system}] if self.system else []) + \
            [{"role": "user", "content": user}]


DEFAULT = JudgePrompt("consistency-v1", _SYSTEM_V1, _USER_V1)


def load_judge_prompt(name_or_path: str | None) -> JudgePrompt:
    """The shipped prompt (``None`` or its version name) or a TOML/YAML file with version, system, user."""
    if name_or_path in (None, DEFAULT.version):
        return DEFAULT
    path = Path(name_or_path)
    if not path.is_file():
        raise UsageError(f"unknown judge prompt {name_or_path!r}: use {DEFAULT.version} or a prompt file")
    text = path.read_text()
    data = yaml.safe_load(text) if path.suffix in (".yaml", ".yml") else tomllib.loads(text)
    missing = [k for k in ("version", "user") if not isinstance(data, dict) or not data.get(k)]
    if missing:
        raise UsageError(f"judge prompt file {path} needs {', '.join(missing)}")
    for slot in ("{question}", "{think}", "{answer}"):
        if slot not in data["user"]:
            raise UsageError(f"judge prompt file {path}: 'user' must contain {slot}")
    return JudgePrompt(str(data["version"]), str(data.get("system", "")), str(data["user"]),
                       tuple(data.get("labels", LABELS)))


def cut_think(think: str, max_chars: int) -> tuple[str, int]:
    """Keep the last ``max_chars`` characters of ``think`` (starting at a word) prefixed by '[...] '.

    The conclusion of a chain of thought is at its end, so the start is what goes. Returns the text and
    how many characters were cut (0 when it fits).
    """
    if len(think) <= max_chars:
        return think, 0
    tail = think[-max_chars:]
    space = tail.find(" ")
    if 0 <= space < 40:
        tail = tail[space + 1:]
    return "[...] " + tail, len(think) - len(tail)


def question_text(problem: str, options: list[str] | None) -> str:
    return problem if not options else problem + "\nOptions:\n" + "\n".join(options)
