"""``ActionContext``: what a result-action handler gets for one click.

The host builds one per click (job loaded from the store, so it works after restarts); a
plugin may also build one for an interaction of its own (a message context menu) and name
the message whose image it acts on. ``start_job`` is the same generation flow a slash
command uses: rate limits, the fair queue, the progress message, delivery and buttons.
"""

from __future__ import annotations

import asyncio
from typing import Any

import discord

from discomfy.bot.submission import Submission
from discomfy.core.jobs.execution import ImageInput
from discomfy.exceptions import DisComfyError, ValidationError

IMAGE_SUFFIXES = (".png", ".jpg", ".jpeg", ".webp", ".gif", ".bmp")


def is_image_attachment(attachment: Any) -> bool:
    content_type = str(getattr(attachment, "content_type", None) or "")
    if content_type:
        return content_type.startswith("image/")
    return str(getattr(attachment, "filename", "")).lower().endswith(IMAGE_SUFFIXES)


class ActionContext:
    """One click on a result button: ``bot``, ``interaction``, ``job`` (the stored job, or None
    for a plugin's own interaction), ``spec`` (its workflow, None when no longer installed),
    ``image_number`` (1-based, None for whole-result actions) and ``arg`` (a whole-result
    action's ``arg``)."""

    def __init__(self, bot: Any, interaction: discord.Interaction, job: Any = None, spec: Any = None,
                 image_number: int | None = None, *, arg: str | None = None,
                 message: discord.Message | None = None) -> None:
        self.bot = bot
        self.interaction = interaction
        self.job = job
        self.spec = spec
        self.image_number = image_number
        self.arg = arg
        self.message = message if message is not None else interaction.message

    def images(self) -> list[discord.Attachment]:
        """The image attachments of the message this context acts on, in order."""
        return [a for a in (self.message.attachments if self.message is not None else []) if is_image_attachment(a)]

    async def image(self) -> tuple[str, bytes]:
        """Filename and bytes of the chosen image (``image_number``, else the first)."""
        images = self.images()
        if not images:
            raise ValidationError("This message has no image attached (any more); run the command again.")
        number = self.image_number or 1
        if number > len(images):
            raise ValidationError(f"This message has no image {number} any more; run the command again.")
        attachment = images[number - 1]
        return attachment.filename, await attachment.read()

    async def start_job(self, workflow: str, options: dict[str, Any],
                        images: dict[str, tuple[str, bytes]] | None = None) -> None:
        """Start a job of ``workflow`` for the clicking user, like a slash command would.

        ``images`` maps an image parameter to ``(filename, bytes)``; each is checked as an
        attached image is (size, pixels, real decode) before anything is queued."""
        spec = self.bot.plugins.workflows.get(workflow)
        if spec is None:
            raise DisComfyError(f"The workflow `{workflow}` is not installed on this bot any more.")
        inputs = {}
        for name, (filename, data) in (images or {}).items():
            # decoding is CPU work: off the event loop, as for attachments
            checked = await asyncio.to_thread(self.bot.image_validator.validate_bytes, data, filename)
            if not checked.is_valid:
                raise ValidationError(checked.error_message, field=name)
            inputs[name] = ImageInput(filename, data)
        options = dict(options)
        for name, image in inputs.items():
            options.setdefault(name, image.filename)
        await self.bot.jobs.generation.accept(self.interaction, Submission(spec, options, inputs))
