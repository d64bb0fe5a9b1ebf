"""The moderation plugin's NSFW output classifier (issue 22, point 4).

The real NudeNet detector runs on innocent images and videos made here (landscapes), and a
spy on it counts what reaches it; the decision (threshold, labels, first finding) is driven
through a fake detector, since no explicit image can ship with the tests."""

from __future__ import annotations

import asyncio
import functools
import io
import sys
import threading

import av
import nudenet
import pytest
from PIL import Image, ImageDraw

from discomfy.testing.fake_comfyui.video_nodes import encode_video
from plugins.community.nsfw import (
    UNREADABLE,
    ClassifierUnavailable,
    Finding,
    OutputClassifier,
    kind,
    spread,
)


def landscape(size: tuple[int, int] = (512, 384), shift: int = 0) -> Image.Image:
    """Sky, sun, hills and a lake: skin-free, but with texture and gradients."""
    width, height = size
    image = Image.new("RGB", size)
    draw = ImageDraw.Draw(image)
    for y in range(height // 2):
        draw.line([(0, y), (width, y)], fill=(90 + y * 100 // height, 150 + y * 80 // height, 235))
    draw.ellipse([width * 0.7 + shift, height * 0.08, width * 0.82 + shift, height * 0.24], fill=(255, 230, 120))
    for i, colour in enumerate([(60, 120, 60), (40, 100, 45), (30, 80, 40)]):
        top = height * (0.35 + 0.08 * i)
        draw.polygon([(0, height), (0, top + 30), (width * 0.3 + shift, top), (width * 0.7, top + 40),
                      (width, top + 10), (width, height)], fill=colour)
    draw.rectangle([0, height * 0.75, width, height], fill=(50, 90, 140))
    return image


def encoded(image: Image.Image, fmt: str, **options) -> bytes:
    out = io.BytesIO()
    image.save(out, fmt, **options)
    return out.getvalue()


@functools.cache
def grey_video(levels: tuple[int, ...], container: str = "mp4", codec: str = "libx264") -> bytes:
    """One flat grey frame per level, so a frame that reached the detector says its index."""
    frames = [Image.new("RGB", (320, 240), (level,) * 3) for level in levels]
    options = {"crf": "0"} if codec == "libx264" else {}
    return encode_video(frames, 24.0, container=container, codec=codec, options=options)


class FakeDetector:
    """Answers ``detect`` with the next canned list of detections; records every frame."""

    def __init__(self, *answers: list[dict]) -> None:
        self.answers = list(answers)
        self.frames: list = []

    def detect(self, image) -> list[dict]:
        self.frames.append(image)
        return self.answers.pop(0) if self.answers else []


def det(label: str, score: float) -> dict:
    return {"class": label, "score": score, "box": [0, 0, 10, 10]}


PNG = encoded(Image.new("RGB", (32, 32), (200, 10, 10)), "PNG")


@pytest.fixture(scope="module")
def loaded():
    """One real detector for the tests that are not about loading (a load costs ~0.5 s)."""
    return nudenet.NudeDetector()


@pytest.fixture
def spy(monkeypatch):
    """Every array the real detector is given, in order."""
    seen: list = []
    real = nudenet.NudeDetector.detect

    def detect(self, image):
        seen.append(image)
        return real(self, image)

    monkeypatch.setattr(nudenet.NudeDetector, "detect", detect)
    return seen


# -- the real detector --------------------------------------------------------------------------


async def test_the_real_detector_flags_nothing_on_innocent_images_and_videos(spy):
    classifier = OutputClassifier()
    files = [
        ("sky.png", encoded(landscape(), "PNG")),
        ("sky.jpg", encoded(landscape((1024, 1024)), "JPEG", quality=90)),
        ("sky.webp", encoded(landscape((640, 360), shift=40), "WEBP")),
        ("clip.mp4", encode_video([landscape((640, 360), shift=i * 4) for i in range(48)], 24.0,
                                  container="mp4", codec="libx264")),
        ("clip.webm", encode_video([landscape((320, 240), shift=i * 4) for i in range(24)], 24.0,
                                   container="webm", codec="libvpx-vp9")),
    ]
    assert await classifier.check(files) is None
    assert classifier.available and classifier.unavailable_reason is None
    images = [(384, 512, 3), (1024, 1024, 3), (360, 640, 3)]
    assert [frame.shape for frame in spy] == images + [(360, 640, 3)] * 4 + [(240, 320, 3)] * 4


async def test_frames_reach_the_detector_in_bgr_as_cv2_imread_gives_them(spy, loaded):
    assert await OutputClassifier(detector=loaded).check([("red.png", PNG)]) is None
    assert spy[0].flags["C_CONTIGUOUS"] and spy[0].dtype.name == "uint8"
    assert spy[0][0, 0].tolist() == [10, 10, 200]


@pytest.mark.parametrize(("container", "codec"), [("mp4", "libx264"), ("webm", "libvpx-vp9")])
@pytest.mark.parametrize("per_video", [1, 4, 6])
async def test_frames_are_sampled_evenly_from_a_three_second_video(spy, loaded, container, codec, per_video):
    levels = tuple(30 + 3 * i for i in range(72))  # 3 s at 24 fps; decoding is off by at most 1
    video = grey_video(levels, container, codec)
    assert await OutputClassifier(frames_per_video=per_video, detector=loaded).check([("clip", video)]) is None
    reached = [levels.index(min(levels, key=lambda level: abs(level - frame.mean()))) for frame in spy]
    assert reached == spread(72, per_video)
    assert reached == sorted(reached) and reached[0] < 72 // per_video and reached[-1] >= 72 - 72 // per_video


async def test_a_video_shorter_than_the_sample_sends_every_frame(spy, loaded):
    classifier = OutputClassifier(frames_per_video=4, detector=loaded)
    assert await classifier.check([("short.mp4", grey_video((50, 150)))]) is None
    assert len(spy) == 2


async def test_the_model_loads_once_in_a_worker_thread(monkeypatch):
    loads: list[int] = []
    real = nudenet.NudeDetector.__init__

    def init(self, *args, **kwargs):
        loads.append(threading.get_ident())
        real(self, *args, **kwargs)

    monkeypatch.setattr(nudenet.NudeDetector, "__init__", init)
    classifier = OutputClassifier()
    assert loads == []  # lazily
    await asyncio.gather(classifier.check([("a.png", PNG)]), classifier.check([("b.png", PNG)]), classifier.load())
    assert len(loads) == 1 and loads[0] != threading.get_ident()


# -- the decision ---------------------------------------------------------------------------------


@pytest.mark.parametrize(("detections", "expected"), [
    ([det("FEMALE_BREAST_EXPOSED", 0.6)], ("FEMALE_BREAST_EXPOSED", 0.6)),
    ([det("FEMALE_BREAST_EXPOSED", 0.59)], None),
    ([det("MALE_BREAST_EXPOSED", 0.99), det("FACE_FEMALE", 0.99), det("BELLY_EXPOSED", 0.95)], None),
    ([det("FEMALE_BREAST_COVERED", 0.99), det("BUTTOCKS_COVERED", 0.99)], None),
    ([det("BUTTOCKS_EXPOSED", 0.7), det("MALE_GENITALIA_EXPOSED", 0.9), det("FACE_MALE", 0.99)],
     ("MALE_GENITALIA_EXPOSED", 0.9)),
])
async def test_the_default_threshold_and_labels_decide(detections, expected):
    finding = await OutputClassifier(detector=FakeDetector(detections)).check([("out.png", PNG)])
    assert finding == (Finding("out.png", *expected) if expected else None)


async def test_a_threshold_and_label_set_of_ones_own_decide():
    answer = [det("FEET_EXPOSED", 0.35), det("FEMALE_BREAST_EXPOSED", 0.99)]
    classifier = OutputClassifier(threshold=0.3, labels=frozenset({"FEET_EXPOSED"}), detector=FakeDetector(answer))
    assert await classifier.check([("feet.png", PNG)]) == Finding("feet.png", "FEET_EXPOSED", 0.35)
    strict = OutputClassifier(threshold=0.4, labels=frozenset({"FEET_EXPOSED"}), detector=FakeDetector(answer))
    assert await strict.check([("feet.png", PNG)]) is None


async def test_the_first_flagged_file_is_returned_and_the_rest_are_not_checked():
    detector = FakeDetector([], [det("ANUS_EXPOSED", 0.8)], [det("FEMALE_GENITALIA_EXPOSED", 0.9)])
    files = [("a.png", PNG), ("b.png", PNG), ("c.png", PNG)]
    assert await OutputClassifier(detector=detector).check(files) == Finding("b.png", "ANUS_EXPOSED", 0.8)
    assert len(detector.frames) == 2


async def test_a_flagged_video_frame_flags_the_video_and_stops_the_sampling():
    detector = FakeDetector([], [det("BUTTOCKS_EXPOSED", 0.75)])
    video = grey_video(tuple(30 + 3 * i for i in range(72)))
    finding = await OutputClassifier(detector=detector).check([("v.mp4", video)])
    assert finding == Finding("v.mp4", "BUTTOCKS_EXPOSED", 0.75)
    assert len(detector.frames) == 2


async def test_animated_images_have_their_frames_sampled_like_videos():
    frames = [Image.new("RGB", (64, 64), (level,) * 3) for level in range(0, 240, 10)]  # 24 frames
    webp = io.BytesIO()
    frames[0].save(webp, "WEBP", save_all=True, append_images=frames[1:], duration=40, lossless=True)
    detector = FakeDetector()
    assert await OutputClassifier(frames_per_video=3, detector=detector).check([("a.webp", webp.getvalue())]) is None
    assert [int(frame[0, 0, 0]) for frame in detector.frames] == [40, 120, 200]  # frames 4, 12, 20


async def test_files_are_judged_by_content_not_name():
    detector = FakeDetector([det("FEMALE_BREAST_EXPOSED", 0.9)])
    audio = io.BytesIO()
    with av.open(audio, "w", format="mp4") as target:  # an .m4a: ftyp, but no picture
        stream = target.add_stream("aac", rate=44100)
        frame = av.AudioFrame(format="fltp", layout="mono", samples=1024)
        frame.planes[0].update(bytes(4096))
        frame.sample_rate = 44100
        for packet in [*stream.encode(frame), *stream.encode()]:
            target.mux(packet)
    skipped = [("notes.png", b"just text"), ("sound.m4a", audio.getvalue()), ("data.bin", bytes(64))]
    classifier = OutputClassifier(detector=detector)
    assert await classifier.check(skipped) is None and detector.frames == []
    assert kind(audio.getvalue()) == "video"  # so the audio file did go through PyAV
    assert await classifier.check([("result.txt", PNG)]) == Finding("result.txt", "FEMALE_BREAST_EXPOSED", 0.9)


@pytest.mark.parametrize("data", [PNG[:40], b"\x89PNG\r\n\x1a\n" + bytes(100), b"\0\0\0\x18ftypisom" + bytes(100)])
async def test_a_file_that_looks_like_media_but_does_not_decode_is_flagged(data):
    detector = FakeDetector()
    assert await OutputClassifier(detector=detector).check([("broken", data)]) == Finding("broken", UNREADABLE, 1.0)
    assert detector.frames == []


# -- off the event loop ---------------------------------------------------------------------------


async def test_check_runs_off_the_event_loop():
    """The detector, once started, blocks until a coroutine on the loop has run: were
    ``check`` on the loop, that coroutine could not run and the detector would give up."""
    loop = asyncio.get_running_loop()
    detecting = asyncio.Event()
    loop_ran = threading.Event()
    threads: list[int] = []

    class Blocking(FakeDetector):
        def detect(self, image):
            threads.append(threading.get_ident())
            loop.call_soon_threadsafe(detecting.set)
            assert loop_ran.wait(timeout=10), "the event loop was blocked while the detector ran"
            return super().detect(image)

    async def concurrent() -> None:
        await detecting.wait()
        loop_ran.set()

    check = OutputClassifier(detector=Blocking()).check([("a.png", PNG)])
    assert await asyncio.gather(check, concurrent()) == [None, None]
    assert threads and threads[0] != threading.get_ident()


# -- unavailable ----------------------------------------------------------------------------------


async def test_a_missing_nudenet_names_the_package_and_the_install_command(monkeypatch):
    monkeypatch.setitem(sys.modules, "nudenet", None)  # `import nudenet` now raises ImportError
    classifier = OutputClassifier()
    assert await classifier.load() is False
    assert not classifier.available
    assert classifier.unavailable_reason == "NudeNet is not installed: pip install 'discomfy[nsfw]'"
    with pytest.raises(ClassifierUnavailable, match="NudeNet is not installed"):
        await classifier.check([("a.png", PNG)])


def test_a_missing_dependency_of_nudenet_is_named(monkeypatch):
    for name in ("nudenet", "nudenet.nudenet"):
        monkeypatch.delitem(sys.modules, name)
    monkeypatch.setitem(sys.modules, "onnxruntime", None)
    reason = OutputClassifier().unavailable_reason
    assert reason is not None and "onnxruntime" in reason and reason.endswith("pip install 'discomfy[nsfw]'")


def test_a_model_that_does_not_load_is_reported(monkeypatch):
    def refuse(self, *args, **kwargs):
        raise RuntimeError("bad protobuf")

    monkeypatch.setattr(nudenet.NudeDetector, "__init__", refuse)
    classifier = OutputClassifier()
    assert not classifier.available
    assert classifier.unavailable_reason == "NudeNet's model did not load (RuntimeError: bad protobuf)"
