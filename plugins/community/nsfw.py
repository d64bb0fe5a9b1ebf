"""The moderation plugin's output classifier: is a result fit for a channel Discord does not
mark age-restricted? (issue 22, point 4)

**Why NudeNet.** Its wheel ships its detector (``nudenet/320n.onnx``, a YOLOv8n trained on
exposed and covered body parts, 12 MB), so nothing downloads weights at run time, and it runs
on CPU through onnxruntime. It is an optional extra (``pip install 'discomfy[nsfw]'``, about
120 MB of wheels with onnxruntime, opencv-python-headless and numpy): without it
``available`` is False, ``unavailable_reason`` says what to install, and ``check`` raises
``ClassifierUnavailable`` rather than pass everything (the caller decides to withhold). Note
that NudeNet's wheel declares MIT but carries an AGPL-3.0 licence text.

**Why these labels.** NudeNet reports 18 classes, including faces, feet, bellies, armpits
and covered parts. Only the exposed sexual parts are what an age restriction is about; a
shirtless man (``MALE_BREAST_EXPOSED``), a bare belly or bare feet (swimwear, sport) are not.

**Why 0.6.** NudeNet keeps every box from 0.2 up, which suits censoring (blacking out a
doubtful box costs little); here a finding withholds a whole result, so only confident boxes
count. The figure is a judgement, not a measurement: no labelled explicit set can live in
this repository to calibrate it, so operators can move it.

**What it cannot do.** It finds exposed body parts in photographic and painted people; it
does not judge context (art, medicine), gore, violence or text, and it misses what the small
320-pixel model misses (small figures in a large image, heavy stylisation). A video is judged
on ``frames_per_video`` frames sampled evenly, so a short flash between them passes. A file
that looks like an image or video but does not decode is flagged ``UNREADABLE`` (fail closed).

CPU work (decoding, inference) runs in a worker thread (``check``); the detector is loaded
once, on first use, and its calls are serialised by one lock: onnxruntime's ``run`` is
thread-safe, but each call already spreads over every core, so concurrent calls only contend.
"""

from __future__ import annotations

import asyncio
import io
import threading
from collections.abc import Generator
from contextlib import closing
from dataclasses import dataclass
from typing import Any, Protocol

EXPOSED_LABELS = frozenset({
    "FEMALE_BREAST_EXPOSED",
    "FEMALE_GENITALIA_EXPOSED",
    "MALE_GENITALIA_EXPOSED",
    "BUTTOCKS_EXPOSED",
    "ANUS_EXPOSED",
})
UNREADABLE = "UNREADABLE"
INSTALL = "pip install 'discomfy[nsfw]'"


@dataclass(frozen=True)
class Finding:
    filename: str
    label: str  # a NudeNet class, e.g. "FEMALE_BREAST_EXPOSED", or UNREADABLE
    score: float


class ClassifierUnavailable(RuntimeError):
    """``check`` cannot classify: NudeNet is missing or its model did not load."""


class Detector(Protocol):
    """What the classifier needs of NudeNet's ``NudeDetector``: ``detect`` on a BGR uint8
    array (what ``cv2.imread`` gives) returning ``[{"class": str, "score": float, ...}]``."""

    def detect(self, image: Any) -> list[dict[str, Any]]: ...


def _load_nudenet() -> Detector:
    from nudenet import NudeDetector  # the model file is inside the package

    return NudeDetector()


def kind(data: bytes) -> str | None:
    """``"image"``, ``"video"`` or None, by the file's first bytes (not its name)."""
    if data.startswith((b"\x89PNG\r\n\x1a\n", b"\xff\xd8\xff", b"GIF87a", b"GIF89a")):
        return "image"
    if data[:4] == b"RIFF" and data[8:12] == b"WEBP":
        return "image"
    if data[4:8] == b"ftyp" or data.startswith(b"\x1a\x45\xdf\xa3"):  # MP4/MOV, WebM/Matroska
        return "video"
    return None


