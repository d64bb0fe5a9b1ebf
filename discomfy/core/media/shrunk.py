"""What re-encoding a result file to fit an upload limit made of it."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class Shrunk:
    """The re-encoded file, and its new ``(width, height)`` when it had to be scaled down
    (None when the original size was kept): a user who asked for an exact size, like
    /upscale's factor, must be told when they did not get it."""

    data: bytes
    scaled_to: tuple[int, int] | None = None
