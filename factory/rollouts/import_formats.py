"""Reading rollouts other tools wrote: generic JSONL/Parquet, TRL completion logs, verl rollout dumps.

Each reader turns its rows into one flat shape (:data:`FIELDS`), or into a :class:`RowProblem` for a row
it cannot read; everything after that (finding the prompt, keys, rewards) is the same for every format.

Layouts, as the trainers write them:

- ``generic``: a ``.jsonl`` or ``.parquet`` file, one row per completion: ``completion`` plus a prompt
  reference (``prompt_id``; or ``problem_id`` with optional ``data_source``; or the ``prompt`` text), and
  optionally ``model, revision, sample_index, temperature, top_p, max_tokens, seed, finish_reason,
  completion_tokens, prompt_tokens, iteration, step``. Other fields are ignored.
- ``trl``: ``GRPOTrainer(args=GRPOConfig(log_completions=True))`` writes, every ``logging_steps``, the
  file ``<output_dir>/completions/completions_<global_step:05d>.parquet`` (``trl/trainer/grpo_trainer.py``,
  ``GRPOTrainer.log``, TRL 1.16) with columns ``step`` (int), ``prompt`` and ``completion`` (a string, or
  for conversational data a list of ``{role, content}`` messages, images reduced to ``{"type": "image"}``),
  one float column per reward function (named after it), any columns reward functions added with
  ``log_extra``, and ``advantage``. A file holds the last generation batch (TRL keeps it in a deque of
  ``generation_batch_size`` rows that each generation refills whole), so when one generation serves
  several optimizer steps (``num_iterations > 1``) consecutive files are equal but for ``step``: such a
  repeat is that generation logged again, and is read once, under its first step.
- ``verl``: with ``trainer.rollout_data_dir`` set, ``RayPPOTrainer._dump_generations``
  (``verl/trainer/ppo/ray_trainer.py``) writes ``<rollout_data_dir>/<global_step>.jsonl``, one object per
  rollout: ``input`` (prompt tokens decoded with ``skip_special_tokens=True``), ``output`` (response
  decoded the same way), ``score`` (summed token-level score), ``step``, in recent versions ``gts`` (the
  ground truth from ``reward_model.ground_truth``), plus every reward extra-info key.

The trainers' own reward, score and advantage columns are not imported: rewards are recomputed by the
factory's profile so imported and generated rollouts are scored alike.
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pyarrow.parquet as pq

from factory.errors import RowProblem, UsageError
from factory.prompts.sources import read_rows

FORMATS = ("auto", "generic", "trl", "verl")
ENGINES = {"generic": "import", "trl": "trl-grpo", "verl": "verl"}
# Fields every reader may fill (the generic format reads them by these names from any row).
INT_FIELDS = ("sample_index", "seed", "max_tokens", "completion_tokens", "prompt_tokens", "iteration", "step")
FLOAT_FIELDS = ("temperature", "top_p")
TEXT_FIELDS = ("prompt_id", "problem_id", "data_source", "model", "revision", "finish_reason")
FIELDS = ("prompt_text", "gold", "completion", *TEXT_FIELDS, *INT_FIELDS, *FLOAT_FIELDS)
_TRL_FILE = re.compile(r"^completions_(\d+)\.parquet$")
_VERL_FILE = re.compile(r"^(\d+)\.jsonl$")
_TRL_COLUMNS = {"step", "prompt", "completion", "advantage"}


@dataclass
class SourceRows:
    """What a source held: its format and files, each row's fields or problem, and notes for the user."""

    format: str
    files: list[Path]
    rows: list[tuple[str, int, dict[str, Any] | RowProblem]] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)


def detect_format(path: Path) -> str:
    """The format of a file or folder, from file names and the columns of the first row."""
    if path.is_dir():
        if _trl_files(path):
            return "trl"
        if _verl_files(path):
            return "verl"
        raise UsageError(f"{path} is a folder but holds neither TRL completion logs "
                         "(completions/completions_*.parquet) nor verl rollout dumps (<step>.jsonl); "
                         "pass a file, or --format")
    suffix = path.suffix.lower()
    if suffix == ".parquet":
        columns = set(pq.read_schema(path).names)
        if _TRL_FILE.match(path.name) or (_TRL_COLUMNS <= columns and not {"prompt_id", "problem_id"} & columns):
            return "trl"
        return "generic"
    if suffix == ".jsonl":
        first = _first_object(path)
        if _VERL_FILE.match(path.name) or ({"input", "output"} <= set(first) and "completion" not in first):
            return "verl"
        return "generic"
    raise UsageError(f"cannot tell the format of {path} from its name; pass a .jsonl or .parquet file, or a "
                     "TRL output / verl rollout_data_dir folder")