def spread(count: int, wanted: int) -> list[int]:
    """``wanted`` indices out of ``count``, one in the middle of each of ``wanted`` equal spans."""
    if count <= wanted:
        return list(range(count))
    return [(2 * i + 1) * count // (2 * wanted) for i in range(wanted)]


class OutputClassifier:
    """Loads the detector lazily, once, in a worker thread."""

    def __init__(self, *, threshold: float = 0.6, labels: frozenset[str] = EXPOSED_LABELS,
                 frames_per_video: int = 4, detector: Detector | None = None) -> None:
        """``detector``: a ready detector (tests inject one); None loads NudeNet on first use."""
        if frames_per_video < 1:
            raise ValueError("frames_per_video must be at least 1")
        self.threshold = threshold
        self.labels = labels
        self.frames_per_video = frames_per_video
        self._detector = detector
        self._reason: str | None = None
        self._tried = detector is not None
        self._lock = threading.Lock()

    # -- loading ---------------------------------------------------------------------------

    def _load(self) -> Detector | None:
        with self._lock:
            if not self._tried:
                self._tried = True
                try:
                    self._detector = _load_nudenet()
                except ImportError as exc:
                    if exc.name == "nudenet":
                        self._reason = f"NudeNet is not installed: {INSTALL}"
                    else:
                        self._reason = f"NudeNet could not be imported ({exc}): {INSTALL}"
                except Exception as exc:  # onnxruntime refusing the model, a broken install
                    self._reason = f"NudeNet's model did not load ({type(exc).__name__}: {exc})"
            return self._detector

    async def load(self) -> bool:
        """Load the model in a worker thread (once; ~0.5 s of CPU) and say whether it is available."""
        return await asyncio.to_thread(self._load) is not None

    @property
    def available(self) -> bool:
        """The package is installed and the model loads. The first read loads it, blocking:
        on the event loop, ``await load()`` first."""
        return self._load() is not None

    @property
    def unavailable_reason(self) -> str | None:
        """Plain words for operators, with the install command; None when available."""
        self._load()
        return self._reason

    # -- checking --------------------------------------------------------------------------

    async def check(self, files: list[tuple[str, bytes]]) -> Finding | None:
        """The first flagged finding among ``files`` (name, bytes), or None; runs off the loop."""
        return await asyncio.to_thread(self.check_sync, files)

    def check_sync(self, files: list[tuple[str, bytes]]) -> Finding | None:
        """``check``, blocking: every image (each frame of an animated one up to
        ``frames_per_video``) and ``frames_per_video`` frames of each video; other files are
        skipped. Raises ``ClassifierUnavailable`` when the detector cannot be loaded."""
        if self._load() is None:
            raise ClassifierUnavailable(self._reason)
        for filename, data in files:
            what = kind(data)
            if what is None:
                continue
            frames = self._image_frames(data) if what == "image" else self._video_frames(data)
            with closing(frames):
                while True:
                    try:
                        frame = next(frames, None)
                    except Exception:  # Pillow or FFmpeg refused it: what Discord shows is unknown
                        return Finding(filename, UNREADABLE, 1.0)
                    if frame is None:
                        break
                    finding = self._judge(filename, frame)
                    if finding is not None:
                        return finding
        return None

    def _judge(self, filename: str, frame: Any) -> Finding | None:
        with self._lock:
            detections = self._detector.detect(frame)  # type: ignore[union-attr]
        flagged = [d for d in detections if d["class"] in self.labels and d["score"] >= self.threshold]
        if not flagged:
            return None
        worst = max(flagged, key=lambda d: d["score"])
        return Finding(filename, worst["class"], float(worst["score"]))

    def _image_frames(self, data: bytes) -> Generator[Any, None, None]:
        import numpy as np
        from PIL import Image

        with Image.open(io.BytesIO(data)) as image:
            for index in spread(getattr(image, "n_frames", 1), self.frames_per_video):
                image.seek(index)
                rgb = np.asarray(image.convert("RGB"))
                yield np.ascontiguousarray(rgb[:, :, ::-1])  # BGR, as cv2.imread gives

    def _video_frames(self, data: bytes) -> Generator[Any, None, None]:
        import av

        # one packet per shown frame in the MP4 and WebM that FFmpeg writes: counting them costs
        # no decoding, and only the chosen frames are converted
        with av.open(io.BytesIO(data)) as container:
            if not container.streams.video:  # sound only (an .m4a): nothing to see
                return
            count = sum(1 for packet in container.demux(container.streams.video[0]) if packet.size)
        wanted = set(spread(count, self.frames_per_video))
        with av.open(io.BytesIO(data)) as container:
            for index, frame in enumerate(container.decode(container.streams.video[0])):
                if index in wanted:
                    yield frame.to_ndarray(format="bgr24")  # BGR, as cv2.imread gives
