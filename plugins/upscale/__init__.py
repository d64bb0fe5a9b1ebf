"""/upscale, the ⬆️ Upscale / U1…U4 result buttons and the "Upscale" message menu.

A model upscaler (``UpscaleModelLoader`` + ``ImageUpscaleWithModel``) makes the image as big
as the model makes it (4x for most), then ``ImageScale`` resizes it to exactly the chosen
factor times the source size: the factor a user picks is the factor they get, whatever the
model. The source size is read from the image here and handed to the workflow as hidden
parameters; the ``exact_scale`` strategy turns them into the resize's width and height.

Settings (``settings.toml``):

    [upscale]
    model = "4x-UltraSharp.pth"   # a file in ComfyUI's models/upscale_models
    button_factor = 2             # the factor of the Upscale buttons and the message menu
"""

from __future__ import annotations

import asyncio
from dataclasses import replace
from typing import Any

import discord
from discord import app_commands
from discord.ext import commands

from discomfy import (ActionContext, ResultAction, ValidationError, WorkflowCog, command_handler, hookimpl,
                      image_result, image_size, report_error)

WORKFLOW = "upscale"
DEFAULT_MODEL = "4x-UltraSharp.pth"
FACTORS = (2, 4)
MAX_SIDE = 16384  # ImageScale's largest width or height
READ_BUDGET = 2.0  # seconds to download an attachment inside Discord's 3-second window
UNREADABLE = "That file is not an image I can read; attach a PNG, JPEG or WebP."


class ExactScale:
    """``width``/``height`` of the final resize: the source size times ``factor``."""

    name = "exact_scale"
    order = 20  # before bindings, which write the derived width and height
    consumes = ("factor", "source_width", "source_height")
    produces = ("width", "height")
    inserts = ()

    def apply(self, graph: dict[str, Any], params: dict[str, Any], context: Any) -> None:
        factor = int(params.get("factor") or FACTORS[0])
        params["width"] = int(params["source_width"]) * factor
        params["height"] = int(params["source_height"]) * factor


def upscale_setting(config: Any, key: str, default: Any) -> Any:
    value = config.get(f"upscale.{key}", default)
    if key == "model" and (not isinstance(value, str) or not value.strip()):
        raise ValueError(f"upscale.model = {value!r} must name a file in ComfyUI's models/upscale_models, "
                         f"e.g. \"{DEFAULT_MODEL}\"")
    if key == "button_factor" and value not in FACTORS:
        raise ValueError(f"upscale.button_factor = {value!r} must be one of {', '.join(map(str, FACTORS))}")
    return value


class UpscaleStrategies(commands.Cog, name="upscale-strategies"):
    """Registered before the command's cog, whose manifest names the strategy."""

    @hookimpl
    def discomfy_register_strategies(self) -> list[Any]:
        return [ExactScale()]


class UpscaleCog(WorkflowCog, name="upscale"):
    command_name = "upscale"
    manifest_files = ("manifest.toml",)

    def __init__(self, bot: Any) -> None:
        self.model = upscale_setting(bot.config, "model", DEFAULT_MODEL)
        self.button_factor = upscale_setting(bot.config, "button_factor", FACTORS[0])
        super().__init__(bot)
        self.menu = app_commands.ContextMenu(name="Upscale", callback=self.upscale_message)

    def workflow_sources(self) -> list[Any]:
        """The manifest's workflow with the configured upscale model in its loader, so
        ``discomfy check --server`` names that file when the server lacks it."""
        specs = []
        for path in super().workflow_sources():
            spec = self.bot.plugins.workflows.load(path, self.owner)
            template = spec.template
            for node in template.values():
                if node.get("class_type") == "UpscaleModelLoader":
                    node["inputs"]["model_name"] = self.model
            specs.append(replace(spec, _template=template))
        return specs

    async def cog_load(self) -> None:
        self.bot.tree.add_command(self.menu)

    async def cog_unload(self) -> None:
        self.bot.tree.remove_command(self.menu.name, type=self.menu.type)

    @hookimpl
    def discomfy_register_result_actions(self) -> list[ResultAction]:
        return [ResultAction("upscale", "Upscale", self.upscale_button, emoji="⬆️", per_image=True,
                             short_label="U", order=40, applies_to=image_result)]

    # --- the three ways in ----------------------------------------------------------------

    @command_handler
    async def upscale_command_handler(self, interaction: discord.Interaction, options: dict[str, Any]) -> None:
        """/upscale image: factor:"""
        await self._upscale_attachment(interaction, ActionContext(self.bot, interaction), options.get("image"),
                                       options.get("factor", FACTORS[0]))

    async def upscale_message(self, interaction: discord.Interaction, message: discord.Message) -> None:
        """Apps → Upscale on any message with an image, whoever posted it."""
        context = ActionContext(self.bot, interaction, message=message)
        images = context.images()
        if not images:
            await report_error(interaction, ValidationError("That message has no image to upscale."))
            return
        await self._upscale_attachment(interaction, context, images[0], self.button_factor)

    async def upscale_button(self, context: ActionContext) -> None:
        """⬆️ Upscale (U1…U4 on a batch): the chosen image of a result."""
        filename, data = await context.image()
        await self.upscale(context, filename, data, self.button_factor)

    # --- the one flow ---------------------------------------------------------------------

    async def _upscale_attachment(self, interaction: discord.Interaction, context: ActionContext,
                                  attachment: discord.Attachment | None, factor: Any) -> None:
        try:
            if not isinstance(attachment, discord.Attachment):
                raise ValidationError("Attach the image to upscale to the `image` option.", field="image")
            if factor not in FACTORS:
                raise ValidationError(f"`factor` must be 2 or 4 (you gave {factor!r}).", field="factor")
            checked = self.bot.image_validator.validate(attachment)  # size and type, before downloading
            if not checked.is_valid:
                raise ValidationError(checked.error_message, field="image")
            async with asyncio.timeout(READ_BUDGET):
                data = await attachment.read()
            await self.upscale(context, attachment.filename, data, factor)
        except asyncio.TimeoutError:
            await report_error(interaction, ValidationError("The image took too long to download; please try again."))
        except Exception as exc:
            await report_error(interaction, exc)

    async def upscale(self, context: ActionContext, filename: str, data: bytes, factor: int) -> None:
        """Queue the upscale of one image for the user of ``context`` (refusing sizes ComfyUI
        or this bot cannot make, in plain words)."""
        width, height = await asyncio.to_thread(image_size, data, UNREADABLE)
        out_w, out_h = width * factor, height * factor
        max_pixels = int(self.bot.config.limits.max_image_pixels)
        if max(out_w, out_h) > MAX_SIDE or out_w * out_h > max_pixels:
            smaller = " Try factor 2." if factor > FACTORS[0] and width * 2 * height * 2 <= max_pixels else ""
            raise ValidationError(f"Upscaling this {width}×{height} image {factor}× would make it {out_w}×{out_h}, "
                                  f"larger than this bot makes ({max_pixels / 1e6:.0f} MP, {MAX_SIDE} px a side).{smaller}")
        options = {"factor": factor, "source_width": width, "source_height": height}
        await context.start_job(WORKFLOW, options, images={"image": (filename, data)})


async def setup(bot: Any) -> None:
    await bot.add_cog(UpscaleStrategies())
    await bot.add_cog(UpscaleCog(bot))
