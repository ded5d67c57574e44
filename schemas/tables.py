"""The four tables of SPEC section 2 as Arrow schemas: the contract between the factory and the trainers.

Every column carries its documentation in the field metadata (``doc``), so ``factory schema`` and the
Parquet files themselves explain each column. Columns that later stages fill are here from the start
(nullable) so those stages add logic, not schema churn. Bump a table's ``version`` on any change.
"""

from __future__ import annotations

from dataclasses import dataclass

import pyarrow as pa

STRING = pa.string()
INT = pa.int64()
FLOAT = pa.float64()
BOOL = pa.bool_()
TIME = pa.timestamp("us", tz="UTC")
STRINGS = pa.list_(pa.string())
INTS = pa.list_(pa.int64())


def col(name: str, type_: pa.DataType, doc: str, *, required: bool = False) -> pa.Field:
    """A documented column; ``required`` columns are non-nullable."""
    return pa.field(name, type_, nullable=not required, metadata={"doc": doc})


@dataclass(frozen=True)
class TableSpec:
    """One table: its name, schema version, key column and documented Arrow schema."""

    name: str
    version: int
    key: str
    schema: pa.Schema

    @property
    def columns(self) -> list[str]:
        return self.schema.names

    def doc(self, column: str) -> str:
        return self.schema.field(column).metadata[b"doc"].decode()

    def with_version_metadata(self) -> pa.Schema:
        return self.schema.with_metadata({"table": self.name, "schema_version": str(self.version)})


_provenance = [
    col("created_at", TIME, "When the row was made (UTC).", required=True),
    col("code_version", STRING, "veripo-factory version and git commit that made the row.", required=True),
]

PROMPTS = TableSpec("prompts", 1, "prompt_id", pa.schema([
    col("prompt_id", STRING, "Key: hash(problem, media_sha256, gold, problem_type, options).", required=True),
    col("problem_id", STRING, "The source's own id of the question (Video-R1 `problem_id`).", required=True),
    col("problem", STRING, "The question text, without options.", required=True),
    col("problem_type", STRING, "One of: multiple choice, numerical, OCR, free-form, regression.", required=True),
    col("options", STRINGS, "Answer options as written, e.g. ['A. left', 'B. right']; empty if none.",
        required=True),
    col("solution", STRING, "The gold solution as the source wrote it (may wrap <answer> tags)."),
    col("gold", STRING, "The gold answer parsed for its problem type: a letter, a number as text, or text."),
    col("gold_numeric", FLOAT, "The gold answer as a number for numerical and regression; else null."),
    col("data_type", STRING, "Media kind: video, image or text.", required=True),
    col("media_uri", STRING, "Absolute path or fsspec URL of the media file; null for text-only."),
    col("media_sha256", STRING, "SHA-256 of the media file's bytes; null for text-only."),
    col("media_bytes", INT, "Size of the media file in bytes; null for text-only."),
    col("data_source", STRING, "The source dataset name (Video-R1 `data_source`)."),
    col("source_file", STRING, "The file the row was imported from.", required=True),
    col("source_row", INT, "0-based row number in source_file.", required=True),
    col("extra", STRING, "JSON object of source fields not mapped to a column."),
    col("iteration", INT, "Training-loop iteration this prompt set belongs to (null for a plain import)."),
    *_provenance,
]))

