"""What each job button does. Jobs are loaded from the store, so buttons work after restarts.

Owner-only actions (cancel, delete) refuse other users with a message saying whose job it is.
Reroll, edit and retry start a new job through the same flow as a slash command, for the user
who clicked, with their own rate limit.
"""

from __future__ import annotations

import logging
import re
from typing import Any

import discord

from discomfy.bot.access import access_problem
from discomfy.bot.generation import Submission, replay_options
from discomfy.bot.responses import report_error
from discomfy.exceptions import DisComfyError, ValidationError

log = logging.getLogger(__name__)

PROMPT_LIMIT = 1500


EDIT_MODAL = re.compile(r"discomfy:editmodal:(?P<job>[A-Za-z0-9_-]+):(?P<workflow>[A-Za-z0-9_.-]+)")
PROMPT_INPUT = "prompt"


class EditModal(discord.ui.Modal):
    """Asks for the edit instruction. Its custom_id names the job and the edit workflow and
    it is answered by ``ButtonActions.on_interaction``, not by this object, so a modal opened
    before a restart is still answered after it."""

    def __init__(self, job_id: str, spec: Any) -> None:
        super().__init__(title=f"Edit with {spec.model}"[:45], timeout=None,
                         custom_id=f"discomfy:editmodal:{job_id}:{spec.name}"[:100])
        self.add_item(discord.ui.TextInput(
            label="What should change?", custom_id=PROMPT_INPUT, style=discord.TextStyle.paragraph,
            max_length=PROMPT_LIMIT, placeholder="e.g. make it night time, keep everything else",
        ))


def submitted_text(data: Any, custom_id: str) -> str:
    """The value of one text input in a modal submission (in an action row or a label)."""
    stack = list((data or {}).get("components") or [])
    while stack:
        component = stack.pop()
        if component.get("custom_id") == custom_id and "value" in component:
            return str(component["value"])
        stack += list(component.get("components") or [])
        if "component" in component:
            stack.append(component["component"])
    raise ValidationError("The edit form came back without its text; please try again.")


