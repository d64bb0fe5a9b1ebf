"""Model upscalers, simulated as the resize a real one makes.

``UpscaleModelLoader`` reads the model's scale from its file name, as upscale models are
conventionally named ("4x-UltraSharp.pth", "RealESRGAN_x2plus.pth"; 4 when the name says
nothing); ``ImageUpscaleWithModel`` really resizes each image by it. Tests then see the pixel
sizes a real server would give, so an exact-factor resize after the model can be checked. Both
need weights on a real server, so images they touch carry the simulation marker.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Any

from PIL import Image

from discomfy.testing.fake_comfyui.semantics import NodeContext, NodeResult, Simulated, as_batch, fake_node

_SCALE = re.compile(r"(?:^|[^0-9a-z])x?([1-8])x?(?=[^0-9]|$)", re.IGNORECASE)
DEFAULT_SCALE = 4


def model_scale(model_name: str) -> int:
    """``4x-UltraSharp.pth`` -> 4, ``RealESRGAN_x2plus.pth`` -> 2, anything else -> 4."""
    stem = str(model_name).rsplit("/", 1)[-1]
    for match in _SCALE.finditer(stem):
        if "x" in match.group(0).lower():
            return int(match.group(1))
    return DEFAULT_SCALE


@dataclass(frozen=True)
class UpscaleModel(Simulated):
    scale: int = DEFAULT_SCALE


@fake_node("UpscaleModelLoader", simulated=True,
           summary="loads an upscale model: simulated, its scale read from the file name (4x-…, …_x2…)")
def upscale_model_loader(ctx: NodeContext, model_name: str, **_: Any) -> NodeResult:
    return NodeResult((UpscaleModel("UPSCALE_MODEL", scale=model_scale(model_name)),))


@fake_node("ImageUpscaleWithModel", simulated=True,
           summary="upscales with a model: simulated as a bicubic resize by the model's scale")
def image_upscale_with_model(ctx: NodeContext, upscale_model: Any, image: Any, **_: Any) -> NodeResult:
    scale = getattr(upscale_model, "scale", DEFAULT_SCALE)
    return NodeResult(([im.resize((im.width * scale, im.height * scale), Image.Resampling.BICUBIC)
                        for im in as_batch(image)],))
