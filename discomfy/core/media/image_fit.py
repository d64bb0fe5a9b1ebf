"""Making result images fit an upload limit.

Discord refuses files above the guild's limit (10 MiB by default), and a large PNG from an
upscaler easily exceeds it. Images that are too big are re-encoded as high-quality WebP, then
at lower quality, and only then downscaled (the size is what a user asked for, /upscale's factor
for one); :mod:`discomfy.core.media.fit` decides what to do with each result file and words the
note, naming the new size when there is one.
"""

from __future__ import annotations

import io

from PIL import Image

from discomfy.core.media.shrunk import Shrunk

QUALITIES = (92, 85, 75, 60)
SCALES = (1.0, 0.75, 0.5, 0.35)


def _encode(image: Image.Image, quality: int) -> bytes:
    buffer = io.BytesIO()
    image.save(buffer, "WEBP", quality=quality, method=4)
    return buffer.getvalue()


def shrink_to(data: bytes, limit: int) -> Shrunk | None:
    """A WebP re-encoding of ``data`` no larger than ``limit`` bytes (with its new size if it
    had to be scaled down), or None if impossible."""
    with Image.open(io.BytesIO(data)) as opened:
        image = opened.convert("RGBA" if opened.mode in ("RGBA", "LA", "P") else "RGB")
    for scale in SCALES:
        scaled = image if scale == 1.0 else image.resize(
            (max(1, int(image.width * scale)), max(1, int(image.height * scale))), Image.Resampling.LANCZOS
        )
        for quality in QUALITIES:
            encoded = _encode(scaled, quality)
            if len(encoded) <= limit:
                return Shrunk(encoded, None if scaled is image else scaled.size)
    return None


def readable_size(size: int) -> str:
    """``10 MB``, ``512 KB``: a limit as a user reads it (never "0 MB")."""
    for unit, scale in (("MB", 1024 * 1024), ("KB", 1024)):
        if size >= scale:
            value = size / scale
            return f"{value:.0f} {unit}" if value >= 10 or value.is_integer() else f"{value:.1f} {unit}"
    return f"{size} bytes"
