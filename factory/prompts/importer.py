"""``factory prompts import``: task data in, a new ``prompts`` version out.

Every row is checked before anything is written: missing fields, unknown problem types, option letters
outside the options, missing or undecodable media, and one id used for different content are collected
with file and row. With ``on_error="fail"`` nothing is written when any row is bad; with ``"skip"`` the
good rows are written and the bad ones reported.
"""

from __future__ import annotations

import json
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from datetime import datetime, timezone
from pathlib import Path
from typing import Any

from factory.config import config_dict
from factory.errors import InvalidRows, RowProblem, UsageError
from factory.media.files import media_kind, probe, sha256_file
from factory.progress import progress_bar
from factory.prompts.gold import (PROBLEM_TYPES, choice_letter, normalize_problem_type, option_letters,
                                  parse_number, unwrap_answer)
from factory.prompts.sources import FORMATS, read_rows
from factory.store import Manifest, Store, TableWriter
from factory.version import code_version
from schemas import prompt_id

_KNOWN_FIELDS = {"problem_id", "problem", "data_type", "problem_type", "options", "solution", "path",
                 "data_source"}


@dataclass
class ImportConfig:
    """Settings of ``factory prompts import``."""

    media_root: str | None = None
    """Folder media paths are relative to (default: the input file's folder)."""
    on_error: str = "fail"
    """fail: write nothing if any row is bad; skip: write the good rows and report the bad ones."""
    format: str = "auto"
    """Input format: auto (from the name), json, jsonl, parquet or hf (save_to_disk folder)."""
    split: str | None = None
    """Split to read from a Hugging Face DatasetDict."""
    probe_media: bool = True
    """Decode the first frame of every video / verify every image (catches corrupt files early)."""
    limit: int | None = None
    """Import only the first N rows (for trying things)."""
    workers: int = 8
    """Threads hashing and probing media files."""

    def __post_init__(self) -> None:
        if self.on_error not in ("fail", "skip"):
            raise ValueError(f"on_error must be fail or skip, got {self.on_error!r}")
        if self.format not in FORMATS:
            raise ValueError(f"format must be one of {FORMATS}, got {self.format!r}")


@dataclass
class ImportResult:
    version: Manifest | None
    written: int
    already_present: int
    problems: list[RowProblem] = field(default_factory=list)
    warnings: list[str] = field(default_factory=list)


def _text(row: dict[str, Any], name: str) -> str | None:
    value = row.get(name)
    if value is None:
        return None
    return value if isinstance(value, str) else str(value)


def _parse_row(row: Any, number: int, source: str, media_root: Path) -> tuple[dict[str, Any] | None,
                                                                               list[RowProblem]]:
    """Map one source row to prompt fields (media not yet hashed); problems if it cannot be."""
    if isinstance(row, Exception):
        return None, [RowProblem(source, number, "(row)", str(row), "fix the line's JSON")]
    if not isinstance(row, dict):
        return None, [RowProblem(source, number, "(row)", f"is a {type(row).__name__}, not an object",
                                 "each row must be an object with Video-R1 fields")]
    problems = []
    for name in ("problem_id", "problem", "problem_type", "solution"):
        if row.get(name) is None or (isinstance(row.get(name), str) and not row[name].strip()):
            problems.append(RowProblem(source, number, name, "is missing or empty",
                                       f"give every row a '{name}'"))
    if problems:
        return None, problems
    problem_id = _text(row, "problem_id")
    problem_type = normalize_problem_type(row["problem_type"])
    if problem_type is None:
        return None, [RowProblem(source, number, "problem_type", f"unknown problem type {row['problem_type']!r}",
                                 f"use one of: {', '.join(PROBLEM_TYPES)}", row_id=problem_id)]
    options = row.get("options") or []
    options = [str(o) for o in (list(options) if not isinstance(options, str) else [options])]
    solution = _text(row, "solution")
    gold = unwrap_answer(solution)
    gold_numeric = None
    if problem_type == "multiple choice":
        letter = choice_letter(gold)
        letters = option_letters(options)
        if not options:
            return None, [RowProblem(source, number, "options", "is empty for a multiple-choice question",
                                     "list the options, e.g. ['A. left', 'B. right']", row_id=problem_id)]
        if letter is None or letter not in letters:
            return None, [RowProblem(source, number, "solution",
                                     f"answer {gold!r} is not one of the option letters {letters}",
                                     "make the solution name one of the options' letters", row_id=problem_id)]
        gold = letter
    elif problem_type in ("numerical", "regression"):
        gold_numeric = parse_number(gold)
    path_value = _text(row, "path")
    data_type = (_text(row, "data_type") or "").strip().lower() or None
    media_path = None
    if path_value:
        media_path = Path(path_value) if Path(path_value).is_absolute() else media_root / path_value
        data_type = data_type or media_kind(media_path)
        if data_type not in ("video", "image"):
            return None, [RowProblem(source, number, "data_type", f"unknown media type {data_type!r} for {path_value}",
                                     "set data_type to video or image", row_id=problem_id)]
    else:
        data_type = "text"
    extra = {k: v for k, v in row.items() if k not in _KNOWN_FIELDS}
    return {
        "problem_id": problem_id, "problem": str(row["problem"]), "problem_type": problem_type,
        "options": options, "solution": solution, "gold": gold, "gold_numeric": gold_numeric,
        "data_type": data_type, "media_uri": str(media_path.resolve()) if media_path else None,
        "data_source": _text(row, "data_source"), "source_file": source, "source_row": number,
        "extra": json.dumps(extra, default=str, sort_keys=True) if extra else None,
    }, []


