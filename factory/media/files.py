"""Hash and probe media files (video with PyAV, images with Pillow)."""

from __future__ import annotations

import hashlib
from pathlib import Path

VIDEO_SUFFIXES = {".mp4", ".mkv", ".webm", ".avi", ".mov", ".m4v"}
IMAGE_SUFFIXES = {".png", ".jpg", ".jpeg", ".webp", ".bmp", ".gif"}


def sha256_file(path: str | Path, chunk: int = 1 << 20) -> tuple[str, int]:
    """SHA-256 hex digest and size in bytes of a file, read in chunks."""
    digest = hashlib.sha256()
    size = 0
    with open(path, "rb") as handle:
        while block := handle.read(chunk):
            digest.update(block)
            size += len(block)
    return digest.hexdigest(), size


def media_kind(path: str | Path) -> str | None:
    suffix = Path(path).suffix.lower()
    if suffix in VIDEO_SUFFIXES:
        return "video"
    if suffix in IMAGE_SUFFIXES:
        return "image"
    return None


def probe(path: str | Path, data_type: str) -> str | None:
    """None when the file decodes as ``data_type``; else a short reason it does not."""
    try:
        if data_type == "video":
            import av

            with av.open(str(path)) as container:
                if not container.streams.video:
                    return "has no video stream"
                for _ in container.decode(video=0):
                    return None
                return "has no decodable frame"
        if data_type == "image":
            from PIL import Image

            with Image.open(path) as image:
                image.verify()
            return None
    except Exception as exc:  # decoders raise many kinds; the reason is what matters to the user
        return f"cannot be decoded as {data_type} ({type(exc).__name__}: {str(exc)[:120]})"
    return None
