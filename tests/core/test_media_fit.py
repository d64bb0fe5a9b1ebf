"""Result files over the upload limit: videos re-encoded as smaller H.264 MP4 (same frames,
same rate), images as WebP, and a note that says what happened or why a file was left out."""

from __future__ import annotations

import io
import random

from PIL import Image

from discomfy.core.media.fit import fit_media
from discomfy.core.media.video_fit import probe
from discomfy.testing.fake_comfyui.video_nodes import encode_video


def noisy_frames(count: int, size: tuple[int, int], seed: int = 3) -> list[Image.Image]:
    rng = random.Random(seed)
    return [Image.frombytes("RGB", size, rng.randbytes(size[0] * size[1] * 3)) for _ in range(count)]


def big_video() -> bytes:
    return encode_video(noisy_frames(24, (320, 240)), 12.0, container="mp4", codec="libx264",
                        options={"preset": "ultrafast", "crf": "10"})


def test_a_video_over_the_limit_is_reencoded_under_it_with_its_frames_and_rate():
    data = big_video()
    limit = len(data) // 4
    fitted = fit_media([("clip_00001_.mp4", data)], limit)
    ((name, smaller),) = fitted.files
    assert name == "clip_00001_.mp4" and len(smaller) <= limit < len(data)
    before, after = probe(data), probe(smaller)
    assert (after.frames, after.fps) == (before.frames, before.fps) == (24, 12)
    assert after.width <= 320 and after.height <= 240
    assert "1 video(s) re-encoded smaller" in fitted.note and "upload limit" in fitted.note


def test_a_video_that_cannot_fit_is_left_out_with_a_reason():
    fitted = fit_media([("clip.mp4", big_video())], 2_048)
    assert fitted.files == []
    assert fitted.note == "1 video(s) could not be made smaller than 2 KB and were left out"


def test_a_webm_is_delivered_as_mp4_when_it_must_shrink():
    data = encode_video(noisy_frames(12, (160, 120)), 6.0, container="webm", codec="libvpx-vp9",
                        options={"crf": "4", "b": "0", "deadline": "realtime", "cpu-used": "8"})
    fitted = fit_media([("clip.webm", data)], len(data) // 2)
    ((name, smaller),) = fitted.files
    assert name == "clip.mp4" and probe(smaller).frames == 12


def test_images_and_videos_under_the_limit_pass_untouched_and_images_still_shrink_to_webp():
    png = io.BytesIO()
    noisy_frames(1, (256, 256))[0].save(png, "PNG")
    small_video = encode_video(noisy_frames(4, (32, 32)), 4.0, container="mp4", codec="libx264")
    limit = len(png.getvalue()) - 1
    fitted = fit_media([("a.png", png.getvalue()), ("b.mp4", small_video)], limit)
    assert [name for name, _ in fitted.files] == ["a.webp", "b.mp4"]
    assert fitted.files[1][1] == small_video
    assert fitted.note.startswith("1 image(s) re-encoded as WebP")
