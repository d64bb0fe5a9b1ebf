"""Where the canvas grows and how large the result may be: pure arithmetic, no I/O.

Zoom 1.5× / 2× grows every side so the original stays centred at 1/1.5 or 1/2 of each side; a
pan grows one side by half the image. Pads are multiples of 8 (``ImagePadForOutpaint`` steps by
8; the VAE works on 8-pixel blocks). When the padded canvas would exceed what FLUX.1 Fill makes
well (``MAX_SIDE`` a side, ``MAX_PIXELS`` in all) or what the server can upload, the image is
scaled down *before* it is padded (so no canvas larger than the result is ever built), and
``capped`` says which limit applied, in words the result shows.
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
    scaled_width: int  # of the image before padding (its own size unless a cap applied)
    scaled_height: int
    left: int
    top: int
    right: int
    bottom: int
    capped: str | None = None  # which limit scaled the image down, or None

    @property
    def size(self) -> tuple[int, int]:
        """The result's width and height."""
        return (self.scaled_width + self.left + self.right, self.scaled_height + self.top + self.bottom)


def _step(value: float) -> int:
    return int(value // STEP) * STEP


def plan(width: int, height: int, move: str, upload_pixels: int | None = None) -> Plan:
    """The pads for ``move`` of a ``width``×``height`` image, and its size before padding so
    that the result stays within the caps."""
    pads = [int(round(f * s / STEP)) * STEP for f, s in zip(MOVES[move], (width, height, width, height))]
    out_w, out_h = width + pads[0] + pads[2], height + pads[1] + pads[3]
    limits = [(min(MAX_SIDE / out_w, MAX_SIDE / out_h, math.sqrt(MAX_PIXELS / (out_w * out_h))), MODEL_CAP)]
    if upload_pixels:
        limits.append((math.sqrt(upload_pixels / (out_w * out_h)), UPLOAD_CAP))
    scale, capped = min(limits)
    if scale >= 1:
        return Plan(width, height, *pads)
    left, top, right, bottom = (_step(p * scale) for p in pads)
    return Plan(max(STEP, _step(width * scale)), max(STEP, _step(height * scale)), left, top, right, bottom, capped)


class OutpaintPlan:
    """The ``outpaint_plan`` strategy: from ``move`` and the source size, the size the image is
    scaled to, the pads, and the result's ``width`` and ``height`` (shown under the result)."""

    name = "outpaint_plan"
    order = 20  # before bindings, which write the derived sizes and pads
    consumes = ("move", "source_width", "source_height", "upload_pixels")
    produces = ("scaled_width", "scaled_height", "left", "top", "right", "bottom", "width", "height")
    inserts = ()

    def apply(self, graph: dict, params: dict, context: object) -> None:
        chosen = plan(int(params["source_width"]), int(params["source_height"]), str(params.get("move") or "zoom_1.5"),
                      params.get("upload_pixels"))
        params.update(scaled_width=chosen.scaled_width, scaled_height=chosen.scaled_height, left=chosen.left,
                      top=chosen.top, right=chosen.right, bottom=chosen.bottom)
        params["width"], params["height"] = chosen.size
