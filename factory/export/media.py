"""Frames for exported rows: decode a prompt's media with the rollout's frame sampling, encode as images.

The rule and decoder are the rollout stage's (:func:`factory.media.frames.load_media`), so an exported
row carries the frames the policy saw when the sampling settings match the ones recorded on its rollout
(``frame_fps``, ``max_frames``, ``max_pixels``). Images are stored encoded (``{"bytes", "path"}``, what
the ``datasets`` ``Image`` feature stores), PNG by default so the pixels are exact.
"""

from __future__ import annotations

import io
from collections import OrderedDict
from dataclasses import dataclass
from typing import Any

from factory.errors import MediaError
from factory.media.frames import FrameSampling, load_media

MEDIA_TYPES = ("video", "image")


def frame_sampling(config: Any, recorded: dict[str, Any] | None) -> FrameSampling:
    """Config values first, then the values recorded on the rollout, then :class:`FrameSampling`'s defaults."""
    recorded = recorded or {}
    base = FrameSampling()

    def pick(setting: str, column: str | None, default: Any) -> Any:
        value = getattr(config, setting)
        if value is None and column is not None:
            value = recorded.get(column)
        return default if value is None else value

    return FrameSampling(fps=float(pick("fps", "frame_fps", base.fps)),
                         min_frames=int(pick("min_frames", None, base.min_frames)),
                         max_frames=int(pick("max_frames", "max_frames", base.max_frames)),
                         max_pixels=int(pick("max_pixels", "max_pixels", base.max_pixels)),
                         min_pixels=min(base.min_pixels, int(pick("max_pixels", "max_pixels", base.max_pixels))))


@dataclass(frozen=True)
class Frames:
    """Encoded images of one prompt's media (one per sampled frame; one for an image prompt)."""

    images: list[dict[str, Any]]
    indices: list[int]


class FrameEncoder:
    """Decodes media into encoded frames, keeping the last few results (rows arrive grouped by prompt)."""

    def __init__(self, image_format: str = "png", cache_size: int = 8):
        self.image_format = image_format
        self.cache_size = cache_size
        self._cache: OrderedDict[tuple, Frames] = OrderedDict()

    def frames(self, uri: str | None, data_type: str, sampling: FrameSampling, *, row: str) -> Frames:
        """Frames of ``uri``; :class:`MediaError` naming ``row`` and the file when it cannot be decoded."""
        if data_type not in MEDIA_TYPES:
            return Frames([], [])
        if not uri:
            raise MediaError(f"{row}: field 'media_uri': the {data_type} prompt has no media file")
        key = (uri, data_type, sampling)
        if key in self._cache:
            self._cache.move_to_end(key)
            return self._cache[key]
        try:
            media = load_media(uri, data_type, sampling)
        except MediaError as exc:
            raise MediaError(f"{row}: {exc}; the export needs the prompt's media at the path the prompts "
                             "table records (or pass include_frames=False)") from None
        if media.kind == "video":
            pictures = [self._encode_array(frame) for frame in media.frames]
            result = Frames(pictures, list(media.frame_indices))
        else:
            result = Frames([self._encode_image(media.image)], [0])
        self._cache[key] = result
        if len(self._cache) > self.cache_size:
            self._cache.popitem(last=False)
        return result

    def _encode_array(self, frame: Any) -> dict[str, Any]:
        from PIL import Image

        return self._encode_image(Image.fromarray(frame))

    def _encode_image(self, image: Any) -> dict[str, Any]:
        buffer = io.BytesIO()
        if self.image_format == "jpeg":
            image.convert("RGB").save(buffer, format="JPEG", quality=95)
        else:
            image.save(buffer, format="PNG")
        return {"bytes": buffer.getvalue(), "path": None}