ROLLOUTS = TableSpec("rollouts", 1, "rollout_id", pa.schema([
    col("rollout_id", STRING, "Key: hash(prompt_id, sample_index, policy model+revision, sampling params "
        "with seed, template id).", required=True),
    col("prompt_id", STRING, "The prompt this completion answers.", required=True),
    col("sample_index", INT, "Index of this sample within its prompt's group of G (0-based).", required=True),
    col("status", STRING, "ok, or error when generation failed (see error).", required=True),
    col("error", STRING, "Error kind and message when status is error; else null."),
    col("completion", STRING, "The generated text (null when status is error)."),
    # provenance of the generation
    col("policy_model", STRING, "Policy model path or Hub id.", required=True),
    col("policy_revision", STRING, "Policy model revision (commit) or checkpoint hash."),
    col("engine", STRING, "Engine name: vllm, openai, ray, import, trl-grpo, ...", required=True),
    col("engine_version", STRING, "Version of the engine library or server."),
    col("endpoint", STRING, "Base URL for endpoint engines; 'in-process' for local engines."),
    col("sampling_params", STRING, "Full sampling parameters as canonical JSON, including the row seed.",
        required=True),
    col("seed", INT, "This row's sampling seed (derived from the base seed and the row key)."),
    col("temperature", FLOAT, "Sampling temperature (copied out of sampling_params for queries)."),
    col("top_p", FLOAT, "Nucleus sampling p."),
    col("max_new_tokens", INT, "Generation budget in tokens."),
    col("template_id", STRING, "Prompt template name.", required=True),
    col("template_hash", STRING, "SHA-256 of the prompt template text."),
    col("chat_template_hash", STRING, "SHA-256 of the tokenizer's chat template."),
    col("prompt_text", STRING, "The rendered user prompt text sent to the policy."),
    col("media_uri", STRING, "Media file the frames came from."),
    col("media_sha256", STRING, "SHA-256 of that media file."),
    col("frame_fps", FLOAT, "Target frame sampling rate (frames per second)."),
    col("max_frames", INT, "Frame count ceiling of the sampling rule."),
    col("max_pixels", INT, "Pixel ceiling per frame."),
    col("frame_indices", INTS, "Indices of the decoded frames that were sent."),
    col("video_fps", FLOAT, "Native frame rate of the video."),
    col("video_duration_s", FLOAT, "Duration of the video in seconds."),
    col("finish_reason", STRING, "Engine finish reason: stop, length, error, ..."),
    col("prompt_tokens", INT, "Prompt length in tokens (media tokens included where the engine counts them)."),
    col("completion_tokens", INT, "Completion length in tokens."),
    col("latency_s", FLOAT, "Seconds from request to completion (per request; shared by its n samples)."),
    col("iteration", INT, "Training-loop iteration (null outside the loop)."),
    col("step", INT, "Trainer step for rollouts logged by GRPO training (null otherwise)."),
    # parsed output and rule rewards
    col("think", STRING, "Text inside <think>...</think>; null if absent."),
    col("answer", STRING, "Text inside <answer>...</answer>; null if absent."),
    col("think_tokens", INT, "Length of think in tokens."),
    col("fmt_ok", BOOL, "Exactly one think block then exactly one answer block."),
    col("truncated", BOOL, "Finish reason 'length' or no closing </answer> tag."),
    col("accurate", BOOL, "The answer counts as correct under the reward profile's rule."),
    col("reward_profile", STRING, "Reward profile that computed the reward columns (video-r1, veripo)."),
    col("reward_accuracy", FLOAT, "Accuracy reward component."),
    col("reward_format", FLOAT, "Format reward component."),
    col("reward_length", FLOAT, "Length reward component (0 when the profile has none)."),
    col("reward_total", FLOAT, "Sum of the reward components."),
    col("rep_max_ngram_count", INT, "Most repeats of any word n-gram in the completion."),
    col("rep_distinct_ratio", FLOAT, "Distinct word n-grams / all word n-grams (low = repetitive)."),
    col("repetitive", BOOL, "Repetition thresholds exceeded."),
    col("reflective", BOOL, "Self-correction cues found in think (e.g. 'wait', 'let me re-check')."),
    col("source_file", STRING, "For imported rollouts: the file they came from."),
    col("source_row", INT, "For imported rollouts: the 0-based row in source_file."),
    *_provenance,
]))

VERDICT_STATUSES = ("ok", "unparsable", "error", "skipped")

