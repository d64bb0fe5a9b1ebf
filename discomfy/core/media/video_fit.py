"""Making a result video fit an upload limit, with PyAV (FFmpeg's libraries).

A few seconds of 720p video from ComfyUI's SaveVideo can exceed a guild's upload limit
(10 MiB by default). The video is re-encoded as H.264 in MP4 (what every Discord client plays
inline) at the bit rate the limit leaves for its duration, then at lower rates and smaller
sizes until it fits. Frame count and frame rate are kept; sound, if any, is dropped (the
caller's note says so). CPU-bound: call it off the event loop.
"""

from __future__ import annotations

import io
import logging
from dataclasses import dataclass
from fractions import Fraction

from discomfy.core.media.shrunk import Shrunk


log = logging.getLogger(__name__)

SCALES = (1.0, 0.75, 0.5, 0.35)
RATE_FACTORS = (0.85, 0.6)  # of the bit rate the limit allows: the container and rate control overshoot
MIN_BIT_RATE = 8_000  # below this not even a still picture survives; size is checked anyway
DEFAULT_FPS = Fraction(24)


@dataclass(frozen=True)
class VideoInfo:
    """What a video file holds, as decoded: the figures a user would check."""

    frames: int
    fps: Fraction
    width: int
    height: int
    has_audio: bool

    @property
    def seconds(self) -> float:
        return self.frames / float(self.fps) if self.fps else 0.0


def pyav():
    """PyAV, imported on first use: it adds about 20 MB to the bot's memory, and most bots
    never re-encode a video, so only the ones that do pay for it."""
    import av

    return av


def probe(data: bytes) -> VideoInfo:
    """Decode ``data`` fully and count its frames (raises ``av.error.FFmpegError`` if it is not a video)."""
    av = pyav()
    with av.open(io.BytesIO(data)) as container:
        stream = container.streams.video[0]
        frames = sum(1 for _ in container.decode(stream))
        return VideoInfo(frames, Fraction(stream.average_rate or DEFAULT_FPS), stream.codec_context.width,
                         stream.codec_context.height, bool(container.streams.audio))


def _even(value: float) -> int:
    return max(2, int(value) // 2 * 2)  # yuv420p needs even sides


def encode_h264(data: bytes, *, scale: float = 1.0, bit_rate: int | None = None) -> bytes:
    """``data`` re-encoded as H.264/MP4 (yuv420p), frames and rate unchanged."""
    av = pyav()
    out = io.BytesIO()
    with av.open(io.BytesIO(data)) as source, av.open(out, "w", format="mp4") as target:
        src = source.streams.video[0]
        fps = Fraction(src.average_rate or DEFAULT_FPS)
        stream = target.add_stream("libx264", rate=fps)
        stream.width = _even(src.codec_context.width * scale)
        stream.height = _even(src.codec_context.height * scale)
        stream.pix_fmt = "yuv420p"
        stream.options = {"preset": "veryfast"}
        if bit_rate:
            stream.bit_rate = bit_rate
        for index, frame in enumerate(source.decode(src)):
            frame = frame.reformat(width=stream.width, height=stream.height, format="yuv420p")
            frame.pts, frame.time_base = index, 1 / fps  # one frame per tick of the kept rate
            for packet in stream.encode(frame):
                target.mux(packet)
        for packet in stream.encode():
            target.mux(packet)
    return out.getvalue()


def shrink_video(data: bytes, limit: int) -> Shrunk | None:
    """An H.264/MP4 re-encoding of ``data`` no larger than ``limit`` bytes (with its new size
    if it had to be scaled down), or None when even the smallest size and rate tried do not
    fit (or ``data`` is not a video FFmpeg reads)."""
    try:
        info = probe(data)
    except (pyav().error.FFmpegError, IndexError) as exc:
        log.warning("cannot re-encode a video that does not decode: %s", exc)
        return None
    seconds = max(info.seconds, 0.1)
    for scale in SCALES:
        for factor in RATE_FACTORS:
            bit_rate = int(limit * 8 * factor / seconds)
            if bit_rate < MIN_BIT_RATE:
                return None  # too long for this limit at any watchable quality
            encoded = encode_h264(data, scale=scale, bit_rate=bit_rate)
            if len(encoded) <= limit:
                return Shrunk(encoded, None if scale == 1.0 else (_even(info.width * scale), _even(info.height * scale)))
    return None
