"""Making result images fit an upload limit.

Discord refuses files above the guild's limit (10 MiB by default), and a large PNG from an
upscaler easily exceeds it. Images that are too big are re-encoded as high-quality WebP, then
at lower quality, then downscaled; the caller gets a note saying what was done, or why an
image could not be sent at all.
"""

from __future__ import annotations

import io
from dataclasses import dataclass, field
from pathlib import PurePath

from PIL import Image

QUALITIES = (92, 85, 75)
SCALES = (1.0, 0.75, 0.5, 0.35)


@dataclass
class FitResult:
    files: list[tuple[str, bytes]] = field(default_factory=list)
    note: str | None = None


def _encode(image: Image.Image, quality: int) -> bytes:
    buffer = io.BytesIO()
    image.save(buffer, "WEBP", quality=quality, method=4)
    return buffer.getvalue()


def shrink_to(data: bytes, limit: int) -> bytes | None:
    """A WebP re-encoding of ``data`` no larger than ``limit`` bytes, or None if impossible."""
    with Image.open(io.BytesIO(data)) as opened:
        image = opened.convert("RGBA" if opened.mode in ("RGBA", "LA", "P") else "RGB")
    for scale in SCALES:
        scaled = image if scale == 1.0 else image.resize(
            (max(1, int(image.width * scale)), max(1, int(image.height * scale))), Image.Resampling.LANCZOS
        )
        for quality in QUALITIES:
            encoded = _encode(scaled, quality)
            if len(encoded) <= limit:
                return encoded
    return None


def readable_size(size: int) -> str:
    """``10 MB``, ``512 KB``: a limit as a user reads it (never "0 MB")."""
    for unit, scale in (("MB", 1024 * 1024), ("KB", 1024)):
        if size >= scale:
            value = size / scale
            return f"{value:.0f} {unit}" if value >= 10 or value.is_integer() else f"{value:.1f} {unit}"
    return f"{size} bytes"


def fit_images(images: list[tuple[str, bytes]], limit: int) -> FitResult:
    result = FitResult()
    shrunk = dropped = 0
    for name, data in images:
        if len(data) <= limit:
            result.files.append((name, data))
            continue
        smaller = shrink_to(data, limit)
        if smaller is None:
            dropped += 1
            continue
        shrunk += 1
        result.files.append((str(PurePath(name).with_suffix(".webp")), smaller))
    shown = readable_size(limit)
    notes = []
    if shrunk:
        notes.append(f"{shrunk} image(s) re-encoded as WebP to fit this server's {shown} upload limit")
    if dropped:
        notes.append(f"{dropped} image(s) could not be made smaller than {shown} and were left out")
    result.note = "; ".join(notes) or None
    return result
