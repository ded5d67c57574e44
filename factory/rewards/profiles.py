"""The two reward profiles, ``video-r1`` and ``veripo``, and :func:`score_frame`, which applies one to rollouts.

``video-r1`` re-implements Video-R1's GRPO rewards (``src/r1-v/src/open_r1/grpo.py``: ``accuracy_reward``
and ``format_reward``; the length bonus from ``trainer/grpo_trainer.py``, ``len_control``):

- accuracy by problem type: multiple choice exact match, numerical rounded to 2 places under the
  decimal-point rule, OCR 1 - WER, free-form mean ROUGE-1/2/L F, regression 1 - relative error;
- format 1.0 when the completion fully matches ``<think>.*?</think>\\s*<answer>.*?</answer>`` (DOTALL);
- length bonus (only with ``length_bonus=True``): +0.2 to a rollout whose accuracy reward is > 0.1 and
  whose completion is 320..512 tokens (inclusive), provided more than one rollout of its group (same
  ``prompt_id``) has accuracy reward > 0.1. Video-R1 counts completion tokens up to and including EOS
  (``completion_mask.sum(1)``); we read ``completion_tokens`` (null -> no bonus).

``veripo`` follows the VerIPO setup: the answer is unwrapped from ``$...$``; multiple choice is scored by
math-verify with an option-letter fallback; numerical and regression by VSI-Bench's mean relative
accuracy; OCR and free-form keep Video-R1's text scorers (math-verify has no notion of text similarity);
format earns 0.5 when ``fmt_ok``; there is no length term.

``accurate`` is ``reward_accuracy == 1.0`` for exact scorers (multiple choice under both profiles,
numerical under video-r1) and ``reward_accuracy >= 0.5`` for graded ones (OCR, free-form, regression,
and the MRA-scored numerical of veripo).
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass
from types import MappingProxyType

import polars as pl

from factory.rewards.choice import veripo_choice, video_r1_choice
from factory.rewards.errors import MissingColumns, UnknownProblemType, UnknownProfile, UnsupportedRewardOption
from factory.rewards.freeform import video_r1_freeform
from factory.rewards.numeric import veripo_numeric, video_r1_numerical
from factory.rewards.ocr import video_r1_ocr
from factory.rewards.parsing import parse_frame
from factory.rewards.regression import video_r1_regression

PROBLEM_TYPES: tuple[str, ...] = ("multiple choice", "numerical", "OCR", "free-form", "regression")
REQUIRED_COLUMNS: tuple[str, ...] = ("prompt_id", "completion", "problem_type", "gold")

# Video-R1 len_control, verbatim numbers.
LENGTH_BONUS = 0.2
LENGTH_MIN_TOKENS, LENGTH_MAX_TOKENS = 320, 512
LENGTH_ACCURACY_FLOOR = 0.1  # a rollout "counts as correct" for the bonus when its accuracy is above this
ACCURATE_FLOOR = 0.5  # graded scorers: accurate at or above this

ScoreFn = Callable[[str | None, str | None, list[str] | None], float]


@dataclass(frozen=True)
class Scorer:
    """How one problem type is scored: ``score(answer, gold, options) -> [0, 1]``; ``exact``: 0/1 only."""

    score: ScoreFn
    exact: bool


@dataclass(frozen=True)
class Profile:
    """A named reward recipe."""

    name: str
    scorers: Mapping[str, Scorer]
    strip_dollars: bool  # unwrap "$B$" before scoring (the VerIPO prompt asks for it)
    format_credit: float  # reward_format when the format holds
    format_rule: str  # "video-r1": Video-R1's regex on the raw completion; "fmt_ok": the strict column
    length_bonus: bool  # whether the profile defines Video-R1's length bonus


def _ignore_options(fn: Callable[[str | None, str | None], float]) -> ScoreFn:
    return lambda answer, gold, options: fn(answer, gold)


VIDEO_R1 = Profile(
    name="video-r1",
    scorers=MappingProxyType({
        "multiple choice": Scorer(_ignore_options(video_r1_choice), exact=True),
        "numerical": Scorer(_ignore_options(video_r1_numerical), exact=True),
        "OCR": Scorer(_ignore_options(video_r1_ocr), exact=False),
        "free-form": Scorer(_ignore_options(video_r1_freeform), exact=False),
        "regression": Scorer(_ignore_options(video_r1_regression), exact=False),
    }),
    strip_dollars=False,
    format_credit=1.0,
    format_rule="video-r1",
    length_bonus=True,
)

VERIPO = Profile(
    name="veripo",
    scorers=MappingProxyType({
        "multiple choice": Scorer(veripo_choice, exact=True),
        "numerical": Scorer(_ignore_options(veripo_numeric), exact=False),
        "OCR": Scorer(_ignore_options(video_r1_ocr), exact=False),
        "free-form": Scorer(_ignore_options(video_r1_freeform), exact=False),
        "regression": Scorer(_ignore_options(veripo_numeric), exact=False),
    }),
    strip_dollars=True,
    format_credit=0.5,
    format_rule="fmt_ok",
    length_bonus=False,
)

PROFILE_TABLE: Mapping[str, Profile] = MappingProxyType({p.name: p for p in (VIDEO_R1, VERIPO)})
PROFILES: tuple[str, ...] = tuple(PROFILE_TABLE)


def get_profile(name: str) -> Profile:
    """The profile called ``name``; :class:`UnknownProfile` (a ``ValueError``) naming it otherwise."""
    try:
        return PROFILE_TABLE[name]
    except (KeyError, TypeError):
        raise UnknownProfile(f"unknown reward profile {name!r}; choose one of {', '.join(PROFILES)}") from None


def _check_columns(df: pl.DataFrame) -> None:
    missing = [c for c in REQUIRED_COLUMNS if c not in df.columns]
    if missing:
        raise MissingColumns(
            f"rewards: frame lacks column(s) {', '.join(missing)}; join the prompts table (gold, problem_type) "
            "onto the rollouts before scoring")


def _check_problem_types(df: pl.DataFrame, profile: Profile) -> None:
    bad = df.filter(~pl.col("problem_type").is_in(list(profile.scorers)).fill_null(False))
    if bad.height:
        row = bad.row(0, named=True)
        raise UnknownProblemType(
            f"rewards: prompt_id {row['prompt_id']!r}: field 'problem_type': unknown problem type "
            f"{row['problem_type']!r} ({bad.height} row(s) in all); profile {profile.name!r} scores "
            f"{', '.join(repr(t) for t in profile.scorers)}")


def _accuracy(df: pl.DataFrame, profile: Profile) -> tuple[pl.Series, pl.Series]:
    """Per-row accuracy and whether that row's scorer is exact (library scorers need Python per row)."""
    options = df.get_column("options").to_list() if "options" in df.columns else [None] * df.height
    accuracy: list[float] = []
    exact: list[bool] = []
    for answer, gold, ptype, opts in zip(
        df.get_column("answer").to_list(),
        df.get_column("gold").cast(pl.Utf8).to_list(),
        df.get_column("problem_type").to_list(),
        options,
        strict=True,
    ):
        scorer = profile.scorers[ptype]
        accuracy.append(float(scorer.score(answer, gold, opts)))
        exact.append(scorer.exact)
    return pl.Series("reward_accuracy", accuracy, dtype=pl.Float64), pl.Series("_exact", exact, dtype=pl.Boolean)


