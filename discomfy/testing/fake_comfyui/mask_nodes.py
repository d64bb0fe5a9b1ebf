"""Real semantics of ComfyUI's model-free mask nodes: masks are Pillow "L" images (255 = 1.0)."""

from __future__ import annotations

from typing import Any

from PIL import Image, ImageOps

from discomfy.testing.fake_comfyui.semantics import NodeContext, NodeResult, as_batch, fake_node, is_batch


def _masks(value: Any) -> list[Image.Image]:
    if is_batch(value):
        return [m if m.mode == "L" else m.convert("L") for m in value]
    return [im.convert("L") for im in as_batch(value)]


@fake_node("SolidMask", summary="a width x height mask of one value")
def solid_mask(ctx: NodeContext, value: float, width: int, height: int) -> NodeResult:
    return NodeResult(([Image.new("L", (int(width), int(height)), round(255 * float(value)))],))


@fake_node("InvertMask", summary="1 - mask")
def invert_mask(ctx: NodeContext, mask: Any) -> NodeResult:
    return NodeResult(([ImageOps.invert(m) for m in _masks(mask)],))


@fake_node("MaskToImage", summary="the mask as a grey image")
def mask_to_image(ctx: NodeContext, mask: Any) -> NodeResult:
    return NodeResult(([m.convert("RGB") for m in _masks(mask)],))


@fake_node("ImageToMask", summary="one channel of the image as a mask")
def image_to_mask(ctx: NodeContext, image: Any, channel: str) -> NodeResult:
    band = {"red": "R", "green": "G", "blue": "B", "alpha": "A"}[channel]
    out = []
    for im in image if is_batch(image) else as_batch(image):
        out.append(im.getchannel(band) if band in im.getbands() else Image.new("L", im.size, 255 if band == "A" else 0))
    return NodeResult((out,))
