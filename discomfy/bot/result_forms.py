"""Answering the forms that ``ResultForm`` buttons open.

A form's ``custom_id`` is ``discomfy:<name>modal:<job id>[:<image number or arg>]``: nothing is
kept in memory between the click and the submission, so a form opened before a restart is
answered after it. The submission goes the way of a click: the job is loaded from the store,
the user's access (and an owner-only form's owner) is checked, and the owning plugin's
``on_submit`` gets an :class:`~discomfy.bot.action_context.ActionContext` and the answers;
whatever goes wrong reaches the user through ``report_error``.
"""

from __future__ import annotations

from typing import Any

import discord

from discomfy.bot.responses import report_error
from discomfy.bot.result_actions import FORM_ID, ResultForm
from discomfy.exceptions import DisComfyError


def form_answers(data: Any) -> dict[str, Any]:
    """``custom_id`` -> value of every input of a modal submission: a text input's text, a
    select's list of chosen values; inputs sit in action rows or in labels."""
    answers: dict[str, Any] = {}
    stack = list((data or {}).get("components") or [])
    while stack:
        component = stack.pop()
        if component.get("custom_id") and "value" in component:
            answers[str(component["custom_id"])] = str(component["value"] or "")
        elif component.get("custom_id") and "values" in component:
            answers[str(component["custom_id"])] = [str(v) for v in component["values"] or []]
        stack += list(component.get("components") or [])
        if "component" in component:
            stack.append(component["component"])
    return answers


class FormSubmissions:
    """The one listener for every ``ResultForm``'s submissions."""

    def __init__(self, bot: Any) -> None:
        self.bot = bot
        bot.add_listener(self.on_interaction, "on_interaction")

    async def on_interaction(self, interaction: discord.Interaction) -> None:
        if interaction.type is not discord.InteractionType.modal_submit:
            return
        match = FORM_ID.fullmatch(str((interaction.data or {}).get("custom_id", "")))
        if match is None:
            return  # a form of a plugin's own command: its plugin answers it
        try:
            job = await self.bot.button_actions.job_for(interaction, match["job"])
            form, context = self.bot.button_actions.action_context(interaction, match["name"], job, match["arg"])
            if not isinstance(form, ResultForm):
                raise DisComfyError("This form belongs to a plugin that is not loaded on this bot any more.")
            await form.on_submit(context, form_answers(interaction.data))
        except Exception as exc:
            await report_error(interaction, exc)
