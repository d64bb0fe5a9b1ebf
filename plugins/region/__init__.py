"""🖌️ Vary (Region) under single still images, and ``/inpaint image: mask: prompt:``.

Discord has no brush, so the button asks in one form: a multi-select over a 3×3 grid of the
image (which ninths change) and the prompt, pre-filled with the result's. The mask is built
here from the choice — white cells, their edges feathered *inwards* so the redrawn part blends
while every pixel outside the chosen cells stays exactly as it was — and FLUX.1 Fill redraws
only that part (see manifest.toml). ``/inpaint`` takes a mask image instead (white changes),
e.g. one painted elsewhere.

The button is a ``ResultForm``: the host names the form after the job and the image and
answers its submission (also of a form opened before a restart) with ``redraw``; the image is
read from the message the button was on (a ``/show`` repost too).
"""

from __future__ import annotations

import asyncio
import io
from typing import Any

import discord
from PIL import Image, ImageChops, ImageDraw, ImageFilter

from discomfy import ActionContext, ResultForm, ValidationError, WorkflowCog, hookimpl, image_result, image_size

WORKFLOW = "inpaint"
GRID = 3
FEATHER = 0.04  # of the shorter side: how far inside the chosen cells the mask fades in
CELLS = ("top left", "top", "top right", "left", "centre", "right", "bottom left", "bottom", "bottom right")
PROMPT_LIMIT = 2000
UNREADABLE = "This result's image cannot be read any more; run the command again."


def region_mask(size: tuple[int, int], cells: list[int]) -> bytes:
    """A PNG mask of ``size``: white on the chosen cells (0-8, reading order), black elsewhere;
    blurred, then kept no brighter than the hard cells, so the edge fades in inside them only."""
    width, height = size
    hard = Image.new("L", size, 0)
    draw = ImageDraw.Draw(hard)
    for cell in cells:
        row, column = divmod(cell, GRID)
        box = (column * width // GRID, row * height // GRID, (column + 1) * width // GRID, (row + 1) * height // GRID)
        draw.rectangle((box[0], box[1], box[2] - 1, box[3] - 1), fill=255)
    soft = hard.filter(ImageFilter.GaussianBlur(max(2, round(min(size) * FEATHER))))
    buffer = io.BytesIO()
    ImageChops.darker(soft, hard).convert("RGB").save(buffer, "PNG")  # LoadImage + ImageToMask read red
    return buffer.getvalue()


class RegionModal(discord.ui.Modal):
    """Which ninths change, and into what; answered by ``RegionCog.redraw``."""

    def __init__(self, context: ActionContext) -> None:
        super().__init__(title="Vary (Region)", timeout=None)
        options = [discord.SelectOption(label=f"{n + 1} · {name}", value=str(n)) for n, name in enumerate(CELLS)]
        self.add_item(discord.ui.Label(text="Which parts change?", description="The image as a 3×3 grid",
                                       component=discord.ui.Select(custom_id="cells", options=options, min_values=1,
                                                                   max_values=len(CELLS) - 1)))
        prompt = str(context.job.parameters.get("prompt") or "")[:PROMPT_LIMIT] or None
        self.add_item(discord.ui.Label(text="What should be there?", component=discord.ui.TextInput(
            custom_id="prompt", style=discord.TextStyle.paragraph, max_length=PROMPT_LIMIT, default=prompt)))


def submitted(answers: dict[str, Any]) -> tuple[list[int], str]:
    """The chosen cells and the prompt of a form submission."""
    cells = sorted({int(v) for v in answers.get("cells") or [] if str(v).isdigit() and int(v) < len(CELLS)})
    prompt = str(answers.get("prompt") or "").strip()
    if not cells or len(cells) == len(CELLS):
        raise ValidationError("Choose the parts to change: one to eight of the nine (all nine is a new image: 🎲 Reroll).")
    if not prompt:
        raise ValidationError("Say what the chosen part should show.")
    return cells, prompt


class RegionCog(WorkflowCog, name="region"):
    command_name = "inpaint"
    manifest_files = ("manifest.toml",)

    @hookimpl
    def discomfy_register_result_forms(self) -> list[ResultForm]:
        return [ResultForm("region", "Vary (Region)", emoji="🖌️", per_image=True, order=53, applies_to=image_result,
                           form=RegionModal, on_submit=self.redraw)]

    async def redraw(self, context: ActionContext, answers: dict[str, Any]) -> None:
        """FLUX.1 Fill redraws the chosen cells of the clicked image into the prompt."""
        cells, prompt = submitted(answers)
        filename, data = await context.image()
        size = await asyncio.to_thread(image_size, data, UNREADABLE)
        mask = await asyncio.to_thread(region_mask, size, cells)
        await context.start_job(WORKFLOW, {"prompt": prompt, "seed": -1},
                                images={"image": (filename, data), "mask": ("mask.png", mask)})


async def setup(bot: Any) -> None:
    await bot.add_cog(RegionCog(bot))
