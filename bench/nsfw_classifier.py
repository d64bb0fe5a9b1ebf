"""What the moderation plugin's NSFW output classifier costs per result (issue 22, point 4).

Times ``plugins.community.nsfw.OutputClassifier`` (NudeNet's 320n model on onnxruntime, CPU)
in this process: the cold load (importing NudeNet, onnxruntime and OpenCV, and building the
session), then ``check_sync`` on twenty 1024x1024 PNGs with fine detail (what an SDXL/Flux
result weighs), and on 3 s 1280x720 H.264 clips at 24 fps at the default sampling (4 frames
of 72). Wall time and the process's CPU time are printed: onnxruntime spreads one inference
over every core, and on a shared machine the wall time also says how busy it was (the load
average is printed first). Prints figures; asserts nothing.

    .venv/bin/python bench/nsfw_classifier.py    # ~1.5 min on 2 cores
"""

from __future__ import annotations

import io
import os
import random
import resource
import statistics
import sys
import time
from pathlib import Path

from PIL import Image

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))  # the repo's plugins/ folder

from discomfy.testing.fake_comfyui.video_nodes import encode_video  # noqa: E402
from plugins.community.nsfw import OutputClassifier  # noqa: E402

IMAGES = 20
CLIPS, RUNS_PER_CLIP = 3, 3


def detailed(size: tuple[int, int], rng: random.Random) -> Image.Image:
    width, height = size
    base = Image.frombytes("RGB", (width // 8, height // 8), rng.randbytes(width * height * 3 // 64))
    noise = Image.frombytes("RGB", size, rng.randbytes(width * height * 3))
    return Image.blend(base.resize(size, Image.Resampling.BICUBIC), noise, 0.15)


def png(image: Image.Image) -> bytes:
    out = io.BytesIO()
    image.save(out, "PNG", compress_level=4)  # ComfyUI's SaveImage level
    return out.getvalue()


def clip(seed: int) -> bytes:
    rng = random.Random(seed)
    start, end = detailed((1280, 720), rng), detailed((1280, 720), rng)
    frames = [Image.blend(start, end, i / 71) for i in range(72)]
    return encode_video(frames, 24.0, container="mp4", codec="libx264")


def timed(classifier: OutputClassifier, name: str, data: bytes) -> tuple[float, float]:
    wall, cpu = time.perf_counter(), time.process_time()
    if classifier.check_sync([(name, data)]) is not None:
        raise SystemExit(f"{name} was flagged: the bench's content is meant to be innocent")
    return (time.perf_counter() - wall) * 1000, (time.process_time() - cpu) * 1000


def report(what: str, samples: list[tuple[float, float]]) -> None:
    walls = sorted(wall for wall, _ in samples)
    p95 = walls[min(len(walls) - 1, round(0.95 * (len(walls) - 1)))]
    cpu = statistics.median(cpu for _, cpu in samples)
    print(f"{what}: median {statistics.median(walls):.0f} ms, p95 {p95:.0f} ms wall "
          f"(median {cpu:.0f} ms CPU) over {len(samples)} runs")


def main() -> None:
    rng = random.Random(22)
    images = [png(detailed((1024, 1024), rng)) for _ in range(IMAGES)]
    clips = [clip(seed) for seed in range(CLIPS)]
    png_mib, mp4_mib = (statistics.median(map(len, files)) / 2**20 for files in (images, clips))
    print(f"{os.cpu_count()} CPUs, load average {os.getloadavg()[0]:.1f}; "
          f"PNG 1024x1024 {png_mib:.1f} MiB, 3 s 720p mp4 {mp4_mib:.1f} MiB (medians)")

    classifier = OutputClassifier()
    wall, cpu = time.perf_counter(), time.process_time()
    if not classifier.available:
        raise SystemExit(classifier.unavailable_reason)
    wall, cpu = (time.perf_counter() - wall) * 1000, (time.process_time() - cpu) * 1000
    print(f"cold load: {wall:.0f} ms wall, {cpu:.0f} ms CPU")

    report("1024x1024 PNG", [timed(classifier, f"{i}.png", data) for i, data in enumerate(images)])
    report(f"3 s 720p mp4, {classifier.frames_per_video} frames of 72",
           [timed(classifier, f"{i}.mp4", data) for i, data in enumerate(clips) for _ in range(RUNS_PER_CLIP)])
    print(f"peak RSS of this process: {resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024:.0f} MiB")


if __name__ == "__main__":
    main()
