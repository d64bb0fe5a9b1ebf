"""Making a job's result files fit the guild's upload limit, whatever their kind.

Discord refuses files above the guild's limit (10 MiB by default) with a 413. Every result
file over the limit is re-encoded: images as WebP (:mod:`discomfy.core.media.image_fit`), videos as
H.264 MP4 (:mod:`discomfy.core.media.video_fit`). The caller gets the files to send and one note
saying what was done, or why a file could not be sent at all, so the user is never left with
a bare upload error. Which kind a file is comes from the ComfyUI client
(:func:`discomfy.core.comfyui.events.media_kind`), so any plugin's video output gets this.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import PurePath

from discomfy.core.comfyui.events import media_kind
from discomfy.core.media.image_fit import readable_size, shrink_to
from discomfy.core.media.video_fit import shrink_video

#: kind -> (re-encoder, suffix of what it writes, how the note names it)
_SHRINKERS = {
    "image": (shrink_to, ".webp", "image(s) re-encoded as WebP"),
    "video": (shrink_video, ".mp4", "video(s) re-encoded smaller"),
}


@dataclass
class FitResult:
    files: list[tuple[str, bytes]] = field(default_factory=list)
    note: str | None = None


def fit_media(files: list[tuple[str, bytes]], limit: int) -> FitResult:
    """The files to upload under ``limit`` bytes each, and a note for the user. CPU-bound for
    large files: run it off the event loop."""
    result = FitResult()
    shrunk = {kind: 0 for kind in _SHRINKERS}
    dropped = {kind: 0 for kind in _SHRINKERS}
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
        shrunk[kind] += 1
        result.files.append((str(PurePath(name).with_suffix(suffix)), smaller))
    shown = readable_size(limit)
    notes = [f"{count} {_SHRINKERS[kind][2]} to fit this server's {shown} upload limit"
             for kind, count in shrunk.items() if count]
    notes += [f"{count} {kind}(s) could not be made smaller than {shown} and were left out"
              for kind, count in dropped.items() if count]
    result.note = "; ".join(notes) or None
    return result