class ButtonActions:
    def __init__(self, bot: Any) -> None:
        self.bot = bot
        bot.add_listener(self.on_interaction, "on_interaction")

    @property
    def flow(self) -> Any:
        return self.bot.generation

    async def handle(self, interaction: discord.Interaction, action: str, job_id: str, arg: str | None) -> None:
        try:
            job = await self._job_for(interaction, job_id)
            handler = getattr(self, f"_{action}", None)
            if handler is None:
                raise DisComfyError("This button is from an older version of the bot; run the command again.")
            await handler(interaction, job, arg)
        except Exception as exc:
            await report_error(interaction, exc)

    async def _job_for(self, interaction: discord.Interaction, job_id: str) -> Any:
        """The job a button or form belongs to, once the user may use the bot here."""
        problem = access_problem(self.bot.config, interaction)
        if problem:
            raise DisComfyError(problem)
        job = await self.bot.store.get(job_id)
        if job is None:
            raise DisComfyError("This job is no longer known to the bot (it was pruned); run the command again.")
        return job

    def _edit_workflow(self, name: str | None) -> Any:
        spec = self.bot.workflows.get(name or "")
        if spec is None:
            raise DisComfyError("That edit model is not installed on this bot any more.")
        return spec

    def _require_owner(self, interaction: discord.Interaction, job: Any, what: str) -> None:
        if interaction.user.id != job.user_id:
            raise DisComfyError(f"Only <@{job.user_id}>, who started this job, can {what} it.")

    def _spec(self, job: Any) -> Any:
        spec = self.bot.workflows.get(job.workflow)
        if spec is None:
            raise DisComfyError(f"The workflow `{job.workflow}` is not installed on this bot any more.")
        return spec

    async def _cancel(self, interaction: discord.Interaction, job: Any, arg: str | None) -> None:
        self._require_owner(interaction, job, "cancel")
        if job.is_final:
            raise DisComfyError("This job has already finished.")
        await interaction.response.defer(ephemeral=True, thinking=True)
        cancelled = await self.bot.cancel_job(job)
        await interaction.followup.send("Cancelled." if cancelled else "It was too late to cancel this job.", ephemeral=True)

    async def _delete(self, interaction: discord.Interaction, job: Any, arg: str | None) -> None:
        self._require_owner(interaction, job, "delete")
        await interaction.response.defer(ephemeral=True, thinking=True)
        if interaction.message is not None:
            await interaction.message.delete()
        await interaction.followup.send("Deleted.", ephemeral=True)

    async def _info(self, interaction: discord.Interaction, job: Any, arg: str | None) -> None:
        embed = discord.Embed(title=f"Job {job.id}", colour=discord.Colour.blurple())
        embed.add_field(name="Workflow", value=f"{job.workflow} (/{job.command})", inline=False)
        embed.add_field(name="Seed", value=f"`{job.seed}`")
        embed.add_field(name="By", value=f"<@{job.user_id}>")
        sources = job.parameter_sources or {}
        for key, value in sorted(job.parameters.items()):
            if key not in ("prompt", "seed") and len(embed.fields) < 24:
                origin = f" ({sources[key]})" if key in sources else ""  # e.g. "(your defaults)"
                embed.add_field(name=f"{key}{origin}"[:256], value=f"`{value}`"[:1024])
        if job.parameters.get("prompt"):
            embed.description = str(job.parameters["prompt"])[:4000]
        await interaction.response.send_message(embed=embed, ephemeral=True)

    async def _reroll(self, interaction: discord.Interaction, job: Any, arg: str | None) -> None:
        spec = self._spec(job)
        options = replay_options(job, spec, seed=-1)
        await self.flow.accept(interaction, self._replay(job, spec, options))

    async def _retry(self, interaction: discord.Interaction, job: Any, arg: str | None) -> None:
        spec = self._spec(job)
        options = replay_options(job, spec)
        await self.flow.accept(interaction, self._replay(job, spec, options))

    async def _edit(self, interaction: discord.Interaction, job: Any, arg: str | None) -> None:
        modal = EditModal(job.id, self._edit_workflow(arg))
        await interaction.response.send_modal(modal)
        modal.stop()  # nothing is kept in memory: on_interaction answers the submission

    async def on_interaction(self, interaction: discord.Interaction) -> None:
        """Answer edit-modal submissions, including those of modals opened before a restart."""
        if interaction.type is not discord.InteractionType.modal_submit:
            return
        match = EDIT_MODAL.fullmatch(str((interaction.data or {}).get("custom_id", "")))
        if match is None:
            return
        try:
            job = await self._job_for(interaction, match["job"])
            spec = self._edit_workflow(match["workflow"])
            message = interaction.message
            image = message.attachments[0] if message is not None and message.attachments else None
            prompt = submitted_text(interaction.data, PROMPT_INPUT)
            submission = await self.edit_submission(job, spec, prompt, image)
        except Exception as exc:
            await report_error(interaction, exc)
            return
        await self.flow.accept(interaction, submission)

    def _replay(self, job: Any, spec: Any, options: dict[str, Any]) -> Submission:
        """A new submission from an old job; its uploaded inputs are reused on their server."""
        images = self._server_images(job, spec)
        return Submission(spec, options, server_images=images, pinned_server=job.server if images else None)

    def _server_images(self, job: Any, spec: Any) -> dict[str, str]:
        """Input images already uploaded for ``job`` (their ComfyUI names), reused as is."""
        return {p: job.parameters[p] for p in spec.image_parameters if job.parameters.get(p)}

    async def edit_submission(self, job: Any, spec: Any, prompt: str, image: discord.Attachment | None) -> Submission:
        image_params = spec.image_parameters
        if not image_params:
            raise ValidationError(f"{spec.model} does not take an image.")
        if image is None:
            raise ValidationError("This result has no image attached any more; run the command again.")
        images = await self.flow.read_images({image_params[0]: image})
        options = {"prompt": prompt, image_params[0]: image.filename}
        return Submission(spec, options, images)