def _check_media(fields: dict[str, Any], probe_media: bool) -> RowProblem | None:
    """Hash (and probe) the row's media in place; a problem if it is missing or unreadable."""
    uri = fields["media_uri"]
    if uri is None:
        fields["media_sha256"], fields["media_bytes"] = None, None
        return None
    where = (fields["source_file"], fields["source_row"])
    if not Path(uri).is_file():
        return RowProblem(*where, "path", f"media file {uri} does not exist",
                          "fix the path or pass --media-root", row_id=fields["problem_id"])
    try:
        fields["media_sha256"], fields["media_bytes"] = sha256_file(uri)
    except OSError as exc:
        return RowProblem(*where, "path", f"media file {uri} cannot be read ({exc})",
                          "check the file's permissions", row_id=fields["problem_id"])
    reason = probe(uri, fields["data_type"]) if probe_media else None
    if reason:
        return RowProblem(*where, "path", f"media file {uri} {reason}", "replace or re-encode the file",
                          row_id=fields["problem_id"])
    return None


def import_prompts(store: Store, source: str | Path, config: ImportConfig, *, show_progress: bool = True) -> ImportResult:
    """Import task data into a new ``prompts`` version (or none if every row is already there)."""
    path = Path(source)
    media_root = Path(config.media_root) if config.media_root else (path if path.is_dir() else path.parent)
    if config.media_root and not media_root.is_dir():
        raise UsageError(f"--media-root {media_root} is not a folder")
    name = str(path)
    parsed: list[dict[str, Any]] = []
    problems: list[RowProblem] = []
    for number, row in read_rows(path, config.format, split=config.split):
        if config.limit is not None and number >= config.limit:
            break
        fields, row_problems = _parse_row(row, number, name, media_root)
        problems.extend(row_problems)
        if fields is not None:
            parsed.append(fields)

    with progress_bar("checking media", total=len(parsed), enabled=show_progress) as advance:
        def check(fields: dict[str, Any]) -> RowProblem | None:
            try:
                return _check_media(fields, config.probe_media)
            finally:
                advance(1)

        with ThreadPoolExecutor(max(1, config.workers)) as pool:
            media_problems = list(pool.map(check, parsed))
    bad_rows = {(p.source, p.row) for p in media_problems if p is not None}
    problems.extend(p for p in media_problems if p is not None)
    parsed = [f for f in parsed if (f["source_file"], f["source_row"]) not in bad_rows]

    now = datetime.now(timezone.utc)
    version = code_version()
    for fields in parsed:
        fields["prompt_id"] = prompt_id(problem=fields["problem"],
                                        media_sha256=[fields["media_sha256"]] if fields["media_sha256"] else [],
                                        gold=fields["gold"], problem_type=fields["problem_type"],
                                        options=fields["options"])
        fields["created_at"], fields["code_version"] = now, version
    rows, duplicate_problems = _drop_duplicates(parsed, store)
    problems.extend(duplicate_problems)
    problems.sort(key=lambda p: (p.source, -1 if p.row is None else p.row))
    if problems and config.on_error == "fail":
        raise InvalidRows(problems)

    warnings = [f"{name} row {f['source_row']}: numerical gold {f['gold']!r} is not a number; rewards will score it 0"
                for f in rows if f["problem_type"] in ("numerical", "regression") and f["gold_numeric"] is None]
    run_config = {"source": str(path.resolve()), **config_dict(config)}
    run_config.pop("workers", None)
    with TableWriter(store, "prompts", stage="prompts import", config=run_config, rows_per_part=10_000) as writer:
        written = writer.write(rows, source=name) if rows else 0
        manifest = writer.commit()
    return ImportResult(manifest, written, len(rows) - written, problems, warnings)


def _drop_duplicates(rows: list[dict[str, Any]], store: Store) -> tuple[list[dict[str, Any]], list[RowProblem]]:
    """One problem_id (per data source) must mean one content: in the file and against the store."""
    known: dict[tuple[str | None, str], tuple[str, str, int]] = {}
    latest = store.latest("prompts")
    if latest is not None:
        existing = store.read("prompts", latest.id, columns=["problem_id", "data_source", "prompt_id",
                                                              "source_file", "source_row"])
        for item in existing.to_pylist():
            known[(item["data_source"], item["problem_id"])] = (item["prompt_id"], item["source_file"],
                                                                item["source_row"])
    kept, problems, seen_ids = [], [], set()
    for fields in rows:
        identity = (fields["data_source"], fields["problem_id"])
        earlier = known.get(identity)
        if earlier is not None and earlier[0] != fields["prompt_id"]:
            problems.append(RowProblem(fields["source_file"], fields["source_row"], "problem_id",
                                       f"id {fields['problem_id']!r} was already used for different content "
                                       f"({earlier[1]} row {earlier[2]})",
                                       "give the changed question a new problem_id", row_id=fields["problem_id"]))
            continue
        known[identity] = (fields["prompt_id"], fields["source_file"], fields["source_row"])
        if fields["prompt_id"] in seen_ids:
            continue  # the same question twice: keep one
        seen_ids.add(fields["prompt_id"])
        kept.append(fields)
    return kept, problems
