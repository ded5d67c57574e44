"""TRL reward functions that *are* the factory's reward profiles, for ``GRPOTrainer(reward_funcs=...)``.

TRL calls each reward function as ``f(prompts=..., completions=..., completion_ids=..., **columns)`` where
``columns`` holds every other dataset column, one value per completion. The ``trl-grpo`` export
(:mod:`factory.export`) writes the columns these functions read: ``gold``, ``problem_type``, ``options``
and ``prompt_id``. Scores come from :func:`factory.rewards.score_frame`, so a GRPO run is rewarded exactly
as the factory scores rollouts (``reward_accuracy``, ``reward_format``, ``reward_length``).

TRL logs each function under its ``__name__``: ``accuracy_reward``, ``format_reward`` and, with the
video-r1 length bonus, ``length_reward``; their sum is the rollout's ``reward_total``.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any

import polars as pl

from factory.rewards.errors import MissingColumns, UnsupportedRewardOption
from factory.rewards.profiles import get_profile, score_frame

RewardFunc = Callable[..., list[float]]
NEEDED = ("gold", "problem_type")


def completion_text(completion: Any) -> str:
    """The text of one TRL completion: a string, or (conversational) the last assistant message's content.

    Content given as a list of parts (``{"type": "text", "text": ...}``) is joined from its text parts.
    """
    if completion is None:
        return ""
    if isinstance(completion, str):
        return completion
    messages = [m for m in completion if isinstance(m, dict)]
    assistant = [m for m in messages if m.get("role") == "assistant"] or messages
    if not assistant:
        return ""
    content = assistant[-1].get("content")
    if isinstance(content, list):
        return "".join(part.get("text") or "" for part in content
                       if isinstance(part, dict) and part.get("type", "text") == "text")
    return content or ""


def _column(kwargs: dict[str, Any], name: str, size: int) -> list[Any]:
    values = kwargs.get(name)
    if values is None:
        return [None] * size
    values = list(values)
    if len(values) != size:
        raise MissingColumns(f"reward function: column '{name}' has {len(values)} values for {size} completions")
    return values


def _frame(completions: Sequence[Any], kwargs: dict[str, Any], *, with_tokens: bool) -> pl.DataFrame:
    """One row per completion with the columns :func:`score_frame` reads."""
    missing = [name for name in NEEDED if kwargs.get(name) is None]
    if missing:
        raise MissingColumns(
            f"reward function: the training dataset lacks column(s) {', '.join(missing)}; export it with "
            "`factory export --format trl-grpo`, which writes gold, problem_type, options and prompt_id")
    size = len(completions)
    prompt_ids = _column(kwargs, "prompt_id", size)
    # Without prompt ids each completion is its own group (only the length bonus looks at groups).
    prompt_ids = [str(p) if p is not None else f"row-{i}" for i, p in enumerate(prompt_ids)]
    options = [list(o) if o is not None else None for o in _column(kwargs, "options", size)]
    data: dict[str, Any] = {
        "prompt_id": pl.Series(prompt_ids, dtype=pl.Utf8),
        "completion": pl.Series([completion_text(c) for c in completions], dtype=pl.Utf8),
        "problem_type": pl.Series(_column(kwargs, "problem_type", size), dtype=pl.Utf8),
        "gold": pl.Series([None if g is None else str(g) for g in _column(kwargs, "gold", size)], dtype=pl.Utf8),
        "options": pl.Series(options, dtype=pl.List(pl.Utf8)),
    }
    if with_tokens:
        # Video-R1 counts generated tokens up to and including EOS; TRL's completion_ids are those tokens.
        ids = _column(kwargs, "completion_ids", size)
        data["completion_tokens"] = pl.Series([None if i is None else len(i) for i in ids], dtype=pl.Int64)
    return pl.DataFrame(data)


def _component(name: str, column: str, profile: str, length_bonus: bool) -> RewardFunc:
    def reward(prompts: Sequence[Any] | None = None, completions: Sequence[Any] = (), **kwargs: Any) -> list[float]:
        frame = _frame(completions, kwargs, with_tokens=length_bonus)
        scored = score_frame(frame, profile, length_bonus=length_bonus)
        return [float(v) for v in scored.get_column(column).fill_null(0.0).to_list()]

    reward.__name__ = reward.__qualname__ = name
    reward.__doc__ = f"The {profile!r} profile's {column} for each completion (TRL reward function)."
    return reward


def make_reward_funcs(profile: str = "veripo", *, length_bonus: bool = False) -> list[RewardFunc]:
    """TRL reward functions for ``profile``: ``[accuracy_reward, format_reward]`` (+ ``length_reward``).

    Each has TRL's signature ``f(prompts, completions, **kwargs) -> list[float]`` and reads the dataset
    columns ``gold``, ``problem_type``, ``options`` and ``prompt_id`` from ``kwargs``. ``length_bonus``
    adds Video-R1's length bonus (video-r1 profile only), counted from TRL's ``completion_ids`` and grouped
    by ``prompt_id`` within the batch TRL scores together. Raises a ``ValueError`` for an unknown profile
    or a length bonus the profile does not define.
    """
    spec = get_profile(profile)
    if length_bonus and not spec.length_bonus:
        raise UnsupportedRewardOption(f"reward profile {spec.name!r} has no length bonus; drop length_bonus "
                                      "or use the video-r1 profile")
    funcs = [_component("accuracy_reward", "reward_accuracy", spec.name, length_bonus),
             _component("format_reward", "reward_format", spec.name, length_bonus)]
    if length_bonus:
        funcs.append(_component("length_reward", "reward_length", spec.name, length_bonus))
    return funcs
