"""Buttons on job messages, alive across restarts, and the layout of result buttons.

Every button is one ``JobButton`` whose ``custom_id`` is ``discomfy:<action>:<job id>[:<arg>]``
(``arg``: an image number for per-image actions, or a whole-result action's own arg); the
class is registered once with ``bot.add_dynamic_items``, so a click on a message sent before
a restart still reaches :class:`~discomfy.bot.button_actions.ButtonActions`, which loads the
job from the store. Cancel and Retry are the host's own buttons on progress and failure
messages; everything under a result comes from plugins' ``ResultAction``s.
"""

from __future__ import annotations

import logging
import re
from typing import Any

import discord

from discomfy.bot.result_actions import ResultAction

log = logging.getLogger(__name__)

CUSTOM_ID = re.compile(r"discomfy:(?P<action>[a-z][a-z0-9_]*):(?P<job>[A-Za-z0-9_-]+)(?::(?P<arg>[A-Za-z0-9_.-]+))?")
ROWS, PER_ROW = 5, 5
LABEL_LIMIT = 80  # Discord's longest button label
MAX_PER_IMAGE = 4  # a batch of more images gets no per-image buttons

HOST_LABELS = {
    "cancel": ("Cancel", "✖️", discord.ButtonStyle.secondary),
    "retry": ("Retry", "🔁", discord.ButtonStyle.primary),
}


def custom_id(action: str, job_id: str, arg: str | None = None) -> str:
    value = f"discomfy:{action}:{job_id}" + (f":{arg}" if arg else "")
    if len(value) > 100:
        raise ValueError(f"custom_id too long for Discord: {value!r}")
    return value


class JobButton(discord.ui.DynamicItem[discord.ui.Button], template=CUSTOM_ID):
    def __init__(self, action: str, job_id: str, arg: str | None = None, *, label: str | None = None,
                 emoji: str | None = None, style: discord.ButtonStyle = discord.ButtonStyle.secondary,
                 row: int | None = None) -> None:
        if action in HOST_LABELS:
            text, emoji, style = HOST_LABELS[action]
            label = label or text
        super().__init__(discord.ui.Button(label=label, emoji=emoji, style=style,
                                           custom_id=custom_id(action, job_id, arg), row=row))
        self.action, self.job_id, self.arg = action, job_id, arg

    @classmethod
    async def from_custom_id(cls, interaction: discord.Interaction, item: discord.ui.Button, match: re.Match[str]) -> JobButton:
        return cls(match["action"], match["job"], match["arg"], label=item.label, style=item.style)

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


def retry_view(job: Any) -> discord.ui.View:
    return _view(JobButton("retry", job.id))


# --- result buttons -------------------------------------------------------------------------

Slot = tuple[ResultAction, int | None]  # an action, and the image number it acts on


def _rows(actions: list[ResultAction], images: int) -> list[list[Slot]]:
    """Whole-result buttons first (rows of 5), then per-image ones: on a batch one row per
    action (U1..UN), on a single image flowing on after each other."""
    whole = [(a, None) for a in actions if not a.per_image]
    per_image = [a for a in actions if a.per_image]
    rows = [whole[i:i + PER_ROW] for i in range(0, len(whole), PER_ROW)]
    if images == 1:
        single = [(a, None) for a in per_image]
        rows += [single[i:i + PER_ROW] for i in range(0, len(single), PER_ROW)]
    elif 1 < images <= MAX_PER_IMAGE:
        rows += [[(a, n) for n in range(1, images + 1)] for a in per_image if a.short_label]
    return rows


def layout(actions: list[ResultAction], images: int, *, job_id: str = "?") -> list[list[Slot]]:
    """The rows of buttons under a result of ``images`` images, within Discord's 5 x 5: what
    does not fit is dropped, highest ``order`` first, with a log line."""
    kept = sorted(actions, key=lambda a: a.order)
    rows = _rows(kept, images)
    while len(rows) > ROWS:
        dropped = kept.pop()
        log.warning("job %s: result button %r does not fit in Discord's %d rows of %d buttons; left out",
                    job_id, dropped.name, ROWS, PER_ROW)
        rows = _rows(kept, images)
    return rows


def _button(action: ResultAction, job_id: str, number: int | None, row: int) -> JobButton:
    style = getattr(discord.ButtonStyle, action.style)
    if number is None:
        return JobButton(action.name, job_id, action.arg, label=action.label[:LABEL_LIMIT], emoji=action.emoji,
                         style=style, row=row)
    return JobButton(action.name, job_id, str(number), label=f"{action.short_label}{number}"[:LABEL_LIMIT],
                     style=style, row=row)


def result_view(actions: list[ResultAction], job: Any, images: int) -> discord.ui.View | None:
    """The buttons under ``job``'s result; None when no action applies. A button whose
    custom_id would be too long for Discord (a very long ``arg``) is left out with a log line:
    the result itself must still be delivered."""
    buttons = []
    for index, row in enumerate(layout(actions, images, job_id=job.id)):
        for action, number in row:
            try:
                buttons.append(_button(action, job.id, number, index))
            except ValueError as exc:
                log.warning("job %s: result button %r left out: %s", job.id, action.name, exc)
    return _view(*buttons) if buttons else None
