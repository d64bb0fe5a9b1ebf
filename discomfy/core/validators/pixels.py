"""Reading an image's pixels the expensive way, after its header passed: counting animation
frames (ComfyUI turns each into a batch entry, so they cost like images) and a full decode that
finds damage the header cannot show. Pure functions over bytes, run off the event loop."""

from __future__ import annotations

import io

from PIL import Image


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
