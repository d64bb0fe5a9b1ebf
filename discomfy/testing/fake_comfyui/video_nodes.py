"""The fake's video nodes: real, playable media from the frames a graph computed.

``CreateVideo`` bundles IMAGE frames with a frame rate; ``SaveVideo`` writes them as H.264 MP4
(PyAV), ``SaveWEBM`` as VP9 WebM (PyAV) and ``SaveAnimatedWEBP`` as an animated WebP (Pillow),
each reported the way the recorded trace ``success_video.json`` shows the real server doing
it: under ``images``, with ``animated: [true]``. ``Wan22ImageToVideoLatent`` (simulated, it
needs no weights) carries ``length`` as the number of frames, so KSampler and VAEDecode hand
``CreateVideo`` exactly as many frames as the graph asked for. (``ImageAddNoise``, seeded
noise in :mod:`.image_nodes`, makes frames that differ, so encoders cannot fold them into one.)

Registered in the fake's node registry like every other node (see :mod:`.semantics`).
"""

from __future__ import annotations

import io
from dataclasses import dataclass
from fractions import Fraction
from typing import Any


from discomfy.core.media.video_fit import pyav
from discomfy.testing.fake_comfyui.semantics import Batch, NodeContext, NodeResult, Simulated, as_batch, fake_node
from discomfy.testing.fake_comfyui.storage import FileStore


@dataclass(frozen=True)
class FakeVideo:
    """ComfyUI's VIDEO value: frames plus a frame rate."""

    frames: Batch
    fps: float


def _rate(fps: float) -> Fraction:
    return Fraction(fps).limit_denominator(1001)


def encode_video(frames: Batch, fps: float, *, container: str, codec: str, options: dict[str, str] | None = None) -> bytes:
    """Frames as a video file, one frame per image, at ``fps``."""
    av = pyav()
    out = io.BytesIO()
    width, height = frames[0].size
    with av.open(out, "w", format=container) as target:
        stream = target.add_stream(codec, rate=_rate(fps))
        stream.width, stream.height = width - width % 2, height - height % 2
        stream.pix_fmt = "yuv420p"
        stream.options = options or {}
        for image in frames:
            frame = av.VideoFrame.from_image(image.convert("RGB"))
            frame = frame.reformat(width=stream.width, height=stream.height, format="yuv420p")
            for packet in stream.encode(frame):
                target.mux(packet)
        for packet in stream.encode():
            target.mux(packet)
    return out.getvalue()


def _animated_webp(frames: Batch, fps: float, lossless: bool, quality: int, method: str) -> bytes:
    out = io.BytesIO()
    effort = {"default": 4, "fastest": 0, "slowest": 6}.get(method, 4)
    frames[0].save(out, "WEBP", save_all=True, append_images=frames[1:], duration=round(1000 / fps),
                   loop=0, lossless=bool(lossless), quality=int(quality), method=effort)
    return out.getvalue()


def _store(files: FileStore, prefix: str, suffix: str, data: bytes) -> dict[str, Any]:
    subfolder, png_name = files.next_save_name("output", prefix)
    filename = png_name.rpartition(".")[0] + suffix
    files.put("output", f"{subfolder}/{filename}" if subfolder else filename, data)
    return {"images": [{"filename": filename, "subfolder": subfolder, "type": "output"}], "animated": [True]}


@fake_node("Wan22ImageToVideoLatent", simulated=True,
           summary="Wan 2.2 video latent: simulated, `length` frames of width×height")
def wan22_image_to_video_latent(ctx: NodeContext, vae: Any, width: int, height: int, length: int,
                                batch_size: int = 1, start_image: Any = None) -> NodeResult:
    return NodeResult((Simulated("LATENT", (int(width), int(height)), int(length) * int(batch_size)),))


@fake_node("CreateVideo", summary="bundles IMAGE frames with a frame rate into a VIDEO")
def create_video(ctx: NodeContext, images: Any, fps: float, audio: Any = None) -> NodeResult:
    return NodeResult((FakeVideo(as_batch(images), float(fps)),))


@fake_node("SaveVideo", summary="writes a VIDEO as H.264 MP4 (PyAV), reported under `images` with `animated`")
def save_video(ctx: NodeContext, video: FakeVideo, filename_prefix: str = "video/ComfyUI",
               format: str = "auto", codec: str = "auto", **_: Any) -> NodeResult:
    data = encode_video(video.frames, video.fps, container="mp4", codec="libx264",
                        options={"preset": "ultrafast"})
    return NodeResult((), _store(ctx.files, filename_prefix, ".mp4", data))


@fake_node("SaveWEBM", summary="writes frames as VP9 WebM (PyAV), reported with `animated`")
def save_webm(ctx: NodeContext, images: Any, filename_prefix: str = "ComfyUI", codec: str = "vp9",
              fps: float = 24.0, crf: float = 32.0, **_: Any) -> NodeResult:
    encoder = {"vp9": "libvpx-vp9", "av1": "libaom-av1"}.get(codec, "libvpx-vp9")
    data = encode_video(as_batch(images), float(fps), container="webm", codec=encoder,
                        options={"crf": str(int(crf)), "b": "0", "deadline": "realtime", "cpu-used": "8"})
    return NodeResult((), _store(ctx.files, filename_prefix, ".webm", data))


@fake_node("SaveAnimatedWEBP", summary="writes frames as an animated WebP (Pillow), reported with `animated`")
def save_animated_webp(ctx: NodeContext, images: Any, filename_prefix: str = "ComfyUI", fps: float = 6.0,
                       lossless: bool = True, quality: int = 80, method: str = "default", **_: Any) -> NodeResult:
    data = _animated_webp(as_batch(images), float(fps), lossless, quality, method)
    return NodeResult((), _store(ctx.files, filename_prefix, ".webp", data))


__all__ = ["FakeVideo", "encode_video"]
