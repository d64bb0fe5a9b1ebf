"""The host's own result buttons — 🎲 Reroll, ✏️ Edit with an image model, ℹ️ Info, 🗑️ Delete —
offered through ``discomfy_register_result_actions`` like any plugin's (a default plugin, as
datasette ships its defaults), so they are laid out and routed exactly as plugin buttons are.

Edit is a ``ResultForm``: its form asks for the instruction, and the host answers the
submission (also of a form opened before a restart) with ``edit_submitted``.
"""

from __future__ import annotations

import logging
from typing import Any

import discord

from discomfy.bot.action_context import ActionContext
from discomfy.bot.button_actions import replay_submission
from discomfy.bot.submission import Submission, replay_options
from discomfy.bot.result_actions import ResultAction, ResultForm, image_result
from discomfy.bot.value_origins import origin_note
from discomfy.core.comfyui.workflows.commands import is_hidden_parameter
from discomfy.exceptions import DisComfyError, ValidationError
from discomfy.hookspecs import hookimpl

log = logging.getLogger(__name__)

PROMPT_LIMIT = 1500
PROMPT_INPUT = "prompt"
EDIT_BUTTONS = 2  # "Edit with X" buttons under a result, at most
#: parameters that mean nothing without another one (a LoRA strength with no LoRA)
QUALIFIES = {"lora_strength": "lora"}


class EditModal(discord.ui.Modal):
    """Asks for the edit instruction; answered by ``DefaultResultActions.edit_submitted``."""

    def __init__(self, spec: Any) -> None:
        super().__init__(title=f"Edit with {spec.model}"[:45], timeout=None)
        self.add_item(discord.ui.TextInput(
            label="What should change?", custom_id=PROMPT_INPUT, style=discord.TextStyle.paragraph,
            max_length=PROMPT_LIMIT, placeholder="e.g. make it night time, keep everything else",
        ))


def edit_image_parameter(spec: Any) -> str | None:
    """The image a user attaches to ``spec`` (hidden ones, e.g. Vary's, are set by buttons)."""
    return next((p for p in spec.image_parameters if not is_hidden_parameter(spec.parameters[p])), None)


def edit_targets(specs: Any) -> list[tuple[str, str]]:
    """(workflow name, model) of every workflow that edits an attached image by a prompt,
    whichever plugins provide them. The image must be required: an optional one (like
    /animate's start frame) does not make a workflow an edit."""
    return [(spec.name, spec.model) for spec in specs
            if edit_image_parameter(spec) in spec.required_parameters and "prompt" in spec.parameters]


def can_reroll(job: Any, spec: Any) -> bool:
    """A reroll asks for a new seed: only a workflow that takes one (not /upscale, not a pack
    whose graph has no seed) would make anything but the same result again."""
    return spec is not None and "seed" in spec.parameters


def info_parameters(job: Any, spec: Any) -> list[tuple[str, Any]]:
    """The job's options worth showing under ℹ️ Info: not the prompt and seed (shown apart),
    not hidden ones a user never chose (a Vary button's image and denoise, /upscale's source
    size), and not one whose partner was left out (``lora_strength`` when no LoRA was used)."""
    params = job.parameters
    hidden = {name for name, prop in (spec.parameters if spec is not None else {}).items() if is_hidden_parameter(prop)}
    return [(key, value) for key, value in sorted(params.items())
            if key not in ("prompt", "seed") and key not in hidden
            and (key not in QUALIFIES or params.get(QUALIFIES[key]) not in (None, ""))]


class DefaultResultActions:
    def __init__(self, bot: Any) -> None:
        self.bot = bot

    @hookimpl
    def discomfy_register_result_actions(self) -> list[ResultAction]:
        actions = [ResultAction("reroll", "Reroll", self.reroll, emoji="🎲", style="primary", order=10,
                                applies_to=can_reroll)]
        # an edit redraws a still image: a video result has none to attach
        actions += [ResultAction("info", "Info", self.info, emoji="ℹ️", order=90),
                    ResultAction("delete", "Delete", self.delete, emoji="🗑️", style="danger", order=95, owner_only=True)]
        return actions

    @hookimpl
    def discomfy_register_result_forms(self) -> list[ResultForm]:
        # an edit redraws a still image: a video result has none to attach
        return [ResultForm("edit", f"Edit with {label}", emoji="✏️", order=20, arg=name, applies_to=image_result,
                           form=self.edit_form, on_submit=self.edit_submitted)
                for name, label in edit_targets(self.bot.plugins.workflows.all().values())[:EDIT_BUTTONS]]

    # --- the buttons --------------------------------------------------------------------------

    async def reroll(self, ctx: ActionContext) -> None:
        spec = self.bot.button_actions.spec_of(ctx.job)
        options = replay_options(ctx.job, spec, seed=-1)
        await self.bot.jobs.generation.accept(ctx.interaction, replay_submission(ctx.job, spec, options))

    async def info(self, ctx: ActionContext) -> None:
        job = ctx.job
        embed = discord.Embed(title=f"Job {job.id}", colour=discord.Colour.blurple())
        embed.add_field(name="Workflow", value=f"{job.workflow} (/{job.command})", inline=False)
        if job.seed is not None:
            embed.add_field(name="Seed", value=f"`{job.seed}`")
        embed.add_field(name="By", value=f"<@{job.user_id}>")
        sources = job.parameter_sources or {}
        for key, value in info_parameters(job, ctx.spec)[:21]:  # Discord allows 25 fields
            embed.add_field(name=f"{key}{origin_note(key, sources)}"[:256], value=f"`{value}`"[:1024])
        if job.parameters.get("prompt"):
            embed.description = str(job.parameters["prompt"])[:4000]
        await ctx.interaction.response.send_message(embed=embed, ephemeral=True)

    async def delete(self, ctx: ActionContext) -> None:
        interaction = ctx.interaction
        await interaction.response.defer(ephemeral=True, thinking=True)
        if interaction.message is not None:
            await interaction.message.delete()
        await interaction.followup.send("Deleted.", ephemeral=True)

    # --- the edit form --------------------------------------------------------------------------

    def edit_form(self, ctx: ActionContext) -> EditModal:
        return EditModal(self._edit_workflow(ctx.arg))

    def _edit_workflow(self, name: str | None) -> Any:
        spec = self.bot.plugins.workflows.get(name or "")
        if spec is None:
            raise DisComfyError("That edit model is not installed on this bot any more.")
        return spec

    async def edit_submitted(self, ctx: ActionContext, answers: dict[str, Any]) -> None:
        spec = self._edit_workflow(ctx.arg)
        message = ctx.message
        image = message.attachments[0] if message is not None and message.attachments else None
        prompt = answers.get(PROMPT_INPUT)
        if not isinstance(prompt, str):
            raise ValidationError("The edit form came back without its text; please try again.")
        submission = await self.edit_submission(spec, prompt, image)
        await self.bot.jobs.generation.accept(ctx.interaction, submission)

    async def edit_submission(self, spec: Any, prompt: str, image: discord.Attachment | None) -> Submission:
        param = edit_image_parameter(spec)
        if param is None:
            raise ValidationError(f"{spec.model} does not take an image.")
        if image is None:
            raise ValidationError("This result has no image attached any more; run the command again.")
        images = await self.bot.jobs.generation.read_images({param: image})
        options = {"prompt": prompt, param: image.filename}
        return Submission(spec, options, images)
