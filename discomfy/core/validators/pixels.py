"""Reading an image with Pillow: its size from the header, and its pixels the expensive way
once the header passed: counting animation frames (ComfyUI turns each into a batch entry, so
they cost like images) and a full decode that finds damage the header cannot show. Pure
functions over bytes, run off the event loop."""

from __future__ import annotations

import io

from PIL import Image

from discomfy.exceptions import ValidationError


def image_size(data: bytes, unreadable: str) -> tuple[int, int]:
    """(width, height) from the image's header; ``ValidationError(unreadable)`` when Pillow cannot
    read it. Public (``discomfy.image_size``) for plugins that size their work by an image
    (``upscale``, ``outpaint``, ``region``); each words ``unreadable`` for where the image came
    from: an attachment to replace, or an earlier result to make again."""
    try:
        with Image.open(io.BytesIO(data)) as image:
            return image.size
    except Exception:  # noqa: BLE001 - Pillow raises several types for files it cannot read
        raise ValidationError(unreadable) from None


def count_frames(data: bytes, stop_at: int) -> int | None:
    """Frames in the image, counting no further than ``stop_at`` (animations are costed
    frame by frame: ComfyUI's image loader turns every frame into a batch entry). None when
    the frames cannot even be walked (a damaged file)."""
    try:
        with Image.open(io.BytesIO(data)) as image:
            if not getattr(image, "is_animated", False):
                return 1
            count = 1
            while count < stop_at:
                try:
                    image.seek(count)
                except EOFError:
                    break
                count += 1
            return count
    except Exception:  # noqa: BLE001 - any failure walking frames means "damaged"
        return None


def decode_problem(data: bytes) -> str | None:
    """Run Pillow's integrity check (``verify``) and a real decode (``load``) of every pixel of
    the first frame; return what went wrong, or None. ``verify`` catches checksum errors that
    ``load`` ignores; ``load`` catches truncation that ``verify`` does not look for."""
    try:
        with Image.open(io.BytesIO(data)) as image:
            image.verify()
        with Image.open(io.BytesIO(data)) as image:
            image.load()
    except Exception as exc:  # noqa: BLE001 - any decoder failure means "damaged"
        return repr(exc)
    return None
