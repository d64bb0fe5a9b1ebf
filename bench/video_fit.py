"""How long re-encoding an oversize result video takes, and what it costs in quality terms.

A Wan 2.2 TI2V 5B video is 720p at 24 fps for up to 5 s. Real frames are detailed, so the
bench builds frames with fine detail that changes every frame (worse than real video for the
encoder), encodes them as ComfyUI's SaveVideo would, then shrinks the file under a 10 MiB
and a 2 MiB limit with the same code delivery uses. Prints figures; asserts nothing.

    .venv/bin/python bench/video_fit.py          # ~1 min on 2 cores
"""

from __future__ import annotations

import random
import resource
import time

from PIL import Image

from discomfy.core.media.fit import fit_media
from discomfy.core.media.video_fit import probe
from discomfy.testing.fake_comfyui.video_nodes import encode_video

SIZE = (1280, 704)
FPS = 24.0
MIB = 1024 * 1024


def frames(seconds: int) -> list[Image.Image]:
    rng = random.Random(7)
    base = Image.frombytes("RGB", (SIZE[0] // 4, SIZE[1] // 4), rng.randbytes(SIZE[0] * SIZE[1] * 3 // 16))
    base = base.resize(SIZE, Image.Resampling.BICUBIC)
    noise = [Image.frombytes("RGB", SIZE, rng.randbytes(SIZE[0] * SIZE[1] * 3)) for _ in range(4)]
    return [Image.blend(base, noise[i % 4], 0.25) for i in range(int(seconds * FPS) + 1)]


def main() -> None:
    for seconds in (2, 5):
        clip = frames(seconds)
        started = time.perf_counter()
        original = encode_video(clip, FPS, container="mp4", codec="libx264", options={"preset": "ultrafast", "crf": "8"})
        made = time.perf_counter() - started
        print(f"{seconds} s clip, {len(clip)} frames {SIZE[0]}x{SIZE[1]}: {len(original) / MIB:.1f} MiB (made in {made:.1f} s)")
        for limit_mib in (8, 2):
            limit = limit_mib * MIB
            started = time.perf_counter()
            fitted = fit_media([("clip.mp4", original)], limit)
            took = time.perf_counter() - started
            if fitted.files:
                info = probe(fitted.files[0][1])
                print(f"  limit {limit_mib} MiB: {len(fitted.files[0][1]) / MIB:.2f} MiB, {info.frames} frames at "
                      f"{float(info.fps):.0f} fps, {info.width}x{info.height}, re-encoded in {took:.1f} s")
            else:
                print(f"  limit {limit_mib} MiB: refused in {took:.1f} s: {fitted.note}")
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    print(f"peak RSS of this process: {peak:.0f} MiB")


if __name__ == "__main__":
    main()
