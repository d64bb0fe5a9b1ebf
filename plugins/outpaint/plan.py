"""Where the canvas grows and how large the result may be: pure arithmetic, no I/O.

Zoom 1.5× / 2× grows every side so the original stays centred at 1/1.5 or 1/2 of each side; a
pan grows one side by half the image. Pads are multiples of 8 (``ImagePadForOutpaint`` steps by
8; the VAE works on 8-pixel blocks). When the padded canvas would exceed what FLUX.1 Fill makes
well (``MAX_SIDE`` a side, ``MAX_PIXELS`` in all) or what the server can upload, the whole canvas
is scaled down to fit, and ``capped`` says which limit applied, in words the result shows.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

MAX_SIDE = 2048
MAX_PIXELS = MAX_SIDE * MAX_SIDE
STEP = 8
#: the move -> (left, top, right, bottom) growth as a fraction of the image's width or height
MOVES = {
    "zoom_1.5": (0.25, 0.25, 0.25, 0.25),
    "zoom_2": (0.5, 0.5, 0.5, 0.5),
    "left": (0.5, 0, 0, 0),
    "right": (0, 0, 0.5, 0),
    "up": (0, 0.5, 0, 0),
    "down": (0, 0, 0, 0.5),
}
MODEL_CAP = f"FLUX.1 Fill's size cap ({MAX_SIDE} px a side, {MAX_PIXELS / 1e6:.1f} MP)"
UPLOAD_CAP = "this server's upload limit"


@dataclass(frozen=True)
class Plan:
    left: int
    top: int
    right: int
    bottom: int
    width: int  # of the result, after any cap
    height: int
    capped: str | None = None  # which limit scaled the canvas down, or None


def _pad(fraction: float, side: int) -> int:
    return int(round(fraction * side / STEP)) * STEP


def plan(width: int, height: int, move: str, upload_pixels: int | None = None) -> Plan:
    """The pads for ``move`` of a ``width``×``height`` image and the final size within the caps."""
    left, top, right, bottom = (_pad(f, s) for f, s in zip(MOVES[move], (width, height, width, height)))
    out_w, out_h = width + left + right, height + top + bottom
    limits = [(min(MAX_SIDE / out_w, MAX_SIDE / out_h, math.sqrt(MAX_PIXELS / (out_w * out_h))), MODEL_CAP)]
    if upload_pixels:
        limits.append((math.sqrt(upload_pixels / (out_w * out_h)), UPLOAD_CAP))
    scale, capped = min(limits)
    if scale >= 1:
        return Plan(left, top, right, bottom, out_w, out_h)
    fit_w, fit_h = (max(STEP, math.floor(s * scale / STEP) * STEP) for s in (out_w, out_h))
    return Plan(left, top, right, bottom, fit_w, fit_h, capped)


class OutpaintPlan:
    """The ``outpaint_plan`` strategy: pads and final size from ``move`` and the source size."""

    name = "outpaint_plan"
    order = 20  # before bindings, which write the derived pads and size
    consumes = ("move", "source_width", "source_height", "upload_pixels")
    produces = ("left", "top", "right", "bottom", "width", "height")
    inserts = ()

    def apply(self, graph: dict, params: dict, context: object) -> None:
        chosen = plan(int(params["source_width"]), int(params["source_height"]), str(params.get("move") or "zoom_1.5"),
                      params.get("upload_pixels"))
        params.update(left=chosen.left, top=chosen.top, right=chosen.right, bottom=chosen.bottom,
                      width=chosen.width, height=chosen.height)