def read_source(path: Path, fmt: str = "auto") -> SourceRows:
    """Every row of ``path`` (a file, or a TRL / verl folder) in the common shape, in file order."""
    if not path.exists():
        raise UsageError(f"input {path} does not exist")
    if fmt not in FORMATS:
        raise UsageError(f"unknown format {fmt!r}; use one of {', '.join(FORMATS)}")
    fmt = detect_format(path) if fmt == "auto" else fmt
    if fmt == "trl":
        files = _trl_files(path) if path.is_dir() else [path]
        result = SourceRows("trl", files)
        _read_trl(result)
    elif fmt == "verl":
        files = _verl_files(path) if path.is_dir() else [path]
        result = SourceRows("verl", files)
        for file in files:
            result.rows.extend(_rows(file, "jsonl", _verl_fields))
    else:
        if path.is_dir():
            raise UsageError(f"{path} is a folder; the generic format reads one .jsonl or .parquet file")
        kind = "parquet" if path.suffix.lower() == ".parquet" else "jsonl"
        result = SourceRows("generic", [path], list(_rows(path, kind, _prompt_completion_fields)))
    if not result.files:
        raise UsageError(f"{path} holds no {fmt} files")
    return result


# -- per format ---------------------------------------------------------------------------------------
def _prompt_completion_fields(row: dict[str, Any]) -> dict[str, Any]:
    """Generic and TRL rows: ``prompt`` and ``completion``, each text or a chat."""
    fields = _known(row)
    fields["prompt_text"] = _text_of(row.get("prompt"))
    fields["completion"] = _text_of(row.get("completion"))
    return fields


def _verl_fields(row: dict[str, Any]) -> dict[str, Any]:
    fields = _known(row)
    fields["prompt_text"] = _text_of(row.get("input"))
    fields["completion"] = _text_of(row.get("output"))
    gts = row.get("gts")
    fields["gold"] = str(gts) if isinstance(gts, (str, int, float)) and not isinstance(gts, bool) else None
    return fields


def _read_trl(result: SourceRows) -> None:
    """TRL rows; a file that repeats the previous one (but for ``step``) is the same generation, read once."""
    previous: list[str] = []
    repeats = []
    for file in result.files:
        rows = list(read_rows(file, "parquet"))
        contents = [json.dumps({k: v for k, v in row.items() if k != "step"}, sort_keys=True, default=str)
                    if isinstance(row, dict) else repr(row) for _, row in rows]
        if contents and contents == previous:
            repeats.append(file.name)
            continue
        previous = contents
        result.rows.extend(_one(str(file), number, row, _prompt_completion_fields) for number, row in rows)
    if repeats:
        result.notes.append(f"{len(repeats)} TRL log file(s) repeat the file before them (one generation logged at "
                            f"several steps) and were read once: {', '.join(repeats)}")


# -- helpers ------------------------------------------------------------------------------------------
def _rows(path: Path, kind: str, fields_of) -> Iterator[tuple[str, int, dict[str, Any] | RowProblem]]:
    for number, row in read_rows(path, kind):
        yield _one(str(path), number, row, fields_of)


def _one(source: str, number: int, row: Any, fields_of) -> tuple[str, int, dict[str, Any] | RowProblem]:
    if isinstance(row, Exception):
        return source, number, RowProblem(source, number, "(row)", str(row), "fix the line's JSON")
    if not isinstance(row, dict):
        return source, number, RowProblem(source, number, "(row)", f"is a {type(row).__name__}, not an object",
                                          "each row must be an object")
    return source, number, fields_of(row)


def _known(row: dict[str, Any]) -> dict[str, Any]:
    fields: dict[str, Any] = {name: None for name in FIELDS}
    for name in (*TEXT_FIELDS, *INT_FIELDS, *FLOAT_FIELDS):
        fields[name] = row.get(name)
    if fields["max_tokens"] is None:
        fields["max_tokens"] = row.get("max_new_tokens")
    return fields


def _text_of(value: Any) -> str | None:
    """Plain text of a prompt or completion: a string as is; a chat as its messages' text, blank-line joined."""
    if value is None or isinstance(value, str):
        return value
    if isinstance(value, dict):
        value = [value]
    if not isinstance(value, (list, tuple)):
        return str(value)
    texts = []
    for message in value:
        content = message.get("content") if isinstance(message, dict) else message
        if isinstance(content, str):
            texts.append(content)
        elif isinstance(content, (list, tuple)):  # multimodal blocks: keep the text ones
            texts.extend(b.get("text") or "" for b in content if isinstance(b, dict) and b.get("type") == "text")
    return "\n\n".join(t for t in texts if t)


def _trl_files(folder: Path) -> list[Path]:
    for candidate in (folder / "completions", folder):
        if candidate.is_dir():
            found = [p for p in candidate.iterdir() if _TRL_FILE.match(p.name)]
            if found:
                return sorted(found, key=lambda p: int(_TRL_FILE.match(p.name).group(1)))
    return []


def _verl_files(folder: Path) -> list[Path]:
    found = [p for p in folder.iterdir() if _VERL_FILE.match(p.name)]
    return sorted(found, key=lambda p: int(_VERL_FILE.match(p.name).group(1)))


def _first_object(path: Path) -> dict[str, Any]:
    with open(path) as handle:
        for line in handle:
            if line.strip():
                try:
                    value = json.loads(line)
                except json.JSONDecodeError:
                    return {}
                return value if isinstance(value, dict) else {}
    return {}
