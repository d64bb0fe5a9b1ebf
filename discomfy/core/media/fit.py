"""Making a job's result files fit the guild's upload limit, whatever their kind.

Discord refuses files above the guild's limit (10 MiB by default) with a 413. Every result
file over the limit is re-encoded: images as WebP (:mod:`discomfy.core.media.image_fit`), videos as
H.264 MP4 (:mod:`discomfy.core.media.video_fit`). The caller gets the files to send and one note
saying what was done -- the new size too, when a file had to be scaled down -- or why a file
could not be sent at all, so the user is never left with a bare upload error or a smaller
result than they asked for without a word. Which kind a file is comes from the ComfyUI client
(:func:`discomfy.core.comfyui.events.media_kind`), so any plugin's video output gets this.
"""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass, field
from pathlib import PurePath

from discomfy.core.comfyui.events import media_kind
from discomfy.core.media.image_fit import readable_size, shrink_to
from discomfy.core.media.shrunk import Shrunk
from discomfy.core.media.video_fit import shrink_video

#: kind -> (re-encoder, suffix of what it writes, what the note says was done)
_SHRINKERS = {
    "image": (shrink_to, ".webp", "re-encoded as WebP"),
    "video": (shrink_video, ".mp4", "re-encoded smaller"),
}


@dataclass
class FitResult:
    files: list[tuple[str, bytes]] = field(default_factory=list)
    note: str | None = None
    scaled: bool = False  # some file was scaled down: its size is in the note, not the job's width/height


def done_to(kind: str, shrunk: Shrunk) -> str:
    """What the note says was done to one file: "re-encoded as WebP", and "and scaled to
    1536×1536" when its size changed (never silently: /upscale promises an exact factor)."""
    done = _SHRINKERS[kind][2]
    if shrunk.scaled_to is None:
        return done
    width, height = shrunk.scaled_to
    return f"{done} and scaled to {width}×{height}"


def fit_media(files: list[tuple[str, bytes]], limit: int) -> FitResult:
    """The files to upload under ``limit`` bytes each, and a note for the user. CPU-bound for
    large files: run it off the event loop."""
    result = FitResult()
    shrunk: Counter[tuple[str, str]] = Counter()  # (kind, what was done) -> files
    dropped: Counter[str] = Counter()
    for name, data in files:
        if len(data) <= limit:
            result.files.append((name, data))
            continue
        kind = media_kind(name)
        shrink, suffix, _ = _SHRINKERS[kind]
        smaller = shrink(data, limit)
        if smaller is None:
            dropped[kind] += 1
            continue
        shrunk[kind, done_to(kind, smaller)] += 1
        result.scaled = result.scaled or smaller.scaled_to is not None
        result.files.append((str(PurePath(name).with_suffix(suffix)), smaller.data))
    shown = readable_size(limit)
    notes = [f"{count} {kind}(s) {done} to fit this server's {shown} upload limit"
             for (kind, done), count in shrunk.items()]
    notes += [f"{count} {kind}(s) could not be made smaller than {shown} and were left out"
              for kind, count in dropped.items()]
    result.note = "; ".join(notes) or None
    return result
