"""Semantics the upscale and vary workflows need from the fake, beyond plain simulation.

Model upscalers are simulated as the resize a real one makes: ``UpscaleModelLoader`` reads
the model's scale from its file name, as upscale models are conventionally named ("4x-UltraSharp.pth", "RealESRGAN_x2plus.pth"; 4 when the name says
nothing); ``ImageUpscaleWithModel`` really resizes each image by it. Tests then see the pixel
sizes a real server would give, so an exact-factor resize after the model can be checked.
``RepeatLatentBatch`` repeats a latent ``amount`` times, so a variation of one image made as a
batch yields as many images as asked.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Any

from PIL import Image

from discomfy.testing.fake_comfyui.nodes import NodeResult, NodeRunner, Simulated, _as_batch, size_of

_SCALE = re.compile(r"(?:^|[^0-9a-z])x?([1-8])x?(?=[^0-9]|$)", re.IGNORECASE)
DEFAULT_SCALE = 4


def model_scale(model_name: str) -> int:
    """``4x-UltraSharp.pth`` -> 4, ``RealESRGAN_x2plus.pth`` -> 2, anything else -> 4."""
    stem = str(model_name).rsplit("/", 1)[-1]
    for match in _SCALE.finditer(stem):
        text = match.group(0).lower()
        if "x" in text:
            return int(match.group(1))
    return DEFAULT_SCALE


@dataclass(frozen=True)
class UpscaleModel(Simulated):
    scale: int = DEFAULT_SCALE


class ExtraNodeRunner(NodeRunner):
    """The fake's node runner, with model upscalers that change the pixel size and latent repeats."""

    def _UpscaleModelLoader(self, model_name: str, **_: Any) -> NodeResult:
        return NodeResult((UpscaleModel("UPSCALE_MODEL", scale=model_scale(model_name)),))

    def _ImageUpscaleWithModel(self, upscale_model: Any, image: Any, **_: Any) -> NodeResult:
        scale = getattr(upscale_model, "scale", DEFAULT_SCALE)
        return NodeResult(([im.resize((im.width * scale, im.height * scale), Image.Resampling.BICUBIC)
                            for im in _as_batch(image)],))

    def _RepeatLatentBatch(self, samples: Any, amount: int = 1, **_: Any) -> NodeResult:
        size, batch = size_of(samples)
        return NodeResult((Simulated("LATENT", size, batch * max(1, int(amount))),))
