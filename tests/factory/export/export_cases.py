"""Builders for the export tests: a small real store of the sample prompts, rollouts and hand-written pairs.

- prompts: the bundled sample tasks (17 videos, 2 images);
- rollouts v1: the bundled sample completions imported (no prompt text or frame sampling recorded, as
  with any trainer log);
- rollouts v2: two generated-style rollouts of the first sample task with the prompt text and the frame
  sampling (2 fps, at most 4 frames) recorded, as ``factory rollouts`` writes them;
- pairs: one pair per task (an accurate, well-formed completion over an inaccurate one) plus the pair of
  the two recorded rollouts, written by hand (the pairs stage is tested on its own).
"""

from __future__ import annotations

import json
from datetime import datetime, timezone
from pathlib import Path

from factory.media.frames import FrameSampling, load_media
from factory.prompts import ImportConfig, import_prompts
from factory.rollouts.importer import RolloutImportConfig, import_rollouts
from factory.rollouts.templates import load_template
from factory.store import ParentRef, TableWriter
from schemas import canonical_json, pair_id, rollout_id

REPO = Path(__file__).resolve().parents[3]
SAMPLE_COMPLETIONS = REPO / "data" / "completions" / "sample_completions.jsonl"
NOW = datetime(2026, 11, 26, 12, 0, tzinfo=timezone.utc)
RECORDED_TEXT = "Watch the clip. In which direction does the square move? Options: A. right B. up C. left D. down"
RECORDED_FRAMES = FrameSampling(fps=2.0, max_frames=4, max_pixels=64 * 28 * 28)


def _recorded_rollouts(prompt: dict) -> list[dict]:
    """Two rollouts of ``prompt`` as the generation stage records them (prompt text, frame sampling)."""
    media = load_media(prompt["media_uri"], prompt["data_type"], RECORDED_FRAMES)
    completions = ["<think>It drifts to the right.</think><answer>A</answer>",
                   "<think>It goes up the frame.</think><answer>B</answer>"]
    rows = []
    for index, (completion, reward) in enumerate(zip(completions, (1.5, 0.5))):
        params = {"temperature": 1.0, "seed": 7 + index}
        rows.append({
            "rollout_id": rollout_id(prompt_id=prompt["prompt_id"], sample_index=index, policy_model="tiny-policy",
                                     policy_revision="r1", sampling_params=params, template_id="video-r1"),
            "prompt_id": prompt["prompt_id"], "sample_index": index, "status": "ok", "completion": completion,
            "policy_model": "tiny-policy", "policy_revision": "r1", "engine": "vllm",
            "sampling_params": canonical_json(params), "template_id": "video-r1", "prompt_text": RECORDED_TEXT,
            "media_uri": prompt["media_uri"], "media_sha256": prompt["media_sha256"],
            "frame_fps": RECORDED_FRAMES.fps, "max_frames": RECORDED_FRAMES.max_frames,
            "max_pixels": RECORDED_FRAMES.max_pixels, "frame_indices": media.frame_indices,
            "reward_profile": "veripo", "reward_total": reward, "accurate": index == 0, "fmt_ok": True,
            "created_at": NOW, "code_version": "test",
        })
    return rows


def _pair(chosen: dict, rejected: dict, pair_type: str) -> dict:
    return {
        "pair_id": pair_id(chosen_rollout_id=chosen["rollout_id"], rejected_rollout_id=rejected["rollout_id"],
                           policy="veripo"),
        "prompt_id": chosen["prompt_id"], "policy": "veripo", "pair_type": pair_type,
        "chosen_rollout_id": chosen["rollout_id"], "rejected_rollout_id": rejected["rollout_id"],
        "chosen": chosen["completion"], "rejected": rejected["completion"],
        "margin": (chosen["reward_total"] or 0.0) - (rejected["reward_total"] or 0.0), "weight": 1.0,
        "verifier": "judge-tiny", "chosen_reward": chosen["reward_total"], "rejected_reward": rejected["reward_total"],
        "created_at": NOW, "code_version": "test",
    }


def build_export_store(store, sample_json) -> dict:
    """Fill ``store`` as the module docstring says; returns a dict of what is in it."""
    import_prompts(store, sample_json, ImportConfig(probe_media=False), show_progress=False)
    prompts = {r["problem_id"]: r for r in store.read("prompts").to_pylist()}
    imported = import_rollouts(store, SAMPLE_COMPLETIONS, RolloutImportConfig(), show_progress=False).version
    recorded = _recorded_rollouts(prompts["1"])
    with TableWriter(store, "rollouts", stage="rollouts", config={"policy": "tiny-policy", "template": "video-r1"},
                     parents=[ParentRef("prompts", store.latest("prompts").id)]) as writer:
        writer.write(recorded)
        rollouts_version = writer.commit()
    assert rollouts_version.id != imported.id

    rollouts = store.read("rollouts").to_pylist()
    pairs = [_pair(recorded[0], recorded[1], "accuracy")]
    for prompt in prompts.values():
        group = [r for r in rollouts if r["prompt_id"] == prompt["prompt_id"] and r["engine"] != "vllm"]
        good = [r for r in group if r["accurate"] and r["fmt_ok"]]
        bad = [r for r in group if not r["accurate"]]
        if good and bad:
            pairs.append(_pair(good[0], bad[0], "accuracy" if bad[0]["fmt_ok"] else "penalty"))
    with TableWriter(store, "pairs", stage="pairs", config={"policy": "veripo", "verifier": "judge-tiny"},
                     parents=[ParentRef("rollouts", rollouts_version.id),
                              ParentRef("prompts", store.latest("prompts").id)]) as writer:
        writer.write(pairs)
        pairs_version = writer.commit()
    return {"store": store, "prompts": prompts, "recorded": recorded, "pairs": pairs,
            "pairs_version": pairs_version, "rollouts_version": rollouts_version}


def read_jsonl(path: Path) -> list[dict]:
    return [json.loads(line) for line in path.read_text().splitlines()]


def rendered(prompt: dict, template: str = "video-r1") -> str:
    return load_template(template).render(prompt["problem"], prompt["problem_type"], prompt["options"])
