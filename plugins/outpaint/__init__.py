"""Zoom Out 1.5× / 2× and Pan ⬅️ ➡️ ⬆️ ⬇️ under image results, and ``/outpaint``.

The image is padded and the new area filled by FLUX.1 Fill [dev] through ComfyUI's core nodes
(see manifest.toml); the original pixels are composited back, so only the new area is new.
Every image result gets the buttons, a zoomed or panned one included, so moves chain. A button
reuses the result's prompt (it describes the picture the new area continues).

The size is capped (see ``plan.py``): by the model's limits, and by the server's upload limit
Discord gave with the click (at ``BYTES_PER_PIXEL``, what a re-encoded WebP comfortably stays
under). When a cap applied, the result says so next to its width and height, through
``discomfy_prepare_parameters``' ``sources`` — the same place a user's /settings defaults are
named — computed from the job's own parameters, so ℹ️ Info and ``/show`` say it too.
"""

from __future__ import annotations

import asyncio
from typing import Any

import discord
from discord.ext import commands

from discomfy import (ActionContext, ResultAction, ValidationError, WorkflowCog, command_handler, hookimpl,
                      image_result, image_size, report_error)

from .plan import MOVES, OutpaintPlan, plan

WORKFLOW = "outpaint"
BYTES_PER_PIXEL = 1.0
UNREADABLE = "That file is not an image I can read; attach a PNG, JPEG or WebP."
#: button name -> (move, label, emoji); zoom first, then the four pans in reading order
BUTTONS = {
    "zoom_15": ("zoom_1.5", "Zoom Out 1.5×", "🔍"),
    "zoom_2": ("zoom_2", "Zoom Out 2×", "🔍"),
    "pan_left": ("left", "Pan", "⬅️"),
    "pan_right": ("right", "Pan", "➡️"),
    "pan_up": ("up", "Pan", "⬆️"),
    "pan_down": ("down", "Pan", "⬇️"),
}


def upload_pixels(interaction: discord.Interaction) -> int | None:
    limit = getattr(interaction, "filesize_limit", None)
    return int(limit / BYTES_PER_PIXEL) if limit else None


class OutpaintStrategies(commands.Cog, name="outpaint-strategies"):
    """Registered before the command's cog, whose manifest names the strategy."""

    @hookimpl
    def discomfy_register_strategies(self) -> list[Any]:
        return [OutpaintPlan()]


class OutpaintCog(WorkflowCog, name="outpaint"):
    command_name = "outpaint"
    manifest_files = ("manifest.toml",)

    @hookimpl
    def discomfy_register_result_actions(self) -> list[ResultAction]:
        return [ResultAction(name, label, self.button(move), emoji=emoji, per_image=True, order=60 + index,
                             applies_to=image_result)
                for index, (name, (move, label, emoji)) in enumerate(BUTTONS.items())]

    @hookimpl
    def discomfy_prepare_parameters(self, workflow: Any, parameters: dict[str, Any], sources: dict[str, str]) -> None:
        """Name the cap under the result when one scaled the canvas down."""
        if workflow.name != WORKFLOW or not {"source_width", "source_height"} <= parameters.keys():
            return
        chosen = plan(int(parameters["source_width"]), int(parameters["source_height"]),
                      str(parameters.get("move") or "zoom_1.5"), parameters.get("upload_pixels"))
        if chosen.capped:
            sources["width"] = sources["height"] = chosen.capped

    def button(self, move: str) -> Any:
        async def handler(context: ActionContext) -> None:
            filename, data = await context.image()
            prompt = str(context.job.parameters.get("prompt") or "")
            await self.outpaint(context, filename, data, move, prompt)
        return handler

    @command_handler
    async def outpaint_command_handler(self, interaction: discord.Interaction, options: dict[str, Any]) -> None:
        """/outpaint image: move: prompt:"""
        try:
            attachment = options.get("image")
            if not isinstance(attachment, discord.Attachment):
                raise ValidationError("Attach the image to extend to the `image` option.", field="image")
            move = options.get("move") or "zoom_1.5"
            if move not in MOVES:
                raise ValidationError(f"`move` must be one of {', '.join(MOVES)} (you gave {move!r}).", field="move")
            checked = self.bot.image_validator.validate(attachment)  # size and type, before downloading
            if not checked.is_valid:
                raise ValidationError(checked.error_message, field="image")
            async with asyncio.timeout(2.0):
                data = await attachment.read()
            await self.outpaint(ActionContext(self.bot, interaction), attachment.filename, data, move,
                                options.get("prompt") or "", seed=options.get("seed"), steps=options.get("steps"))
        except asyncio.TimeoutError:
            await report_error(interaction, ValidationError("The image took too long to download; please try again."))
        except Exception as exc:
            await report_error(interaction, exc)

    async def outpaint(self, context: ActionContext, filename: str, data: bytes, move: str, prompt: str,
                       **extra: Any) -> None:
        width, height = await asyncio.to_thread(image_size, data, UNREADABLE)
        options = {"move": move, "prompt": prompt, "source_width": width, "source_height": height,
                   **{k: v for k, v in extra.items() if v is not None}}
        pixels = upload_pixels(context.interaction)
        if pixels:
            options["upload_pixels"] = max(65536, pixels)
        await context.start_job(WORKFLOW, options, images={"image": (filename, data)})


async def setup(bot: Any) -> None:
    await bot.add_cog(OutpaintStrategies())
    await bot.add_cog(OutpaintCog(bot))
