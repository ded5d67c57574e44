"""Chat messages with media placeholders -> OpenAI chat content parts (pure; no I/O except reading a local video).

Stages write messages whose media parts are placeholders, ``{"type": "video"}`` or ``{"type": "image"}``,
and put the decoded media on the request (:class:`~factory.engines.base.MediaInput`). An endpoint needs the
media inside the message instead:

- ``video_mode="frames"``: each sampled frame becomes an ``image_url`` part (a base64 data URL) in place of
  the video placeholder. Works with any vision endpoint; the frames are exactly the ones the in-process
  engine sees. (Servers may cap images per prompt: vLLM's ``--limit-mm-per-prompt``.)
- ``video_mode="video_url"``: one ``video_url`` part. ``http(s)://``, ``file://`` and ``data:`` URIs pass as
  they are; a local path is embedded as a base64 data URL (the server need not share our disk).
- ``video_mode="file_url"``: one ``video_url`` part with a ``file://`` URL of the local path (the server
  must see the same disk and allow it, e.g. vLLM's ``--allowed-local-media-path``).

Images become an ``image_url`` data URL. Parts of other types than OpenAI's are dropped.
"""

from __future__ import annotations

import base64
import io
import mimetypes
from pathlib import Path
from typing import Any

import numpy as np

from factory.engines.base import MediaInput
from factory.errors import MediaError, UsageError

VIDEO_MODES = ("frames", "video_url", "file_url")
IMAGE_FORMATS = {"jpeg": "image/jpeg", "png": "image/png", "webp": "image/webp"}
# Part types an OpenAI-compatible chat endpoint understands; anything else is a placeholder of ours.
OPENAI_PART_TYPES = frozenset({"text", "image_url", "video_url", "input_audio", "audio_url", "file"})
_PASS_THROUGH_SCHEMES = ("http://", "https://", "file://", "data:")


def image_data_url(image: Any, image_format: str = "jpeg", quality: int = 90) -> str:
    """A ``data:image/...;base64,`` URL of an H x W x 3 uint8 array or a PIL image."""
    from PIL import Image

    if image_format not in IMAGE_FORMATS:
        raise UsageError(f"image_format must be one of {sorted(IMAGE_FORMATS)}, not {image_format!r}")
    if isinstance(image, np.ndarray):
        image = Image.fromarray(np.ascontiguousarray(image, dtype=np.uint8))
    if image.mode not in ("RGB", "L") and image_format == "jpeg":
        image = image.convert("RGB")
    buffer = io.BytesIO()
    save_kwargs = {"quality": quality} if image_format in ("jpeg", "webp") else {}
    image.save(buffer, format=image_format.upper(), **save_kwargs)
    return f"data:{IMAGE_FORMATS[image_format]};base64,{base64.b64encode(buffer.getvalue()).decode('ascii')}"


def video_url(uri: str, video_mode: str) -> str:
    """The URL of a ``video_url`` part for ``uri`` (see the module docstring for the two modes)."""
    if uri.startswith(_PASS_THROUGH_SCHEMES):
        return uri
    path = Path(uri).expanduser().resolve()
    if video_mode == "file_url":
        return path.as_uri()
    try:
        data = path.read_bytes()
    except OSError as exc:
        raise MediaError(f"video {uri}: cannot read it to embed as a data URL ({exc})") from None
    mime = mimetypes.guess_type(path.name)[0] or "video/mp4"
    return f"data:{mime};base64,{base64.b64encode(data).decode('ascii')}"


def media_parts(media: MediaInput, video_mode: str = "frames", image_format: str = "jpeg") -> list[dict]:
    """The OpenAI content parts that carry ``media``."""
    if video_mode not in VIDEO_MODES:
        raise UsageError(f"video_mode must be one of {VIDEO_MODES}, not {video_mode!r}")
    if media.kind == "image":
        image = media.image if media.image is not None else _single_frame(media)
        return [{"type": "image_url", "image_url": {"url": image_data_url(image, image_format)}}]
    if media.kind != "video":
        raise UsageError(f"media kind must be 'video' or 'image', not {media.kind!r}")
    if video_mode == "frames":
        if media.frames is None or len(media.frames) == 0:
            raise MediaError(f"video {media.uri}: video_mode='frames' needs sampled frames on the request")
        frames = np.asarray(media.frames)
        if frames.ndim != 4 or frames.shape[-1] != 3:
            raise MediaError(f"video {media.uri}: frames must be (T, H, W, 3) uint8, got shape {frames.shape}")
        return [{"type": "image_url", "image_url": {"url": image_data_url(frame, image_format)}}
                for frame in frames]
    if not media.uri:
        raise MediaError(f"video_mode={video_mode!r} needs the video's uri on the request")
    return [{"type": "video_url", "video_url": {"url": video_url(media.uri, video_mode)}}]


def openai_messages(messages: list[dict[str, Any]], media: MediaInput | None = None, *,
                    video_mode: str = "frames", image_format: str = "jpeg") -> list[dict[str, Any]]:
    """``messages`` with media placeholders replaced by ``media``'s parts and non-OpenAI parts dropped.

    The input is not modified. If ``media`` is given but no message holds a placeholder, its parts go
    first in the first user message (where Qwen-VL prompts put them). A placeholder without media is
    dropped. A message whose parts are all text keeps its list form.
    """
    parts = media_parts(media, video_mode, image_format) if media is not None else None
    placed = False
    out: list[dict[str, Any]] = []
    for message in messages:
        content = message.get("content")
        if not isinstance(content, list):
            out.append(dict(message))
            continue
        new_content: list[dict[str, Any]] = []
        for part in content:
            kind = part.get("type") if isinstance(part, dict) else None
            if kind in ("video", "image"):
                if parts is not None and not placed:
                    new_content.extend(parts)
                    placed = True
            elif kind in OPENAI_PART_TYPES:
                new_content.append(dict(part))
        out.append({**message, "content": new_content})
    if parts is not None and not placed:
        for i, message in enumerate(out):
            if message.get("role") == "user":
                content = message.get("content")
                text = [{"type": "text", "text": content}] if isinstance(content, str) else list(content or [])
                out[i] = {**message, "content": parts + text}
                break
        else:
            raise UsageError("a request with media needs a user message to put the media in")
    return out


def _single_frame(media: MediaInput) -> np.ndarray:
    if media.frames is None or len(media.frames) == 0:
        raise MediaError(f"image {media.uri}: neither a PIL image nor a frame on the request")
    return np.asarray(media.frames)[0]
