"""Routing button clicks. Jobs are loaded from the store, so buttons work after restarts.

Cancel (on a job's progress message) and Retry (on a failure) are the host's own buttons;
every button under a result is a plugin's ``ResultAction`` (the host's own Reroll, Edit,
Info and Delete included, see :mod:`discomfy.bot.default_actions`), and its click goes to
the owning plugin's handler with an ``ActionContext``. Owner-only actions refuse other
users with a message saying whose job it is.
"""

from __future__ import annotations

import logging
from typing import Any

import discord

from discomfy.bot.access import access_problem
from discomfy.bot.action_context import ActionContext
from discomfy.bot.submission import Submission, replay_options
from discomfy.bot.responses import report_error
from discomfy.bot.result_actions import ResultAction, image_number
from discomfy.exceptions import DisComfyError

log = logging.getLogger(__name__)


def replay_submission(job: Any, spec: Any, options: dict[str, Any]) -> Submission:
    """A new submission from an old job; its uploaded inputs are reused on their server."""
    images = {p: job.parameters[p] for p in spec.image_parameters if job.parameters.get(p)}
    return Submission(spec, options, server_images=images, pinned_server=job.server if images else None)


def require_owner(interaction: discord.Interaction, job: Any, what: str) -> None:
    if interaction.user.id != job.user_id:
        raise DisComfyError(f"Only <@{job.user_id}>, who started this job, can {what} it.")


class ButtonActions:
    def __init__(self, bot: Any) -> None:
        self.bot = bot

    @property
    def flow(self) -> Any:
        return self.bot.jobs.generation

    async def handle(self, interaction: discord.Interaction, action: str, job_id: str, arg: str | None) -> None:
        try:
            job = await self.job_for(interaction, job_id)
            if action == "cancel":
                await self._cancel(interaction, job)
            elif action == "retry":
                await self._retry(interaction, job)
            else:
                await self._result_action(interaction, action, job, arg)
        except Exception as exc:
            await report_error(interaction, exc)

    async def job_for(self, interaction: discord.Interaction, job_id: str) -> Any:
        """The job a button or form belongs to, once the user may use the bot here."""
        problem = access_problem(self.bot.config, interaction)
        if problem:
            raise DisComfyError(problem)
        job = await self.bot.jobs.store.get(job_id)
        if job is None:
            raise DisComfyError("This job is no longer known to the bot (it was pruned); run the command again.")
        return job

    def spec_of(self, job: Any) -> Any:
        spec = self.bot.plugins.workflows.get(job.workflow)
        if spec is None:
            raise DisComfyError(f"The workflow `{job.workflow}` is not installed on this bot any more.")
        return spec

    async def _result_action(self, interaction: discord.Interaction, name: str, job: Any, arg: str | None) -> None:
        action, context = self.action_context(interaction, name, job, arg)
        await action.handler(context)

    def action_context(self, interaction: discord.Interaction, name: str, job: Any,
                       arg: str | None) -> tuple[ResultAction, ActionContext]:
        """The action a button (or the form it opened) names, and the context its plugin gets;
        refuses a user an owner-only action, and names a button the bot no longer has."""
        action = self.bot.result_actions.find(name, arg)
        if action is None:
            if any(a.name == name for a in self.bot.result_actions.actions()):
                raise DisComfyError("What this button points at is not installed on this bot any more.")
            raise DisComfyError("This button belongs to a plugin that is not loaded on this bot any more.")
        if action.owner_only:
            require_owner(interaction, job, action.label.lower())
        try:
            number = image_number(action, arg)
        except ValueError:
            raise DisComfyError("This button is from an older version of the bot; run the command again.") from None
        context = ActionContext(self.bot, interaction, job, self.bot.plugins.workflows.get(job.workflow or ""), number,
                                arg=None if action.per_image else arg)
        return action, context

    async def _cancel(self, interaction: discord.Interaction, job: Any) -> None:
        require_owner(interaction, job, "cancel")
        if job.is_final:
            raise DisComfyError("This job has already finished.")
        await interaction.response.defer(ephemeral=True, thinking=True)
        cancelled = await self.bot.jobs.cancel(job)  # wherever it waits or runs
        await interaction.followup.send("Cancelled." if cancelled else "It was too late to cancel this job.", ephemeral=True)

    async def _retry(self, interaction: discord.Interaction, job: Any) -> None:
        spec = self.spec_of(job)
        await self.flow.accept(interaction, replay_submission(job, spec, replay_options(job, spec)))
