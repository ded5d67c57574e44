"""Content-hash keys: the same fields give the same id in every process, on every machine.

A key is the SHA-256 of the canonical JSON of the fields that define a row (sorted keys, no spaces,
UTF-8, floats in their shortest round-trip form), cut to 32 hex characters (128 bits). Tuples and
lists hash alike; ``None`` hashes as JSON ``null``; NaN and infinities are refused because JSON has no
spelling for them that every machine agrees on.
"""

from __future__ import annotations

import hashlib
import json
import math
from typing import Any

KEY_HEX_CHARS = 32


def _check_finite(value: Any, where: str) -> None:
    if isinstance(value, float) and not math.isfinite(value):
        raise ValueError(f"cannot hash non-finite float {value!r} at {where}")
    if isinstance(value, dict):
        for key, item in value.items():
            if not isinstance(key, str):
                raise TypeError(f"key fields must use string dict keys, got {key!r} at {where}")
            _check_finite(item, f"{where}.{key}")
    elif isinstance(value, (list, tuple)):
        for index, item in enumerate(value):
            _check_finite(item, f"{where}[{index}]")


def canonical_json(fields: dict[str, Any]) -> str:
    """The one text form a key is hashed from."""
    _check_finite(fields, "fields")
    return json.dumps(fields, sort_keys=True, separators=(",", ":"), ensure_ascii=False, allow_nan=False)


def content_key(kind: str, fields: dict[str, Any]) -> str:
    """Key of a row of table ``kind`` defined by ``fields``; the table name is hashed in too."""
    payload = canonical_json({"kind": kind, "fields": fields})
    return hashlib.sha256(payload.encode("utf-8")).hexdigest()[:KEY_HEX_CHARS]


def prompt_id(*, problem: str, media_sha256: list[str], gold: str | None, problem_type: str,
              options: list[str]) -> str:
    """SPEC 2: hash(question, media hashes, gold, problem_type, options)."""
    return content_key("prompts", {"problem": problem, "media_sha256": list(media_sha256), "gold": gold,
                                   "problem_type": problem_type, "options": list(options)})


def rollout_id(*, prompt_id: str, sample_index: int, policy_model: str, policy_revision: str | None,
               sampling_params: dict[str, Any], template_id: str) -> str:
    """SPEC 2: hash(prompt_id, sample_index, policy model+revision, sampling params incl. seed, template id).

    ``sampling_params`` must already hold the row's own seed.
    """
    return content_key("rollouts", {"prompt_id": prompt_id, "sample_index": int(sample_index),
                                    "policy_model": policy_model, "policy_revision": policy_revision,
                                    "sampling_params": sampling_params, "template_id": template_id})


def verdict_id(*, rollout_id: str, verifier: str, judge_model: str | None, judge_revision: str | None,
               judge_prompt_version: str, judge_sampling_params: dict[str, Any]) -> str:
    """SPEC 2: hash(rollout_id, verifier name+model+revision, judge prompt version, judge sampling params)."""
    return content_key("verdicts", {"rollout_id": rollout_id, "verifier": verifier,
                                    "judge_model": judge_model, "judge_revision": judge_revision,
                                    "judge_prompt_version": judge_prompt_version,
                                    "judge_sampling_params": judge_sampling_params})


def pair_id(*, chosen_rollout_id: str, rejected_rollout_id: str, policy: str) -> str:
    """SPEC 2: hash(chosen rollout_id, rejected rollout_id, pair policy id)."""
    return content_key("pairs", {"chosen": chosen_rollout_id, "rejected": rejected_rollout_id, "policy": policy})


def row_seed(base_seed: int, *parts: Any) -> int:
    """A per-row sampling seed derived from a base seed and the row's defining parts (fits in int32)."""
    digest = hashlib.sha256(canonical_json({"base": int(base_seed), "parts": list(parts)}).encode()).digest()
    return int.from_bytes(digest[:4], "big") & 0x7FFFFFFF
