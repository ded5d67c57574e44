"""``factory rollouts import``: rollouts an RL trainer already sampled, in; a new ``rollouts`` version out.

Teams running GRPO already have G rollouts per question from their trainer. This stage reads them (see
:mod:`factory.rollouts.import_formats` for the layouts), finds each row's prompt in the store (see
:mod:`factory.rollouts.prompt_match` for the rule), scores every row with the same reward code as
generated rollouts, and writes them with keys, so a re-import of the same file writes nothing.

Every row is checked before anything is written: unreadable rows, prompt references that find no prompt
(or several), empty completions, badly typed fields and repeated keys are collected with file and row.
With ``on_error="fail"`` nothing is written when any row is bad; with ``"skip"`` the good rows are
written and the bad ones reported.
"""

from __future__ import annotations

import math
from collections import defaultdict
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime, timezone
from pathlib import Path
from typing import Any

import pyarrow as pa

from factory.config import config_dict
from factory.errors import InvalidRows, RowProblem, UsageError
from factory.progress import progress_bar
from factory.rewards import PROFILES
from factory.rollouts.import_formats import ENGINES, FLOAT_FIELDS, FORMATS, INT_FIELDS, TEXT_FIELDS, read_source
from factory.rollouts.prompt_match import PROMPT_COLUMNS, Match, PromptIndex
from factory.rollouts.scoring import score_rollouts
from factory.store import Manifest, ParentRef, Store, TableWriter
from factory.version import code_version
from schemas import canonical_json, rollout_id

TEMPLATE_ID = "import"
UNKNOWN_MODEL = "unknown"


@dataclass
class RolloutImportConfig:
    """Settings of ``factory rollouts import`` (section ``[rollouts_import]`` of a config file)."""

    format: str = "auto"
    """Source format: auto (from names and columns), generic (JSONL/Parquet), trl (GRPO completion logs)
    or verl (rollout_data_dir dumps)."""
    on_error: str = "fail"
    """fail: write nothing if any row is bad; skip: write the good rows and report the bad ones."""
    profile: str = "veripo"
    """Reward profile that scores the imported rows: veripo or video-r1."""
    length_bonus: bool = False
    """Video-R1's optional length bonus (video-r1 profile only; needs completion_tokens; a prompt's group is
    all its rows in the import)."""
    prompts_version: str | None = None
    """prompts version the references are resolved against and recorded as parent (default latest)."""
    model: str | None = None
    """Policy model for rows that do not name one (trainer logs never do); 'unknown' when unset."""
    revision: str | None = None
    """Policy revision (checkpoint) for rows that do not name one."""
    temperature: float | None = None
    """Sampling temperature for rows that do not give one (the trainer's setting); null = not recorded."""
    top_p: float | None = None
    """Nucleus p for rows that do not give one."""
    max_tokens: int | None = None
    """Generation budget for rows that do not give one."""
    iteration: int | None = None
    """Training-loop iteration for rows that do not give one."""
    tokenizer: str | None = None
    """Tokenizer (model folder or id) to count think tokens; default: whitespace words."""
    limit: int | None = None
    """Import only the first N rows (for trying things)."""

    def __post_init__(self) -> None:
        if self.on_error not in ("fail", "skip"):
            raise ValueError(f"on_error must be fail or skip, got {self.on_error!r}")
        if self.format not in FORMATS:
            raise ValueError(f"format must be one of {FORMATS}, got {self.format!r}")
        if self.profile not in PROFILES:
            raise ValueError(f"profile must be one of {PROFILES}, got {self.profile!r}")


@dataclass
class RolloutImportResult:
    version: Manifest | None
    """The rollouts version now holding the rows (the previous one when nothing was new), or None."""
    format: str
    """The source format read (as detected)."""
    written: int
    already_present: int
    problems: list[RowProblem] = field(default_factory=list)
    warnings: list[str] = field(default_factory=list)


