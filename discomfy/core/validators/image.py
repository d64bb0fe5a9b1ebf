"""Checking user-supplied images before any of them reaches ComfyUI.

An attachment is refused here, with a message that says what was wrong and what is accepted,
rather than failing deep inside a workflow with an error the user cannot act on. The checks
run cheapest first: metadata (size, content type), then the file header (real format and
dimensions, so a decompression bomb is refused before a single pixel is decoded), and only
then a full decode that catches damaged and truncated files.

Duck-typed on purpose: ``validate`` takes anything with ``filename``, ``content_type`` and
``size`` (a ``discord.Attachment`` works), so this module never imports ``discord``.
"""

from __future__ import annotations

import asyncio
import io
import logging
import mimetypes
import os
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any

from PIL import Image

from discomfy.core.validators.pixels import count_frames, decode_problem

log = logging.getLogger(__name__)

#: Content types each Pillow format is commonly sent with (browsers and Discord differ a little).
FORMAT_CONTENT_TYPES: dict[str, tuple[str, ...]] = {
    "PNG": ("image/png", "image/apng"),
    "JPEG": ("image/jpeg", "image/jpg", "image/pjpeg"),
    "WEBP": ("image/webp",),
    "GIF": ("image/gif",),
    "BMP": ("image/bmp", "image/x-bmp", "image/x-ms-bmp"),
    "TIFF": ("image/tiff",),
    "ICO": ("image/x-icon", "image/vnd.microsoft.icon"),
    "AVIF": ("image/avif",),
    "HEIF": ("image/heic", "image/heif"),
}
_CONTENT_TYPE_FORMATS = {ct: fmt for fmt, cts in FORMAT_CONTENT_TYPES.items() for ct in cts}
_UNKNOWN_TYPES = frozenset({"application/octet-stream", "binary/octet-stream"})
_MIB = 1024 * 1024


@dataclass(frozen=True)
class ValidationResult:
    """Outcome of one check. ``error_message`` is user-facing and set only when invalid;
    ``format``/``width``/``height`` are known once the header has been read."""

    is_valid: bool
    error_message: str | None = None
    format: str | None = None
    width: int | None = None
    height: int | None = None
    size_bytes: int | None = None


def _display_name(filename: Any) -> str:
    """The file name as it can safely appear inside Discord inline code."""
    name = os.path.basename(str(filename or "")).replace("`", "'")
    name = "".join(ch for ch in name if ch.isprintable()).strip()
    if not name:
        return "The attachment"
    if len(name) > 80:
        name = name[:77] + "..."
    return f"`{name}`"


def _megabytes(size: int) -> str:
    return f"{size / _MIB:.1f} MB"


def _number(value: float) -> str:
    return f"{value:g}"


