"""Rows of the trainer layouts, built from the store: which text, which frames, which columns.

The user turn of a ``trl-dpo`` row is the prompt text recorded on the chosen rollout (what the policy was
actually asked); rollouts that did not record it (imported ones) get the configured template's rendering.
``trl-grpo`` and ``verl`` render every question with the configured template, since the trainer samples
afresh. Frames follow the sampling recorded on the rollout unless the config overrides it.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Any

from datasets import Features

from factory.export import layouts
from factory.export.config import ExportConfig
from factory.export.media import MEDIA_TYPES, FrameEncoder, frame_sampling
from factory.export.sources import Sources, pair_rows, prompt_rows
from factory.rollouts.templates import PromptTemplate, load_template
from factory.store import Manifest, Store


@dataclass
class Built:
    """A layout ready to write: its features, its rows (generated lazily) and what the card reports."""

    features: Features
    rows: Iterator[dict[str, Any]]
    total: int
    sources: Sources
    counts: dict[str, Counter] = field(default_factory=dict)
    """Headline counts for the dataset card, by title."""
    facts: dict[str, Any] = field(default_factory=dict)
    """Other facts for the card (template, frame sampling, ...)."""
    warnings: list[str] = field(default_factory=list)
    """Filled while ``rows`` is consumed."""


def _render(template: PromptTemplate, prompt: dict[str, Any]) -> str:
    return template.render(prompt["problem"], prompt["problem_type"], list(prompt["options"] or []))


def _model(rollout: dict[str, Any] | None) -> str | None:
    if rollout is None:
        return None
    revision = rollout.get("policy_revision")
    return f"{rollout['policy_model']}@{revision}" if revision else rollout["policy_model"]


class _FrameCheck:
    """Counts rows whose decoded frame indices differ from the ones their rollout recorded."""

    def __init__(self) -> None:
        self.differ = 0
        self.example: str | None = None

    def check(self, rollout: dict[str, Any] | None, indices: list[int], row: str) -> None:
        recorded = (rollout or {}).get("frame_indices")
        if recorded is not None and list(recorded) != list(indices):
            self.differ += 1
            self.example = self.example or f"{row}: recorded {list(recorded)}, exported {list(indices)}"

    def warnings(self) -> list[str]:
        if not self.differ:
            return []
        return [f"{self.differ} row(s) got frames other than their rollout recorded (first: {self.example}); "
                "the frame sampling settings or the media file changed since the rollouts were made"]


def build_dpo(store: Store, manifest: Manifest, config: ExportConfig) -> Built:
    pairs, sources = pair_rows(store, manifest, config.limit)
    template = load_template(config.template)
    vision = config.include_frames and any(p["prompt"]["data_type"] in MEDIA_TYPES for p in pairs)
    built = Built(layouts.dpo_features(images=vision), iter(()), len(pairs), sources)
    questions = list({p["prompt_id"]: p["prompt"] for p in pairs}.values())
    built.counts = {
        "pairs by type": Counter(p["pair_type"] for p in pairs),
        "pairs by policy": Counter(p["policy"] for p in pairs),
        "pairs by verifier": Counter(p["verifier"] or "(none)" for p in pairs),
        "rollouts by policy model": Counter(m for p in pairs for m in (_model(p["chosen_rollout"]),
                                                                       _model(p["rejected_rollout"])) if m),
        "rollouts by reward profile": Counter(r["reward_profile"] or "(none)" for p in pairs
                                              for r in (p["chosen_rollout"], p["rejected_rollout"]) if r),
        "prompts by problem type": Counter(prompt["problem_type"] for prompt in questions),
        "prompts by media": Counter(prompt["data_type"] for prompt in questions),
    }
    built.facts = {"frames": "in `images`" if vision else "none", "template (fallback)": template.id}
    built.warnings.extend(sources.warnings)

    def rows() -> Iterator[dict[str, Any]]:
        encoder, frames_check, rendered = FrameEncoder(config.image_format), _FrameCheck(), 0
        for pair in pairs:
            prompt, rollout = pair["prompt"], pair["chosen_rollout"]
            text = (rollout or {}).get("prompt_text")
            if not text:
                text, rendered = _render(template, prompt), rendered + 1
            images = None
            if vision:
                where = f"pair {pair['pair_id']} (prompt {pair['prompt_id']})"
                frames = encoder.frames(prompt["media_uri"], prompt["data_type"], frame_sampling(config, rollout),
                                        row=where)
                if prompt["data_type"] == "video":
                    frames_check.check(rollout, frames.indices, where)
                images = frames.images
            yield layouts.dpo_row(pair, text, images, system=config.system_prompt)
        if rendered:
            built.warnings.append(f"{rendered} pair(s) had no prompt text recorded on their chosen rollout; "
                                  f"their user turn is the {template.id!r} template's rendering")
        built.warnings.extend(frames_check.warnings())

    built.rows = rows()
    return built


def build_prompt_layout(store: Store, manifest: Manifest, config: ExportConfig) -> Built:
    """``trl-grpo`` or ``verl`` rows: one per prompt."""
    prompts, sources = prompt_rows(store, manifest, config.limit)
    template = load_template(config.template)
    has_media = any(p["data_type"] in MEDIA_TYPES for p in prompts)
    has_video = any(p["data_type"] == "video" for p in prompts)
    has_image = any(p["data_type"] == "image" for p in prompts)
    frames_wanted = config.include_frames and has_media
    if config.format == "trl-grpo":
        features = layouts.grpo_features(images=frames_wanted)
        image_column, video_column = frames_wanted, False
    else:
        # verl takes videos by URI (qwen-vl-utils samples them) when frames are not embedded
        image_column = frames_wanted or has_image
        video_column = has_video and not config.include_frames
        features = layouts.verl_features(images=image_column, videos=video_column)
    built = Built(features, iter(()), len(prompts), sources)
    built.counts = {"prompts by problem type": Counter(p["problem_type"] for p in prompts),
                    "prompts by media": Counter(p["data_type"] for p in prompts),
                    "prompts by source": Counter(p["data_source"] or "(none)" for p in prompts)}
    built.facts = {"template": template.id, "template_hash": template.hash,
                   "frames": "in `images`" if frames_wanted else ("videos by URI" if video_column else "none")}
    built.warnings.extend(sources.warnings)

    def rows() -> Iterator[dict[str, Any]]:
        encoder, frames_check = FrameEncoder(config.image_format), _FrameCheck()
        for index, prompt in enumerate(prompts):
            text = _render(template, prompt)
            where = f"prompt {prompt['prompt_id']}"
            sampling = frame_sampling(config, prompt["rollout"])
            images, video = None, None
            embed = prompt["data_type"] == "image" or (prompt["data_type"] == "video" and config.include_frames)
            if image_column and embed:
                frames = encoder.frames(prompt["media_uri"], prompt["data_type"], sampling, row=where)
                if prompt["data_type"] == "video":
                    frames_check.check(prompt["rollout"], frames.indices, where)
                images = frames.images
            elif video_column and prompt["data_type"] == "video":
                video = layouts.video_entry(prompt["media_uri"], sampling)
            if config.format == "trl-grpo":
                yield layouts.grpo_row(prompt, text, (images or []) if image_column else None,
                                       system=config.system_prompt)
            else:
                yield layouts.verl_row(prompt, text, index, split=config.split, images=images, video=video,
                                       image_column=image_column, video_column=video_column,
                                       system=config.system_prompt)
        built.warnings.extend(frames_check.warnings())

    built.rows = rows()
    return built


def build(store: Store, manifest: Manifest, config: ExportConfig) -> Built:
    """The trainer layout ``config.format`` of ``manifest``'s rows."""
    if config.format == "trl-dpo":
        return build_dpo(store, manifest, config)
    return build_prompt_layout(store, manifest, config)
