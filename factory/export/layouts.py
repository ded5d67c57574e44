"""Row layouts of the trainer formats and their ``datasets`` features (pure: values in, values out).

``trl-dpo`` (TRL DPOTrainer, explicit-prompt conversational preference)::

    prompt    [{"role", "content"}]  system (optional) + user turn; with frames the user content is a list of
              parts: one {"type": "image"} per frame, then {"type": "text", "text": question}
    chosen    [{"role": "assistant", "content": str}]
    rejected  [{"role": "assistant", "content": str}]
    images    [Image]  the frames (only when the export has frames)
    pair_id, prompt_id, pair_type, policy, chosen_rollout_id, rejected_rollout_id: str; margin, weight: float

``trl-grpo`` (TRL GRPOTrainer; every column but ``prompt`` reaches the reward functions)::

    prompt    as above; images as above
    prompt_id, gold, problem_type, data_type: str; options: [str]

``verl`` (verl's RLHFDataset Parquet, as in verl's "Prepare Data for Post-Training")::

    data_source   str    the prompt's source dataset (reward-function routing in verl)
    prompt        [{"role", "content": str}]  with "<image>" / "<video>" placeholders in the user text
    ability       str    the problem type
    reward_model  {"style": "rule", "ground_truth": gold}
    extra_info    {"index", "split", "prompt_id", "problem_type", "options", "data_type", "media_uri"}
    images        [Image]  frames or the image (when any row has them)
    videos        [{"video": uri, "fps", "min_frames", "max_frames", "max_pixels"}]  qwen-vl-utils video
                  entries, when videos are referenced by URI (include_frames=False)

Arrow needs one type per column, so when any row has frames every user turn (and the system turn) is a
list of parts, text-only rows included; an export without frames keeps plain string contents.
"""

from __future__ import annotations

from typing import Any

from datasets import Features, Image, List, Value

from factory.media.frames import FrameSampling

STRING = Value("string")
FLOAT = Value("float64")
INT = Value("int64")
PART = {"type": STRING, "text": STRING}
PLAIN_MESSAGES = List({"role": STRING, "content": STRING})
PART_MESSAGES = List({"role": STRING, "content": List(PART)})
VIDEO_ENTRY = {"video": STRING, "fps": FLOAT, "min_frames": INT, "max_frames": INT, "max_pixels": INT}

DPO_METADATA = ("pair_id", "prompt_id", "pair_type", "policy", "chosen_rollout_id", "rejected_rollout_id")
GRPO_COLUMNS = ("prompt_id", "gold", "problem_type", "options", "data_type")


# -- messages --------------------------------------------------------------------------------------------
def prompt_messages(text: str, n_images: int, *, parts: bool, system: str | None) -> list[dict[str, Any]]:
    """System (optional) and user turns; with ``parts`` the contents are part lists, images first."""
    messages: list[dict[str, Any]] = []
    if parts:
        if system is not None:
            messages.append({"role": "system", "content": [{"type": "text", "text": system}]})
        content = [{"type": "image", "text": None} for _ in range(n_images)]
        messages.append({"role": "user", "content": content + [{"type": "text", "text": text}]})
    else:
        if system is not None:
            messages.append({"role": "system", "content": system})
        messages.append({"role": "user", "content": text})
    return messages


def assistant(text: str) -> list[dict[str, str]]:
    return [{"role": "assistant", "content": text}]


# -- rows ------------------------------------------------------------------------------------------------
def dpo_row(pair: dict[str, Any], text: str, images: list[dict[str, Any]] | None, *,
            system: str | None) -> dict[str, Any]:
    """One TRL DPO row; ``images`` None means the export has no image column."""
    row: dict[str, Any] = {
        "prompt": prompt_messages(text, len(images or []), parts=images is not None, system=system),
        "chosen": assistant(pair["chosen"]),
        "rejected": assistant(pair["rejected"]),
    }
    if images is not None:
        row["images"] = images
    row.update({name: pair[name] for name in DPO_METADATA})
    row["margin"] = pair.get("margin")
    row["weight"] = 1.0 if pair.get("weight") is None else pair["weight"]
    return row


def grpo_row(prompt: dict[str, Any], text: str, images: list[dict[str, Any]] | None, *,
             system: str | None) -> dict[str, Any]:
    """One TRL GRPO row: the prompt plus the columns the reward functions read."""
    row: dict[str, Any] = {
        "prompt": prompt_messages(text, len(images or []), parts=images is not None, system=system)}
    if images is not None:
        row["images"] = images
    row.update({name: prompt[name] for name in GRPO_COLUMNS})
    row["options"] = list(prompt["options"] or [])
    return row