def import_rollouts(store: Store, source: str | Path, config: RolloutImportConfig, *,
                    show_progress: bool = True) -> RolloutImportResult:
    """Import trainer rollouts, scored under ``config.profile``, into a new ``rollouts`` version."""
    path = Path(source)
    prompts_version = store.resolve("prompts", config.prompts_version)
    if prompts_version is None:
        raise UsageError(f"store {store.url} has no prompts; import the prompts the rollouts answer first "
                         "(factory prompts import)")
    prompts = store.read("prompts", prompts_version.id, columns=PROMPT_COLUMNS + ["problem_type"])
    index = PromptIndex(prompts, f"prompts version {prompts_version.id}")
    read = read_source(path, config.format)
    engine = ENGINES[read.format]

    parsed: list[dict[str, Any]] = []
    problems: list[RowProblem] = []
    rows = read.rows if config.limit is None else read.rows[:config.limit]
    with progress_bar("matching prompts", total=len(rows), enabled=show_progress) as advance:
        for file, number, fields in rows:
            advance(1)
            if isinstance(fields, RowProblem):
                problems.append(fields)
                continue
            row, row_problems = _parse_row(fields, file, number, index, config)
            problems.extend(row_problems)
            if row is not None:
                parsed.append(row)

    _number_samples(parsed)
    now, version = datetime.now(timezone.utc), code_version()
    good: list[dict[str, Any]] = []
    first_of_key: dict[str, dict[str, Any]] = {}
    for row in parsed:
        if row.pop("_bad"):
            continue  # numbered with its group above so fixing it later keeps its neighbours' keys
        _finish_row(row, engine, index, now, version)
        earlier = first_of_key.get(row["rollout_id"])
        if earlier is not None:
            problems.append(RowProblem(row["source_file"], row["source_row"], "sample_index",
                                       f"same prompt, sample_index, model and sampling as {earlier['source_file']} "
                                       f"row {earlier['source_row']}",
                                       "give each completion of a prompt its own sample_index, or drop the copy",
                                       row_id=row["rollout_id"]))
            continue
        first_of_key[row["rollout_id"]] = row
        good.append(row)
    file_order = {str(f): i for i, f in enumerate(read.files)}
    problems.sort(key=lambda p: (file_order.get(p.source, -1), -1 if p.row is None else p.row))
    if problems and config.on_error == "fail":
        raise InvalidRows(problems)

    scored = _score(good, prompts, config, str(path)) if good else None
    run_config = {"source": str(path.resolve()), "detected_format": read.format, **config_dict(config)}
    with TableWriter(store, "rollouts", stage="rollouts import", config=run_config, rows_per_part=10_000,
                     parents=[ParentRef("prompts", prompts_version.id)]) as writer:
        written = writer.write(scored, source=str(path)) if scored is not None else 0
        manifest = writer.commit()
    return RolloutImportResult(manifest, read.format, written, len(good) - written, problems, list(read.notes))


def _parse_row(fields: dict[str, Any], file: str, number: int, index: PromptIndex,
               config: RolloutImportConfig) -> tuple[dict[str, Any] | None, list[RowProblem]]:
    """Typed fields with the prompt resolved; None when the prompt is not found (problems say why)."""
    problems: list[RowProblem] = []
    row_id = _clean_text(fields.get("prompt_id")) or _clean_text(fields.get("problem_id"))

    def problem(name: str, what: str, fix: str) -> None:
        problems.append(RowProblem(file, number, name, what, fix, row_id=row_id))

    values: dict[str, Any] = {}
    for name in TEXT_FIELDS:
        values[name] = _clean_text(fields.get(name))
    for name in INT_FIELDS:
        values[name] = _as_int(fields.get(name))
        if values[name] is _BAD:
            problem(name, f"{fields[name]!r} is not a whole number", f"give '{name}' as an integer or leave it out")
    for name in FLOAT_FIELDS:
        values[name] = _as_float(fields.get(name))
        if values[name] is _BAD:
            problem(name, f"{fields[name]!r} is not a number", f"give '{name}' as a number or leave it out")

    match = _resolve(values, fields, index)
    if match is None:
        problem("prompt_id", "has no prompt reference",
                "give prompt_id, or problem_id (+ data_source), or the prompt text")
    elif match.prompt_id is None:
        name = "prompt_id" if values["prompt_id"] else "problem_id" if values["problem_id"] else "prompt"
        problem(name, match.problem, match.fix)

    completion = fields.get("completion")
    if not isinstance(completion, str) or not completion.strip():
        problem("completion", "is missing or empty", "give every row the completion text")
    if match is None or match.prompt_id is None:
        return None, problems
    row = {"prompt_id": match.prompt_id, "completion": completion, "prompt_text": fields.get("prompt_text"),
           "source_file": file, "source_row": number, "_bad": bool(problems)}
    for name in ("model", "revision", "finish_reason"):
        row[name] = values[name]
    row["model"] = row["model"] or config.model or UNKNOWN_MODEL
    row["revision"] = row["revision"] or config.revision
    for name in (*INT_FIELDS, *FLOAT_FIELDS):
        row[name] = None if values[name] is _BAD else values[name]
    for name in ("temperature", "top_p", "max_tokens", "iteration"):
        if row[name] is None:
            row[name] = getattr(config, name)
    return row, problems


