"""Decode videos and images into what engines take: sampled, resized frames with their metadata.

The frame rule is qwen-vl-utils': n = total / native_fps * target_fps, clamped to
[min_frames, max_frames] and to the frame count, rounded down to a multiple of 2, at evenly spaced
indices; each frame is resized to a multiple of 28 pixels per side with at most ``max_pixels`` pixels
(Qwen2.5-VL's smart resize).
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np

from factory.engines.base import MediaInput
from factory.errors import MediaError

FRAME_FACTOR = 2
PATCH_FACTOR = 28


@dataclass(frozen=True)
class FrameSampling:
    fps: float = 2.0
    min_frames: int = 4
    max_frames: int = 16
    max_pixels: int = 128 * 28 * 28
    min_pixels: int = 4 * 28 * 28


def frame_count(total: int, native_fps: float, config: FrameSampling) -> int:
    if total <= 0:
        return 0
    wanted = total / native_fps * config.fps if native_fps > 0 else config.max_frames
    low = math.ceil(config.min_frames / FRAME_FACTOR) * FRAME_FACTOR
    high = math.floor(min(config.max_frames, total) / FRAME_FACTOR) * FRAME_FACTOR
    n = min(max(wanted, low), high, total)
    return max(FRAME_FACTOR, math.floor(n / FRAME_FACTOR) * FRAME_FACTOR) if total >= FRAME_FACTOR else total


def frame_indices(total: int, count: int) -> list[int]:
    """Evenly spaced indices, first and last included (round half to even, like torch.round)."""
    if count <= 0:
        return []
    return [int(i) for i in np.round(np.linspace(0, total - 1, count)).astype(int)]


def smart_size(height: int, width: int, config: FrameSampling, factor: int = PATCH_FACTOR) -> tuple[int, int]:
    """Height and width rounded to ``factor`` with the pixel count inside [min_pixels, max_pixels]."""
    h = max(factor, round(height / factor) * factor)
    w = max(factor, round(width / factor) * factor)
    if h * w > config.max_pixels:
        beta = math.sqrt(height * width / config.max_pixels)
        h = max(factor, math.floor(height / beta / factor) * factor)
        w = max(factor, math.floor(width / beta / factor) * factor)
    elif h * w < config.min_pixels:
        beta = math.sqrt(config.min_pixels / (height * width))
        h = math.ceil(height * beta / factor) * factor
        w = math.ceil(width * beta / factor) * factor
    return h, w


def load_video(path: str, config: FrameSampling) -> MediaInput:
    """Sampled RGB frames (T, H, W, 3 uint8) of a video with fps, duration and the indices taken."""
    import av

    try:
        with av.open(path) as container:
            stream = container.streams.video[0]
            native_fps = float(stream.average_rate or stream.guessed_rate or 0) or 0.0
            decoded = [frame for frame in container.decode(stream)]
    except (OSError, av.error.FFmpegError, IndexError) as exc:
        raise MediaError(f"{path}: cannot decode video ({type(exc).__name__}: {str(exc)[:160]})") from None
    total = len(decoded)
    if total == 0:
        raise MediaError(f"{path}: video has no decodable frames")
    indices = frame_indices(total, frame_count(total, native_fps, config))
    height, width = smart_size(decoded[0].height, decoded[0].width, config)
    frames = np.stack([decoded[i].reformat(width=width, height=height, format="rgb24").to_ndarray()
                       for i in indices])
    duration = total / native_fps if native_fps else None
    sample_fps = (len(indices) / duration) if duration else None
    return MediaInput(kind="video", frames=frames, fps=native_fps or None, duration_s=duration, total_frames=total,
                      frame_indices=indices, sample_fps=sample_fps, uri=path)


def load_image(path: str, config: FrameSampling) -> MediaInput:
    from PIL import Image, UnidentifiedImageError

    try:
        with Image.open(path) as image:
            image = image.convert("RGB")
    except (OSError, UnidentifiedImageError) as exc:
        raise MediaError(f"{path}: cannot decode image ({exc})") from None
    height, width = smart_size(image.height, image.width, config)
    return MediaInput(kind="image", image=image.resize((width, height)), uri=path)


def load_media(path: str, data_type: str, config: FrameSampling) -> MediaInput:
    if data_type == "video":
        return load_video(path, config)
    if data_type == "image":
        return load_image(path, config)
    raise MediaError(f"{path}: unsupported media type {data_type!r}")