def verl_row(prompt: dict[str, Any], text: str, index: int, *, split: str, images: list[dict[str, Any]] | None,
             video: dict[str, Any] | None, image_column: bool, video_column: bool,
             system: str | None) -> dict[str, Any]:
    """One verl row; ``images``/``video`` are this row's media, the ``*_column`` flags the export's columns."""
    placeholders = "<image>" * len(images or []) + ("<video>" if video is not None else "")
    messages = [{"role": "system", "content": system}] if system is not None else []
    messages.append({"role": "user", "content": placeholders + text})
    row: dict[str, Any] = {
        "data_source": prompt.get("data_source") or "veripo-factory",
        "prompt": messages,
        "ability": prompt["problem_type"],
        "reward_model": {"style": "rule", "ground_truth": prompt["gold"]},
        "extra_info": {"index": index, "split": split, "prompt_id": prompt["prompt_id"],
                       "problem_type": prompt["problem_type"], "options": list(prompt["options"] or []),
                       "data_type": prompt["data_type"], "media_uri": prompt.get("media_uri")},
    }
    if image_column:
        row["images"] = list(images or [])
    if video_column:
        row["videos"] = [video] if video is not None else []
    return row


def video_entry(uri: str, sampling: FrameSampling) -> dict[str, Any]:
    """A qwen-vl-utils video entry (what verl's RLHFDataset passes to ``fetch_video``)."""
    return {"video": uri, "fps": float(sampling.fps), "min_frames": int(sampling.min_frames),
            "max_frames": int(sampling.max_frames), "max_pixels": int(sampling.max_pixels)}


# -- column docs (for the dataset card) ------------------------------------------------------------------
_PROMPT_DOC = ("chat messages ending with the user turn; with frames the user content is one image part per "
               "frame, then the question text")
COLUMN_DOCS: dict[str, dict[str, str]] = {
    "trl-dpo": {
        "prompt": _PROMPT_DOC + " (the text the policy was asked, from the chosen rollout)",
        "chosen": "the preferred completion as one assistant message",
        "rejected": "the dispreferred completion as one assistant message",
        "images": "the sampled video frames (or the image), in the order of the image parts",
        "pair_id": "key of the pair in the factory's pairs table", "prompt_id": "key of the question",
        "pair_type": "consistency, penalty, accuracy or margin", "policy": "pair policy that chose the pair",
        "chosen_rollout_id": "the chosen rollout", "rejected_rollout_id": "the rejected rollout",
        "margin": "chosen minus rejected reward_total", "weight": "training weight of the pair",
    },
    "trl-grpo": {
        "prompt": _PROMPT_DOC + " (rendered with the export's template)",
        "images": "the sampled video frames (or the image), in the order of the image parts",
        "prompt_id": "key of the question (reward functions group by it)", "gold": "the gold answer",
        "problem_type": "multiple choice, numerical, OCR, free-form or regression",
        "options": "answer options for multiple choice", "data_type": "video, image or text",
    },
    "verl": {
        "data_source": "source dataset of the question (verl routes reward functions by it)",
        "prompt": "chat messages; <image>/<video> in the user text mark where the media go",
        "ability": "the problem type", "reward_model": "style 'rule' and ground_truth = the gold answer",
        "extra_info": "index, split, prompt_id, problem_type, options, data_type and media_uri of the question",
        "images": "the image, or the sampled video frames, one per <image>",
        "videos": "qwen-vl-utils video entries (file and frame sampling), one per <video>",
    },
}


# -- features --------------------------------------------------------------------------------------------
def dpo_features(*, images: bool) -> Features:
    columns: dict[str, Any] = {"prompt": PART_MESSAGES if images else PLAIN_MESSAGES,
                               "chosen": PLAIN_MESSAGES, "rejected": PLAIN_MESSAGES}
    if images:
        columns["images"] = List(Image())
    columns.update({name: STRING for name in DPO_METADATA})
    columns.update(margin=FLOAT, weight=FLOAT)
    return Features(columns)


def grpo_features(*, images: bool) -> Features:
    columns: dict[str, Any] = {"prompt": PART_MESSAGES if images else PLAIN_MESSAGES}
    if images:
        columns["images"] = List(Image())
    columns.update(prompt_id=STRING, gold=STRING, problem_type=STRING, options=List(STRING), data_type=STRING)
    return Features(columns)


def verl_features(*, images: bool, videos: bool) -> Features:
    columns: dict[str, Any] = {
        "data_source": STRING,
        "prompt": PLAIN_MESSAGES,
        "ability": STRING,
        "reward_model": {"style": STRING, "ground_truth": STRING},
        "extra_info": {"index": INT, "split": STRING, "prompt_id": STRING, "problem_type": STRING,
                       "options": List(STRING), "data_type": STRING, "media_uri": STRING},
    }
    if images:
        columns["images"] = List(Image())
    if videos:
        columns["videos"] = List(VIDEO_ENTRY)
    return Features(columns)