VERDICTS = TableSpec("verdicts", 1, "verdict_id", pa.schema([
    col("verdict_id", STRING, "Key: hash(rollout_id, verifier, judge model+revision, judge prompt version, "
        "judge sampling params).", required=True),
    col("rollout_id", STRING, "The rollout judged.", required=True),
    col("prompt_id", STRING, "The rollout's prompt (for joins and grouping).", required=True),
    col("verifier", STRING, "Verifier name (e.g. rules, a judge alias); several can sit side by side.",
        required=True),
    col("judge_model", STRING, "Judge model path or id; null for the rules judge."),
    col("judge_revision", STRING, "Judge model revision."),
    col("judge_prompt_version", STRING, "Judge prompt template name and version.", required=True),
    col("judge_prompt_hash", STRING, "SHA-256 of the judge prompt template text."),
    col("judge_sampling_params", STRING, "Judge sampling params as canonical JSON.", required=True),
    col("engine", STRING, "Judge engine: rules, vllm, openai, ray."),
    col("endpoint", STRING, "Judge endpoint base URL or 'in-process'."),
    col("status", STRING, "ok | unparsable | error | skipped (nothing to judge: no think or answer). Never "
        "null; a re-run retries error and unparsable rows.", required=True),
    col("error", STRING, "Error text when status is error."),
    col("raw_output", STRING, "The judge's raw output text."),
    col("label", STRING, "Parsed label: consistent or inconsistent (null unless status is ok)."),
    col("consistent", BOOL, "label == consistent (null unless status is ok)."),
    col("confidence", FLOAT, "Probability of the judge's output under its (constrained) sampling distribution, "
        "from log-probs where the backend gives them; null otherwise."),
    col("think_chars_cut", INT, "Characters cut from the start of think to fit the judge context (0 = none)."),
    col("judge_prompt_tokens", INT, "Judge prompt length in tokens."),
    col("latency_s", FLOAT, "Seconds the judgement took."),
    col("attempt", INT, "How many times this verdict has been attempted (1 on first try)."),
    # rule figures, recomputed by every verifier run so each verdict is self-contained
    col("fmt_ok", BOOL, "Rule: format ok."),
    col("truncated", BOOL, "Rule: truncated."),
    col("accurate", BOOL, "Rule: accurate under the reward profile."),
    col("think_tokens", INT, "Rule: think length in tokens."),
    col("rep_max_ngram_count", INT, "Rule: most repeats of a word n-gram."),
    col("rep_distinct_ratio", FLOAT, "Rule: distinct n-gram ratio."),
    col("repetitive", BOOL, "Rule: repetition thresholds exceeded."),
    col("reflective", BOOL, "Rule: self-correction cues present."),
    col("iteration", INT, "Training-loop iteration of the rollout (null outside the loop)."),
    *_provenance,
]))

PAIR_TYPES = ("consistency", "penalty", "accuracy", "margin")

PAIRS = TableSpec("pairs", 1, "pair_id", pa.schema([
    col("pair_id", STRING, "Key: hash(chosen rollout_id, rejected rollout_id, pair policy).", required=True),
    col("prompt_id", STRING, "The question both sides answer.", required=True),
    col("policy", STRING, "Pair policy name and settings id (e.g. veripo).", required=True),
    col("pair_type", STRING, "consistency | penalty | accuracy | margin.", required=True),
    col("chosen_rollout_id", STRING, "The preferred rollout.", required=True),
    col("rejected_rollout_id", STRING, "The dispreferred rollout.", required=True),
    col("chosen", STRING, "The chosen completion text.", required=True),
    col("rejected", STRING, "The rejected completion text.", required=True),
    col("margin", FLOAT, "chosen reward_total - rejected reward_total."),
    col("weight", FLOAT, "Training weight of the pair (1.0 unless the policy says otherwise)."),
    col("verifier", STRING, "Verifier whose verdicts the pair used."),
    col("chosen_reward", FLOAT, "Chosen side's reward_total."),
    col("rejected_reward", FLOAT, "Rejected side's reward_total."),
    col("chosen_consistent", BOOL, "Chosen side's judge verdict."),
    col("rejected_consistent", BOOL, "Rejected side's judge verdict."),
    col("chosen_think_tokens", INT, "Chosen side's think length."),
    col("rejected_think_tokens", INT, "Rejected side's think length."),
    col("chosen_flags", STRINGS, "Chosen side's flags (accurate, fmt_ok, truncated, repetitive, reflective...)."),
    col("rejected_flags", STRINGS, "Rejected side's flags."),
    col("iteration", INT, "Training-loop iteration (null outside the loop)."),
    *_provenance,
]))

TABLES: dict[str, TableSpec] = {spec.name: spec for spec in (PROMPTS, ROLLOUTS, VERDICTS, PAIRS)}


def table_spec(name: str) -> TableSpec:
    try:
        return TABLES[name]
    except KeyError:
        raise KeyError(f"unknown table {name!r}; tables are: {', '.join(TABLES)}") from None
