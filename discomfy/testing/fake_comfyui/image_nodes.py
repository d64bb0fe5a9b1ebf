"""Real semantics of ComfyUI's model-free image nodes, computed with Pillow.

Sizes follow ComfyUI's own arithmetic (``ImageScaleBy`` rounds ``side * scale_by``,
``ImageCrop`` clamps to the image, ``ImagePadForOutpaint`` grows the canvas), so a plugin that
is right about sizes gets the sizes the real server would produce.
"""

from __future__ import annotations

import math
import random
from typing import Any

from PIL import Image, ImageChops, ImageFilter, ImageOps

from discomfy.testing.fake_comfyui.semantics import Batch, NodeContext, NodeResult, as_batch, fake_node, is_batch

RESAMPLE = {
    "nearest-exact": Image.Resampling.NEAREST, "bilinear": Image.Resampling.BILINEAR,
    "area": Image.Resampling.BOX, "bicubic": Image.Resampling.BICUBIC, "lanczos": Image.Resampling.LANCZOS,
}
#: FluxKontextImageScale picks the one of these (width, height) closest to the image's aspect ratio.
KONTEXT_RESOLUTIONS = [
    (672, 1568), (688, 1504), (720, 1456), (752, 1392), (800, 1328), (832, 1248), (880, 1184),
    (944, 1104), (1024, 1024), (1104, 944), (1184, 880), (1248, 832), (1328, 800), (1392, 752),
    (1456, 720), (1504, 688), (1568, 672),
]


def _resize(image: Image.Image, size: tuple[int, int], method: str = "bilinear", crop: str = "disabled") -> Image.Image:
    w, h = size
    if crop == "center":  # cut the source to the target's aspect ratio first, as common_upscale does
        old_aspect, new_aspect = image.width / image.height, w / h
        if old_aspect > new_aspect:
            keep = round(image.width * new_aspect / old_aspect)
            left = (image.width - keep) // 2
            image = image.crop((left, 0, left + keep, image.height))
        elif old_aspect < new_aspect:
            keep = round(image.height * old_aspect / new_aspect)
            top = (image.height - keep) // 2
            image = image.crop((0, top, image.width, top + keep))
    return image.resize((max(1, w), max(1, h)), RESAMPLE.get(method, Image.Resampling.BILINEAR))


@fake_node("ImageInvert", summary="inverts the colours")
def image_invert(ctx: NodeContext, image: Any) -> NodeResult:
    return NodeResult(([ImageOps.invert(im) for im in as_batch(image)],))


@fake_node("ImageBlur", summary="Gaussian blur of sigma")
def image_blur(ctx: NodeContext, image: Any, blur_radius: int = 1, sigma: float = 1.0) -> NodeResult:
    return NodeResult(([im.filter(ImageFilter.GaussianBlur(float(sigma))) for im in as_batch(image)],))


@fake_node("ImageSharpen", summary="unsharp mask of sigma, strength alpha")
def image_sharpen(ctx: NodeContext, image: Any, sharpen_radius: int = 1, sigma: float = 1.0,
                  alpha: float = 1.0) -> NodeResult:
    mask = ImageFilter.UnsharpMask(radius=float(sigma), percent=round(100 * float(alpha)), threshold=0)
    return NodeResult(([im.filter(mask) for im in as_batch(image)],))


@fake_node("ImageScale", summary="resize to width x height (0 keeps the aspect ratio), optional centre crop")
def image_scale(ctx: NodeContext, image: Any, upscale_method: str, width: int, height: int, crop: str) -> NodeResult:
    out = []
    for im in as_batch(image):
        w, h = int(width), int(height)
        if w == 0 and h == 0:
            out.append(im)
            continue
        w = w or max(1, round(im.width * h / im.height))
        h = h or max(1, round(im.height * w / im.width))
        out.append(_resize(im, (w, h), upscale_method, crop))
    return NodeResult((out,))


@fake_node("ImageScaleBy", summary="resize each side by scale_by (rounded)")
def image_scale_by(ctx: NodeContext, image: Any, upscale_method: str, scale_by: float) -> NodeResult:
    return NodeResult(([_resize(im, (round(im.width * scale_by), round(im.height * scale_by)), upscale_method)
                        for im in as_batch(image)],))


@fake_node("ImageScaleToTotalPixels", summary="resize to about megapixels x 1024 x 1024 pixels")
def image_scale_to_total_pixels(ctx: NodeContext, image: Any, upscale_method: str, megapixels: float,
                                **_: Any) -> NodeResult:
    out = []
    for im in as_batch(image):
        scale = math.sqrt(megapixels * 1024 * 1024 / (im.width * im.height))
        out.append(_resize(im, (round(im.width * scale), round(im.height * scale)), upscale_method))
    return NodeResult((out,))


@fake_node("ImageScaleToMaxDimension", summary="resize so the longer side is largest_size")
def image_scale_to_max_dimension(ctx: NodeContext, image: Any, upscale_method: str, largest_size: int) -> NodeResult:
    out = []
    for im in as_batch(image):
        scale = int(largest_size) / max(im.width, im.height)
        out.append(_resize(im, (round(im.width * scale), round(im.height * scale)), upscale_method))
    return NodeResult((out,))


@fake_node("FluxKontextImageScale", summary="resize to the Kontext resolution nearest the aspect ratio")
def flux_kontext_image_scale(ctx: NodeContext, image: Any) -> NodeResult:
    out = []
    for im in as_batch(image):
        aspect = im.width / im.height
        _, w, h = min((abs(aspect - w / h), w, h) for w, h in KONTEXT_RESOLUTIONS)
        out.append(_resize(im, (w, h), "lanczos"))
    return NodeResult((out,))


