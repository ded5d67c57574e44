"""SFT rows: verified rollouts from the store, or an external chain-of-thought file in the Video-R1 format.

Both give TRL's conversational prompt-completion layout: ``prompt`` (system turn if any, then the user
turn; with frames, one image part per frame before the text), ``completion`` (one assistant message),
``images`` (the frames) and the row's ``prompt_id``.

- From the store: the ``ok`` rollouts of a rollouts version that the verifier passed: accurate, judged
  consistent, well formed (``fmt_ok``), not repetitive, not truncated (the chosen pool of SPEC section 5;
  the selection is :func:`factory.pairs.inputs.candidates`, the same frame the pair policies read). The
  user turn is the prompt text recorded on the rollout, the frames follow its recorded sampling.
- From a Video-R1 CoT file (``Video-R1-COT-165k.json``: ``problem, problem_type, options, data_type, path,
  process, solution``): the completion is ``process + "\\n" + solution``, as Video-R1's SFT script builds it;
  the question is rendered with the configured template.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import polars as pl
import pyarrow as pa
import pyarrow.compute as pc
from datasets import Features, Image, List, Value

from factory.errors import InvalidRows, RowProblem, UsageError
from factory.export import layouts
from factory.export.media import MEDIA_TYPES, FrameEncoder, frame_sampling
from factory.export.sources import ancestor
from factory.pairs.inputs import candidates, resolve_verifier
from factory.prompts.gold import normalize_problem_type
from factory.rollouts.templates import load_template
from factory.store import Store

_ROLLOUT_COLUMNS = ["rollout_id", "prompt_id", "completion", "prompt_text", "frame_fps", "max_frames", "max_pixels"]
_PROMPT_COLUMNS = ["prompt_id", "problem", "problem_type", "options", "data_type", "media_uri"]


def sft_features(*, images: bool) -> Features:
    columns: dict[str, Any] = {"prompt": layouts.PART_MESSAGES if images else layouts.PLAIN_MESSAGES,
                               "completion": layouts.PLAIN_MESSAGES}
    if images:
        columns["images"] = List(Image())
    columns.update(prompt_id=Value("string"), source_id=Value("string"))
    return Features(columns)


def _rows(items: list[dict[str, Any]], settings: Any, *, vision: bool) -> Iterator[dict[str, Any]]:
    """Layout rows of ``items`` (``text, completion, data_type, media_uri, recorded, prompt_id, source_id``)."""
    encoder = FrameEncoder()
    for item in items:
        images = None
        if vision:
            frames = encoder.frames(item["media_uri"], item["data_type"], frame_sampling(settings, item["recorded"]),
                                    row=item["where"])
            images = frames.images
        row: dict[str, Any] = {
            "prompt": layouts.prompt_messages(item["text"], len(images or []), parts=vision,
                                              system=settings.system_prompt),
            "completion": layouts.assistant(item["completion"])}
        if vision:
            row["images"] = images
        row.update(prompt_id=item["prompt_id"], source_id=item["source_id"])
        yield row


# -- verified rollouts ---------------------------------------------------------------------------------
def verified_items(store: Store, settings: Any) -> tuple[list[dict[str, Any]], dict[str, Any]]:
    """Items of the rollouts the verifier passed, and the source record (versions, verifier, counts)."""
    rollouts = store.resolve("rollouts", settings.version)
    if rollouts is None:
        raise UsageError(f"store {store.url} has no rollouts; run `factory rollouts` (or trainers grpo) first")
    verdicts = store.resolve("verdicts", settings.verdicts_version)
    verifier = resolve_verifier(store, verdicts, settings.verifier, required=True)
    frame = candidates(store, rollouts, verdicts, verifier)
    passed = frame.filter(pl.col("accurate").fill_null(False) & (pl.col("verdict_status") == "ok")
                          & pl.col("consistent").fill_null(False) & pl.col("fmt_ok").fill_null(False)
                          & ~pl.col("repetitive").fill_null(False) & ~pl.col("truncated").fill_null(False))
    passed = passed.sort(["prompt_id", "reward", "rollout_id"], descending=[False, True, False])
    passed = passed.unique(["prompt_id", "text_hash"], keep="first", maintain_order=True)
    if settings.max_per_question is not None:
        passed = passed.filter(pl.int_range(pl.len()).over("prompt_id") < settings.max_per_question)
    if settings.limit is not None:
        passed = passed.head(settings.limit)
    wanted = pa.array(passed["rollout_id"].to_list(), pa.string())
    table = store.read("rollouts", rollouts.id, columns=_ROLLOUT_COLUMNS)
    table = table.filter(pc.is_in(table.column("rollout_id"), value_set=wanted))
    by_id = {r["rollout_id"]: r for r in table.to_pylist()}
    prompts_version = ancestor(store, rollouts, "prompts")
    prompts = store.read("prompts", prompts_version.id if prompts_version else None, columns=_PROMPT_COLUMNS)
    ids = pa.array(sorted({r["prompt_id"] for r in by_id.values()}), pa.string())
    prompts = prompts.filter(pc.is_in(prompts.column("prompt_id"), value_set=ids))
    prompt_rows = {r["prompt_id"]: r for r in prompts.to_pylist()}
    template = load_template(settings.template)
    items = []
    for rid in passed["rollout_id"].to_list():
        rollout = by_id[rid]
        prompt = prompt_rows.get(rollout["prompt_id"])
        if prompt is None:
            raise UsageError(f"rollout {rid}: prompt {rollout['prompt_id']} is not in prompts version "
                             f"{prompts_version.id if prompts_version else '(latest)'}; import it first")
        text = rollout["prompt_text"] or template.render(prompt["problem"], prompt["problem_type"],
                                                         list(prompt["options"] or []))
        items.append({"text": text, "completion": rollout["completion"], "data_type": prompt["data_type"],
                      "media_uri": prompt["media_uri"], "recorded": rollout, "prompt_id": prompt["prompt_id"],
                      "source_id": rid, "where": f"rollout {rid}"})
    source = {"kind": "store", "store": store.url, "table": "rollouts", "version": rollouts.id,
              "verdicts_version": verdicts.id if verdicts else None, "verifier": verifier,
              "ok_rollouts": frame.height, "passed": len(items)}
    return items, source


# -- Video-R1 CoT file ---------------------------------------------------------------------------------
def _read_json_rows(path: Path) -> list[Any]:
    text = path.read_text(encoding="utf-8")
    if path.suffix == ".jsonl":
        return [json.loads(line) for line in text.splitlines() if line.strip()]
    data = json.loads(text)
    if not isinstance(data, list):
        raise UsageError(f"{path}: expected a JSON list of examples, got {type(data).__name__}")
    return data


def cot_items(settings: Any) -> tuple[list[dict[str, Any]], dict[str, Any]]:
    """Items of a Video-R1-format CoT file; every bad row is named (file, row, field) before any training."""
    path = Path(settings.cot_json)
    if not path.is_file():
        raise UsageError(f"CoT file {path} does not exist")
    root = Path(settings.media_root) if settings.media_root else path.parent
    template = load_template(settings.template)
    items, problems = [], []
    for number, row in enumerate(_read_json_rows(path)):
        row_id = str(row.get("problem_id")) if isinstance(row, dict) else None

        def bad(field: str, problem: str, fix: str, number: int = number, row_id: str | None = row_id) -> None:
            problems.append(RowProblem(str(path), number, field, problem, fix, row_id=row_id))

        if not isinstance(row, dict):
            bad("(row)", "is not an object", "give each example as a JSON object")
            continue
        for name in ("problem", "process", "solution"):
            if not isinstance(row.get(name), str) or not row[name].strip():
                bad(name, "is missing or empty", f"give every example its {name} text")
        problem_type = normalize_problem_type(row.get("problem_type"))
        if problem_type is None:
            bad("problem_type", f"unknown problem type {row.get('problem_type')!r}",
                "use multiple choice, numerical, OCR, free-form or regression")
        data_type = row.get("data_type") or "text"
        media = None
        if data_type in MEDIA_TYPES:
            media = Path(str(row.get("path") or ""))
            media = media if media.is_absolute() else root / media
            if not row.get("path") or not media.is_file():
                bad("path", f"media file {media} not found", "fix the path or set media_root")
        if len(problems) and problems[-1].row == number:
            continue
        items.append({"text": template.render(row["problem"], problem_type, list(row.get("options") or [])),
                      "completion": row["process"].rstrip() + "\n" + row["solution"].strip(),
                      "data_type": data_type, "media_uri": str(media) if media else None, "recorded": None,
                      "prompt_id": None, "source_id": str(row.get("problem_id", number)),
                      "where": f"{path} row {number}"})
        if settings.limit is not None and len(items) >= settings.limit:
            break
    if problems:
        raise InvalidRows(problems)
    return items, {"kind": "cot-json", "file": str(path.resolve()), "rows": len(items)}


def sft_rows(items: list[dict[str, Any]], settings: Any, *, vision: bool) -> tuple[Features, Iterator[dict[str, Any]]]:
    """Features and rows of ``items``; frames only for a vision policy that wants them and data that has media."""
    wanted = settings.include_frames if settings.include_frames is not None else vision
    frames = bool(wanted and vision and any(item["data_type"] in MEDIA_TYPES for item in items))
    return sft_features(images=frames), _rows(items, settings, vision=frames)