def _resolve(values: dict[str, Any], fields: dict[str, Any], index: PromptIndex) -> Match | None:
    if values["prompt_id"]:
        return index.by_id(values["prompt_id"])
    if values["problem_id"]:
        return index.by_problem_id(values["problem_id"], values["data_source"])
    text = fields.get("prompt_text")
    if isinstance(text, str) and text.strip():
        return index.by_text(text, _clean_text(fields.get("gold")))
    return None


def _number_samples(rows: list[dict[str, Any]]) -> None:
    """Rows without a sample_index are numbered per (prompt, model, revision, iteration, step) in file order."""
    taken: dict[tuple, int] = defaultdict(int)
    for row in rows:
        if row["sample_index"] is None:
            group = (row["prompt_id"], row["model"], row["revision"], row["iteration"], row["step"])
            row["sample_index"] = taken[group]
            taken[group] += 1


def _finish_row(row: dict[str, Any], engine: str, index: PromptIndex, now: datetime, version: str) -> None:
    """Key, provenance and the schema's column names, in place."""
    # Sampling as far as the source recorded it; step and iteration belong to the key because a trainer
    # samples the same prompt again at later steps, numbering those samples from 0 again.
    params = {name: row[name] for name in ("temperature", "top_p", "max_tokens", "seed", "step", "iteration")
              if row[name] is not None}
    params["source"] = "import"
    row["rollout_id"] = rollout_id(prompt_id=row["prompt_id"], sample_index=row["sample_index"],
                                   policy_model=row["model"], policy_revision=row["revision"],
                                   sampling_params=params, template_id=TEMPLATE_ID)
    prompt = index.rows[row["prompt_id"]]
    row.update(status="ok", policy_model=row.pop("model"), policy_revision=row.pop("revision"), engine=engine,
               endpoint=None, sampling_params=canonical_json(params), max_new_tokens=row.pop("max_tokens"),
               template_id=TEMPLATE_ID, media_uri=prompt["media_uri"], media_sha256=prompt["media_sha256"],
               created_at=now, code_version=version)


def _score(rows: list[dict[str, Any]], prompts: pa.Table, config: RolloutImportConfig, source: str) -> pa.Table:
    return score_rollouts(pa.Table.from_pylist(rows), prompts, profile=config.profile,
                          length_bonus=config.length_bonus, count_tokens=_token_counter(config.tokenizer),
                          source=source)


def _token_counter(tokenizer_path: str | None) -> Callable[[list[str]], list[int]] | None:
    if not tokenizer_path:
        return None
    from transformers import AutoTokenizer

    tokenizer = AutoTokenizer.from_pretrained(tokenizer_path)
    return lambda texts: [len(ids) for ids in tokenizer(texts, add_special_tokens=False)["input_ids"]]


# -- field coercion -----------------------------------------------------------------------------------
_BAD = object()


def _clean_text(value: Any) -> str | None:
    if value is None or (isinstance(value, float) and math.isnan(value)):
        return None
    text = str(value).strip()
    return text or None


def _as_int(value: Any) -> Any:
    if value is None or (isinstance(value, float) and math.isnan(value)):
        return None
    if isinstance(value, bool):
        return _BAD
    if isinstance(value, int):
        return value
    if isinstance(value, float) and value.is_integer():
        return int(value)
    if isinstance(value, str) and value.strip().lstrip("-").isdigit():
        return int(value.strip())
    return _BAD


def _as_float(value: Any) -> Any:
    if value is None or (isinstance(value, float) and math.isnan(value)):
        return None
    if isinstance(value, bool):
        return _BAD
    if isinstance(value, (int, float)):
        return float(value) if math.isfinite(value) else _BAD
    try:
        number = float(value)
    except (TypeError, ValueError):
        return _BAD
    return number if math.isfinite(number) else _BAD