@fake_node("ImageCrop", summary="the width x height region at x, y (clamped to the image)")
def image_crop(ctx: NodeContext, image: Any, width: int, height: int, x: int, y: int) -> NodeResult:
    out = []
    for im in as_batch(image):
        left, top = min(int(x), im.width - 1), min(int(y), im.height - 1)
        out.append(im.crop((left, top, min(im.width, left + int(width)), min(im.height, top + int(height)))))
    return NodeResult((out,))


def _outpaint_mask(size: tuple[int, int], box: tuple[int, int, int, int], sides: tuple[bool, bool, bool, bool],
                   feathering: int) -> Image.Image:
    """1 (255) on the new border; inside, fading in over `feathering` pixels from padded sides."""
    mask = Image.new("L", size, 255)
    left, top, right, bottom = box
    inner = Image.new("L", (right - left, bottom - top), 0)
    if feathering > 0:
        pixels = inner.load()
        for y in range(inner.height):
            for x in range(inner.width):
                distances = [d for d, padded in zip((x, y, inner.width - 1 - x, inner.height - 1 - y), sides) if padded]
                d = min(distances, default=feathering)
                if d < feathering:
                    pixels[x, y] = round(255 * ((feathering - d) / feathering) ** 2)
    mask.paste(inner, (left, top))
    return mask


@fake_node("ImagePadForOutpaint", summary="grows the canvas (grey border) and masks the new area")
def image_pad_for_outpaint(ctx: NodeContext, image: Any, left: int, top: int, right: int, bottom: int,
                           feathering: int = 40) -> NodeResult:
    images: Batch = []
    masks: Batch = []
    for im in as_batch(image):
        size = (im.width + int(left) + int(right), im.height + int(top) + int(bottom))
        canvas = Image.new("RGB", size, (128, 128, 128))
        canvas.paste(im, (int(left), int(top)))
        images.append(canvas)
        box = (int(left), int(top), int(left) + im.width, int(top) + im.height)
        sides = (left > 0, top > 0, right > 0, bottom > 0)
        masks.append(_outpaint_mask(size, box, sides, int(feathering)))
    return NodeResult((images, masks))


@fake_node("ImageCompositeMasked", summary="pastes source onto destination at x, y (through mask)")
def image_composite_masked(ctx: NodeContext, destination: Any, source: Any, x: int, y: int,
                           resize_source: bool, mask: Any = None) -> NodeResult:
    sources = as_batch(source)
    out = []
    for i, dest in enumerate(as_batch(destination)):
        src = sources[min(i, len(sources) - 1)]
        if resize_source:
            src = src.resize(dest.size, Image.Resampling.BILINEAR)
        paste_mask = None
        if is_batch(mask):
            paste_mask = mask[min(i, len(mask) - 1)].convert("L").resize(src.size)
        composed = dest.copy()
        composed.paste(src, (int(x), int(y)), paste_mask)
        out.append(composed)
    return NodeResult((out,))


@fake_node("ImageAddNoise", summary="adds noise seeded by seed, scaled by strength (uniform, not Gaussian)")
def image_add_noise(ctx: NodeContext, image: Any, seed: int, strength: float) -> NodeResult:
    rng = random.Random(int(seed))
    out = []
    for im in as_batch(image):
        noise = Image.frombytes("RGB", im.size, rng.randbytes(3 * im.width * im.height))
        up = noise.point(lambda v: round(max(0, v - 128) * 2 * strength))
        down = noise.point(lambda v: round(max(0, 128 - v) * 2 * strength))
        out.append(ImageChops.subtract(ImageChops.add(im, up), down))
    return NodeResult((out,))


@fake_node("ImageBatch", summary="image2 (resized to image1's size) after image1")
def image_batch(ctx: NodeContext, image1: Any, image2: Any) -> NodeResult:
    first = as_batch(image1)
    size = first[0].size
    second = [im if im.size == size else _resize(im, size, "bilinear", "center") for im in as_batch(image2)]
    return NodeResult((first + second,))


@fake_node("RepeatImageBatch", summary="the batch repeated amount times")
def repeat_image_batch(ctx: NodeContext, image: Any, amount: int) -> NodeResult:
    return NodeResult((as_batch(image) * int(amount),))


@fake_node("ImageFromBatch", summary="length images from batch_index")
def image_from_batch(ctx: NodeContext, image: Any, batch_index: int, length: int) -> NodeResult:
    batch = as_batch(image)
    start = min(int(batch_index), len(batch) - 1)
    return NodeResult((batch[start:start + int(length)],))


@fake_node("ImageFlip", summary="mirror vertically (x-axis) or horizontally (y-axis)")
def image_flip(ctx: NodeContext, image: Any, flip_method: str) -> NodeResult:
    flip = ImageOps.flip if flip_method.startswith("x-axis") else ImageOps.mirror
    return NodeResult(([flip(im) for im in as_batch(image)],))


@fake_node("ImageRotate", summary="rotate clockwise by 90, 180 or 270 degrees")
def image_rotate(ctx: NodeContext, image: Any, rotation: str) -> NodeResult:
    degrees = 0 if rotation == "none" else int(rotation.split()[0])
    return NodeResult(([im.rotate(-degrees, expand=True) for im in as_batch(image)],))


# The simulated model nodes draw placeholders that show what the job was (prompt colours, seed
# layout, img2img denoise, edits); imported here so every registry built from BUILTIN has them.
from discomfy.testing.fake_comfyui import placeholders  # noqa: E402,F401
