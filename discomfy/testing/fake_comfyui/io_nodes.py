"""Real semantics of the nodes that make, load, measure and save images (no model involved)."""

from __future__ import annotations

import io
from typing import Any

from PIL import Image

from discomfy.testing.fake_comfyui.semantics import NodeContext, NodeFailure, NodeResult, as_batch, fake_node


def _color(value: int) -> tuple[int, int, int]:
    return (value >> 16) & 255, (value >> 8) & 255, value & 255


@fake_node("EmptyImage", summary="a batch of images of one colour")
def empty_image(ctx: NodeContext, width: int, height: int, batch_size: int = 1, color: int = 0) -> NodeResult:
    fill = _color(int(color))
    return NodeResult(([Image.new("RGB", (int(width), int(height)), fill) for _ in range(int(batch_size))],))


def _open_input(ctx: NodeContext, image: str) -> Image.Image:
    data = ctx.files.read_input_image(image)
    try:
        loaded = Image.open(io.BytesIO(data or b""))
        loaded.load()
    except Exception as exc:  # noqa: BLE001 - Pillow raises several types for bad files
        raise NodeFailure(f"cannot identify image file 'ComfyUI/input/{image}'\n",
                          "PIL.UnidentifiedImageError") from exc
    return loaded


def _alpha_mask(loaded: Image.Image) -> Image.Image:
    """ComfyUI's mask from an image: 1 - alpha (opaque is 0), or all 0 without alpha."""
    if "A" in loaded.getbands():
        return loaded.getchannel("A").point(lambda a: 255 - a)
    return Image.new("L", loaded.size, 0)


@fake_node("LoadImage", summary="an uploaded input image and its alpha mask")
def load_image(ctx: NodeContext, image: str, **_: Any) -> NodeResult:
    loaded = _open_input(ctx, image)
    return NodeResult(([loaded.convert("RGB")], [_alpha_mask(loaded)]))


@fake_node("LoadImageMask", summary="one channel of an uploaded image as a mask")
def load_image_mask(ctx: NodeContext, image: str, channel: str = "alpha", **_: Any) -> NodeResult:
    loaded = _open_input(ctx, image)
    if channel == "alpha":
        return NodeResult(([_alpha_mask(loaded)],))
    band = {"red": "R", "green": "G", "blue": "B"}[channel]
    return NodeResult(([loaded.convert("RGB").getchannel(band)],))


@fake_node("GetImageSize", summary="width, height and batch size (also sent as a text frame)")
def get_image_size(ctx: NodeContext, image: Any, **_: Any) -> NodeResult:
    batch = as_batch(image)
    w, h = batch[0].size
    return NodeResult((w, h, len(batch)), text=f"width: {w}, height: {h}\n batch size: {len(batch)}")


@fake_node("SaveImage", summary="PNGs in output/, listed in the history")
def save_image(ctx: NodeContext, images: Any, filename_prefix: str = "ComfyUI", **_: Any) -> NodeResult:
    return NodeResult((), ctx.save_images(as_batch(images), "output", filename_prefix))


@fake_node("PreviewImage", summary="PNGs in temp/, listed in the history")
def preview_image(ctx: NodeContext, images: Any, **_: Any) -> NodeResult:
    return NodeResult((), ctx.save_images(as_batch(images), "temp", "ComfyUI"))


@fake_node("SaveImageWebsocket", summary="each image sent as a binary frame on the socket")
def save_image_websocket(ctx: NodeContext, images: Any) -> NodeResult:
    return NodeResult((), None, stream_images=as_batch(images))