def _length_expr(df: pl.DataFrame) -> pl.Expr:
    """Video-R1's length bonus as a column (needs ``reward_accuracy``)."""
    if "completion_tokens" not in df.columns:
        return pl.lit(0.0, pl.Float64)
    hit = (pl.col("reward_accuracy") > LENGTH_ACCURACY_FLOOR)
    group_hits = hit.cast(pl.Int64).sum().over("prompt_id")
    tokens = pl.col("completion_tokens").cast(pl.Int64)
    in_range = tokens.is_between(LENGTH_MIN_TOKENS, LENGTH_MAX_TOKENS, closed="both").fill_null(False)
    return pl.when(hit & (group_hits > 1) & in_range).then(LENGTH_BONUS).otherwise(0.0).cast(pl.Float64)


def score_frame(df: pl.DataFrame, profile: str, *, length_bonus: bool = False) -> pl.DataFrame:
    """Score every rollout in ``df`` under ``profile``; returns ``df`` with the reward columns added.

    Needs ``prompt_id, completion, problem_type, gold``; uses ``finish_reason, options,
    completion_tokens, think_tokens`` when present (absent = null). Adds, in this order of meaning:
    ``think`` (Utf8), ``answer`` (Utf8), ``fmt_ok``, ``truncated`` (Boolean), ``think_tokens`` (Int64),
    ``reward_accuracy``, ``reward_format``, ``reward_length``, ``reward_total`` (Float64; total = sum of
    the three), ``reward_profile`` (Utf8), ``accurate`` (Boolean). Row order is kept; a column of the same
    name in ``df`` is replaced. Raises a ``ValueError`` (:class:`UnknownProfile`,
    :class:`UnknownProblemType`, :class:`MissingColumns`, :class:`UnsupportedRewardOption`) naming the
    profile, or the problem type and its prompt_id. An unparsable or null gold scores 0.0, never raises.
    """
    spec = get_profile(profile)
    if length_bonus and not spec.length_bonus:
        raise UnsupportedRewardOption(f"reward profile {spec.name!r} has no length bonus; drop length_bonus "
                                      "or use the video-r1 profile")
    _check_columns(df)
    _check_problem_types(df, spec)

    parsed = parse_frame(df, strip_dollars=spec.strip_dollars)
    accuracy, exact = _accuracy(parsed, spec)
    parsed = parsed.with_columns(accuracy, exact)

    holds = pl.col("format_match") if spec.format_rule == "video-r1" else pl.col("fmt_ok")
    reward_format = pl.when(holds).then(spec.format_credit).otherwise(0.0).cast(pl.Float64)
    reward_length = _length_expr(parsed) if length_bonus else pl.lit(0.0, pl.Float64)
    accurate = (pl.when(pl.col("_exact")).then(pl.col("reward_accuracy") == 1.0)
                .otherwise(pl.col("reward_accuracy") >= ACCURATE_FLOOR))

    return (
        parsed.with_columns(reward_format=reward_format, reward_length=reward_length)
        .with_columns(
            reward_total=pl.col("reward_accuracy") + pl.col("reward_format") + pl.col("reward_length"),
            reward_profile=pl.lit(spec.name, pl.Utf8),
            accurate=accurate,
        )
        .drop("format_match", "_exact")
        .with_columns(
            pl.col("think").cast(pl.Utf8), pl.col("answer").cast(pl.Utf8),
            pl.col("fmt_ok").cast(pl.Boolean), pl.col("truncated").cast(pl.Boolean),
            pl.col("think_tokens").cast(pl.Int64),
        )
    )
