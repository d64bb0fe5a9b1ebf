"""Buttons on job messages, alive across restarts.

Every button is one ``JobButton`` whose ``custom_id`` is ``discomfy:<action>:<job id>[:<arg>]``;
the class is registered once with ``bot.add_dynamic_items``, so a click on a message sent
before a restart still reaches the handler, which loads the job from the store. What each
action does lives in :mod:`discomfy.bot.button_actions`.
"""

from __future__ import annotations

import re
from typing import Any

import discord

CUSTOM_ID = re.compile(r"discomfy:(?P<action>[a-z]+):(?P<job>[A-Za-z0-9_-]+)(?::(?P<arg>[A-Za-z0-9_.-]+))?")

LABELS = {
    "cancel": ("Cancel", "✖️", discord.ButtonStyle.secondary),
    "reroll": ("Reroll", "🎲", discord.ButtonStyle.primary),
    "edit": ("Edit", "✏️", discord.ButtonStyle.secondary),
    "info": ("Info", "ℹ️", discord.ButtonStyle.secondary),
    "delete": ("Delete", "🗑️", discord.ButtonStyle.danger),
    "retry": ("Retry", "🔁", discord.ButtonStyle.primary),
}


def custom_id(action: str, job_id: str, arg: str | None = None) -> str:
    value = f"discomfy:{action}:{job_id}" + (f":{arg}" if arg else "")
    if len(value) > 100:
        raise ValueError(f"custom_id too long for Discord: {value!r}")
    return value


class JobButton(discord.ui.DynamicItem[discord.ui.Button], template=CUSTOM_ID):
    def __init__(self, action: str, job_id: str, arg: str | None = None, label: str | None = None) -> None:
        text, emoji, style = LABELS[action]
        super().__init__(discord.ui.Button(label=label or text, emoji=emoji, style=style, custom_id=custom_id(action, job_id, arg)))
        self.action, self.job_id, self.arg = action, job_id, arg

    @classmethod
    async def from_custom_id(cls, interaction: discord.Interaction, item: discord.ui.Button, match: re.Match[str]) -> JobButton:
        return cls(match["action"], match["job"], match["arg"], label=item.label)

    async def callback(self, interaction: discord.Interaction) -> None:
        await interaction.client.button_actions.handle(interaction, self.action, self.job_id, self.arg)  # type: ignore[attr-defined]


def _view(*buttons: JobButton) -> discord.ui.View:
    view = discord.ui.View(timeout=None)
    for button in buttons:
        view.add_item(button)
    return view


def job_view(job_id: str) -> discord.ui.View:
    """Buttons on a queued or running job: only Cancel."""
    return _view(JobButton("cancel", job_id))


def result_view(job: Any, edit_targets: list[tuple[str, str]]) -> discord.ui.View:
    """Buttons on a result: reroll, edit with each image-taking workflow, info, delete."""
    buttons = [JobButton("reroll", job.id)]
    buttons += [JobButton("edit", job.id, name, label=f"Edit with {label}") for name, label in edit_targets[:2]]
    buttons += [JobButton("info", job.id), JobButton("delete", job.id)]
    return _view(*buttons)


def retry_view(job: Any) -> discord.ui.View:
    return _view(JobButton("retry", job.id))