class ImageValidator:
    """Validates input images against size, pixel and format limits (``[limits]`` settings)."""

    def __init__(
        self,
        max_size_mb: float = 25,
        max_pixels: int = 40_000_000,
        allowed_formats: Iterable[str] = ("PNG", "JPEG", "WEBP", "GIF", "BMP"),
        max_frames: int = 100,
    ) -> None:
        self.allowed_formats = tuple(f.upper() for f in allowed_formats)
        if not self.allowed_formats:
            raise ValueError("allowed_formats must name at least one Pillow format, e.g. ('PNG',)")
        if max_size_mb <= 0 or max_pixels <= 0:
            raise ValueError("max_size_mb and max_pixels must be greater than 0")
        self.max_size_mb = max_size_mb
        self.max_bytes = int(max_size_mb * _MIB)
        self.max_pixels = int(max_pixels)
        #: Animation frames accepted; all frames together must also fit ``max_pixels``.
        self.max_frames = max(1, int(max_frames))

    @classmethod
    def from_config(cls, config: Any) -> ImageValidator:
        """Build from the ``[limits]`` section of a DisComfy config."""
        return cls(
            max_size_mb=config.limits.max_image_mb,
            max_pixels=config.limits.max_image_pixels,
            # dict.fromkeys: dynaconf's merge appends a user's list to the defaults' list
            allowed_formats=tuple(dict.fromkeys(config.limits.image_formats)),
        )

    # --- messages -------------------------------------------------------------------------

    @property
    def accepted(self) -> str:
        """What users may attach, e.g. "Attach a PNG, JPEG, WEBP, GIF or BMP up to 25 MB."."""
        names = list(self.allowed_formats)
        listed = names[0] if len(names) == 1 else ", ".join(names[:-1]) + " or " + names[-1]
        return f"Attach a {listed} up to {_number(self.max_size_mb)} MB."

    def _refuse(self, problem: str, **known: Any) -> ValidationResult:
        return ValidationResult(False, f"{problem} {self.accepted}", **known)

    # --- public checks --------------------------------------------------------------------

    def validate(self, attachment: Any, data: bytes | None = None) -> ValidationResult:
        """Check an attachment; with ``data`` (its bytes) also decode it, else metadata only."""
        filename = getattr(attachment, "filename", None)
        content_type = getattr(attachment, "content_type", None)
        size = getattr(attachment, "size", None)
        name = _display_name(filename)
        if isinstance(size, int) and not isinstance(size, bool):
            refused = self._check_size(name, size)
            if refused is not None:
                return refused
        refused = self._check_content_type(name, filename, content_type, size)
        if refused is not None:
            return refused
        if data is None:
            declared = _CONTENT_TYPE_FORMATS.get(_media_type(content_type) or "")
            known_size = size if isinstance(size, int) and not isinstance(size, bool) else None
            return ValidationResult(True, format=declared, size_bytes=known_size)
        return self.validate_bytes(data, filename, content_type)

    async def validate_async(self, attachment: Any, data: bytes | None = None) -> ValidationResult:
        """``validate`` in a worker thread: decoding a large image takes tens to hundreds of
        milliseconds of CPU, which must not stall the event loop (and Discord's 3 s ack)."""
        return await asyncio.to_thread(self.validate, attachment, data)

    def validate_bytes(
        self, data: bytes, filename: str | None, content_type: str | None = None
    ) -> ValidationResult:
        """Check image bytes completely: size, declared type, real format, pixels, decoding.

        Never raises for any input: every failure becomes an invalid result with a message.
        """
        name = _display_name(filename)
        try:
            size = len(data)
        except TypeError:
            return self._refuse(f"{name} could not be read.")
        refused = self._check_size(name, size)
        if refused is None:
            refused = self._check_content_type(name, filename, content_type, size)
        if refused is not None:
            return refused
        try:
            return self._decode(name, bytes(data))
        except Exception as exc:  # noqa: BLE001 - the promise is "never raises"
            log.warning("image check of %s failed unexpectedly: %r", name, exc)
            return self._refuse(f"{name} could not be read as an image.", size_bytes=size)

    # --- the steps ------------------------------------------------------------------------

    def _check_size(self, name: str, size: int) -> ValidationResult | None:
        if size <= 0:
            return self._refuse(f"{name} is empty (0 bytes).", size_bytes=0)
        if size > self.max_bytes:
            return self._refuse(
                f"{name} is {_megabytes(size)}, over the {_number(self.max_size_mb)} MB limit.",
                size_bytes=size,
            )
        return None

    def _check_content_type(
        self, name: str, filename: Any, content_type: Any, size: Any
    ) -> ValidationResult | None:
        size_bytes = size if isinstance(size, int) else None
        media = _media_type(content_type)
        if media in _UNKNOWN_TYPES:
            media = None  # "some binary": the file name, then the bytes, decide
        if media is None:
            guessed, _ = mimetypes.guess_type(str(filename or ""))
            if guessed and not guessed.startswith("image/"):
                return self._refuse(f"{name} is not an image ({guessed}).", size_bytes=size_bytes)
            return None  # unknown: the bytes decide
        if not media.startswith("image/"):
            return self._refuse(f"{name} is not an image ({media}).", size_bytes=size_bytes)
        declared = _CONTENT_TYPE_FORMATS.get(media)
        if declared is not None and declared not in self.allowed_formats:
            return self._refuse(
                f"{name} is a {declared} image ({media}), which is not accepted.",
                format=declared,
                size_bytes=size_bytes,
            )
        if declared is None:
            return self._refuse(
                f"{name} is an image type that is not accepted ({media}).", size_bytes=size_bytes
            )
        return None

    def _decode(self, name: str, data: bytes) -> ValidationResult:
        size = len(data)
        try:
            header = Image.open(io.BytesIO(data))
        except Image.DecompressionBombError:
            return self._refuse(
                f"{name} has far too many pixels to be processed safely "
                f"(limit {self.max_pixels / 1e6:g} megapixels). Scale it down.",
                size_bytes=size,
            )
        except Exception as exc:  # noqa: BLE001 - Pillow raises many types for junk
            log.debug("%s not identified by Pillow: %r", name, exc)
            return self._refuse(
                f"{name} is not a readable image: its contents are not in any image format "
                "(it may be damaged or renamed).",
                size_bytes=size,
            )
        with header:
            fmt = (header.format or "").upper() or None
            width, height = header.size
        known = {"format": fmt, "width": width, "height": height, "size_bytes": size}
        if fmt not in self.allowed_formats:
            return self._refuse(f"{name} is a {fmt} image, which is not accepted.", **known)
        if width <= 0 or height <= 0:
            return self._refuse(f"{name} has no pixels ({width}×{height}).", **known)
        # Pillow's own bomb limit also counts (it would refuse to decode above it); comparing
        # here instead of catching its warning keeps this free of the process-global
        # warnings filters, so validations may run in threads side by side.
        limit = min(self.max_pixels, Image.MAX_IMAGE_PIXELS or self.max_pixels)
        if width * height > limit:
            return self._refuse(
                f"{name} is {width}×{height} pixels ({width * height / 1e6:.1f} megapixels), "
                f"over the limit of {limit / 1e6:g} megapixels. Scale it down.",
                **known,
            )
        stop_at = min(self.max_frames, self.max_pixels // (width * height)) + 1
        frames = count_frames(data, stop_at)
        if frames is not None and frames * width * height > self.max_pixels:
            counted = f"at least {frames}" if frames >= stop_at else str(frames)
            return self._refuse(
                f"{name} is an animation of {counted} "
                f"frames of {width}×{height} pixels, over the limit of "
                f"{self.max_pixels / 1e6:g} megapixels in all. Send a still image or a "
                "shorter, smaller animation.",
                **known,
            )
        if frames is not None and frames > self.max_frames:
            return self._refuse(
                f"{name} has more than {self.max_frames} animation frames. "
                "Send a still image or a shorter animation.",
                **known,
            )
        problem = decode_problem(data) if frames is not None else "frames unreadable"
        if problem is not None:
            log.debug("%s failed to decode: %s", name, problem)
            return self._refuse(
                f"{name} is damaged: the {fmt} data is cut off or corrupt. "
                "Save or export it again.",
                **known,
            )
        return ValidationResult(True, None, **known)


def _media_type(content_type: Any) -> str | None:
    """``"image/PNG; charset=x"`` -> ``"image/png"``; None/blank -> None."""
    if not isinstance(content_type, str):
        return None
    media = content_type.split(";", 1)[0].strip().lower()
    # shown to users inside parentheses: keep it short and printable
    media = "".join(ch for ch in media if ch.isprintable() and ch != "`")[:60]
    return media or None


__all__ = ["ImageValidator", "ValidationResult", "FORMAT_CONTENT_TYPES"]
