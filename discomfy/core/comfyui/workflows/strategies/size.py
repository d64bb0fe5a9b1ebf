"""The ``size`` strategy: width/height or an aspect ratio -> model-friendly dimensions.

Diffusion models want sides that are multiples of 16 (FLUX) or 64 (SDXL) and about one
megapixel; users think in "16:9". Options (``[options.size]``): ``multiple`` (default 16),
``megapixels`` (default 1.0), ``min_side`` (default 256), ``max_side`` (default 2048).
Also writes ``batch`` to the latent's ``batch_size`` when it is not bound explicitly.
"""

from __future__ import annotations

import math
from typing import Any

from discomfy.exceptions import ValidationError

from ..graph import Graph, is_link
from .base import RenderContext


def parse_aspect_ratio(text: str) -> float:
    """``"16:9"`` -> 1.777...; refuses anything else with a message saying the format."""
    try:
        w, h = (float(p) for p in str(text).split(":"))
        if w <= 0 or h <= 0:
            raise ValueError
    except ValueError:
        raise ValidationError(f"`aspect_ratio` must look like `16:9` (you gave `{text}`).",
                              field="aspect_ratio") from None
    return w / h


def _round_to(value: float, multiple: int, lo: int, hi: int) -> int:
    rounded = int(round(value / multiple)) * multiple
    lo_m = math.ceil(lo / multiple) * multiple
    hi_m = (hi // multiple) * multiple
    return max(lo_m, min(hi_m, rounded))


def dimensions(*, width: int | None = None, height: int | None = None,
               aspect_ratio: str | None = None, megapixels: float = 1.0, multiple: int = 16,
               min_side: int = 256, max_side: int = 2048) -> tuple[int, int]:
    """The (width, height) to render: given sides are kept (rounded to ``multiple``); a missing
    side follows the aspect ratio; with neither, the ratio sets a ~``megapixels`` image."""
    def fit(v: float) -> int:
        return _round_to(v, multiple, min_side, max_side)

    if width and height:
        return fit(width), fit(height)
    ratio = parse_aspect_ratio(aspect_ratio) if aspect_ratio else 1.0
    if width:
        return fit(width), fit(width / ratio)
    if height:
        return fit(height * ratio), fit(height)
    area = megapixels * 1024 * 1024
    w = math.sqrt(area * ratio)
    return fit(w), fit(w / ratio)


def _is_empty_latent(class_type: str) -> bool:
    return class_type.startswith("Empty") and "Latent" in class_type


class SizeStrategy:
    name = "size"
    order = 20
    consumes = ("width", "height", "aspect_ratio", "batch")
    produces = ("width", "height")
    inserts: tuple[str, ...] = ()

    def apply(self, graph: Graph, params: dict[str, Any], context: RenderContext) -> None:
        opts = context.options(self.name)
        if any(params.get(k) for k in ("width", "height", "aspect_ratio")):
            params["width"], params["height"] = dimensions(
                width=params.get("width"), height=params.get("height"),
                aspect_ratio=params.get("aspect_ratio"),
                megapixels=float(opts.get("megapixels", 1.0)), multiple=int(opts.get("multiple", 16)),
                min_side=int(opts.get("min_side", 256)), max_side=int(opts.get("max_side", 2048)))
        writes = {"width": "width", "height": "height", "batch": "batch_size"}
        for param, input_name in writes.items():
            if param not in params or context.is_bound(param):
                continue
            for node in graph.values():
                inputs = node.get("inputs") or {}
                if (_is_empty_latent(node.get("class_type", "")) and input_name in inputs
                        and not is_link(inputs[input_name])):
                    inputs[input_name] = params[param]
            context.handled.add(param)
