"""/animate — Wan 2.2 TI2V 5B: a short video from a prompt, or from an image and a prompt,
and the 🎬 Animate button under image results.

The command, its options, progress and delivery come from the manifest and the shared
generation flow; the video itself is a generic host capability (ComfyUI's ``animated``
outputs are delivered as playable attachments and re-encoded to fit the upload limit). This
file adds what is particular to video: the ``video_length`` strategy (seconds -> frames) and
the button, registered through ``discomfy_register_result_actions``.
"""

from __future__ import annotations

import io
from typing import Any

from discord.ext import commands
from PIL import Image

from discomfy import ResultAction, WorkflowCog, hookimpl, media_kind

WORKFLOW = "animate"
BUTTON_SECONDS = 3
BUTTON_PROMPT = "gentle natural motion, subtle camera movement"
ASPECTS = {"16:9": 16 / 9, "9:16": 9 / 16, "1:1": 1.0}
#: save nodes whose output is a video or animation, not a still image
ANIMATED_SAVERS = frozenset({"SaveVideo", "SaveWEBM", "SaveAnimatedWEBP", "SaveAnimatedPNG"})


class VideoLengthStrategy:
    """``seconds`` -> the latent's frame count: ``seconds x fps + 1`` rounded so that frames - 1
    is a multiple of 4 (Wan's video VAE packs 4 frames per latent frame, plus the first).

    Options (``[options.video_length]``): ``length`` = the ``node.input`` taking the frame
    count, ``fps`` = the ``node.input`` holding the frame rate (read from the template)."""

    name = "video_length"
    order = 25
    consumes = ("seconds",)
    produces: tuple[str, ...] = ()
    inserts: tuple[str, ...] = ()

    @staticmethod
    def frames(seconds: float, fps: float) -> int:
        return max(1, round(seconds * fps / 4)) * 4 + 1

    def apply(self, graph: Any, params: dict[str, Any], context: Any) -> None:
        opts = context.options(self.name)
        length_node, _, length_input = str(opts["length"]).partition(".")
        fps_node, _, fps_input = str(opts["fps"]).partition(".")
        if params.get("seconds") is None:
            return
        fps = float(graph[fps_node]["inputs"][fps_input])
        graph[length_node]["inputs"][length_input] = self.frames(float(params["seconds"]), fps)
        context.handled.add("seconds")


def nearest_aspect(data: bytes) -> str:
    """The offered aspect ratio closest to the image's own shape."""
    with Image.open(io.BytesIO(data)) as image:
        ratio = image.width / image.height
    return min(ASPECTS, key=lambda name: abs(ASPECTS[name] - ratio))


def makes_images(job: Any, spec: Any) -> bool:
    """True for a result made of still images: the files it delivered, or (before they are
    recorded) the save nodes its workflow ends in."""
    outputs = [o for o in getattr(job, "outputs", None) or [] if isinstance(o, dict) and o.get("filename")]
    if outputs:
        return all(media_kind(o["filename"]) == "image" for o in outputs)
    if spec is None:
        return False
    return not any(spec.class_of(node) in ANIMATED_SAVERS for node in spec.outputs)


def animatable(job: Any, spec: Any) -> bool:
    """The 🎬 button's rule: a result of one still image (batches get per-image buttons)."""
    images = [o for o in getattr(job, "outputs", None) or [] if isinstance(o, dict)]
    one = len(images) == 1 if images else int((getattr(job, "parameters", None) or {}).get("batch") or 1) == 1
    return one and makes_images(job, spec)


async def animate_clicked(ctx: Any) -> None:
    """🎬: animate the chosen image with the result's own prompt, in its own shape."""
    filename, data = await ctx.image()
    prompt = str(ctx.job.parameters.get("prompt") or BUTTON_PROMPT)
    options = {"prompt": prompt, "seconds": BUTTON_SECONDS, "aspect_ratio": nearest_aspect(data), "image": filename}
    await ctx.start_job(WORKFLOW, options, images={"image": (filename, data)})


class VideoStrategies(commands.Cog, name="animate-strategies"):
    """Offers ``video_length``; added before the command's cog, whose manifest names it."""

    @hookimpl
    def discomfy_register_strategies(self) -> list[Any]:
        return [VideoLengthStrategy()]


class AnimateCog(WorkflowCog, name="animate"):
    command_name = "animate"
    manifest_files = ("manifest.toml",)  # with no handler marked, /animate runs the shared flow

    @hookimpl
    def discomfy_register_result_actions(self) -> list[Any]:
        return [ResultAction(name="animate", label="Animate", emoji="🎬", handler=animate_clicked,
                             order=60, applies_to=animatable)]


async def setup(bot):
    await bot.add_cog(VideoStrategies())
    await bot.add_cog(AnimateCog(bot))
