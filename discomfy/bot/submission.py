"""What a command or button asks for, before it becomes a job: a ``Submission``.

A slash command's options become one here: the model (the user's own default when they pick
none), the options the user really gave (so plugins' defaults never override them), and the
attached images, read and validated within Discord's 3-second window.
"""

from __future__ import annotations

import asyncio
from dataclasses import dataclass, field
from typing import Any

import discord

from discomfy.bot.attachments import read_capped
from discomfy.core.jobs.execution import ImageInput
from discomfy.core.jobs.job import Job
from discomfy.core.validators.image import ImageValidator
from discomfy.exceptions import ValidationError

# Discord invalidates an unanswered interaction after 3 s; leave room for the reply itself.
ACK_BUDGET = 2.2


@dataclass
class Submission:
    """What a command or button asks for, before it becomes a job."""

    spec: Any
    options: dict[str, Any]
    images: dict[str, ImageInput] = field(default_factory=dict)
    server_images: dict[str, str] = field(default_factory=dict)  # already on ComfyUI (reroll)
    pinned_server: str | None = None  # the server holding ``server_images``
    explicit: frozenset[str] | None = None  # options the user gave (None: all of ``options``)


def replay_options(job: Job, spec: Any, **changes: Any) -> dict[str, Any]:
    """The options that reproduce ``job`` (its seed included), for recovery, reroll and retry."""
    options = {k: v for k, v in job.parameters.items() if k in spec.parameters}
    if "seed" in spec.parameters and job.seed is not None:
        options["seed"] = job.seed
    options.update(changes)
    return options


async def submission_from_command(bot: Any, interaction: discord.Interaction, command: Any,
                                  options: dict[str, Any]) -> Submission:
    """A slash command's options -> a submission; raises what the user must be told (a
    ``TimeoutError`` when the attachments could not be read in time)."""
    model = options.pop("model", None)
    explicit = frozenset(k for k, v in options.items() if v is not None) | ({"model"} if model else set())
    if model is None:  # the user's own default model, if a plugin keeps one and it is offered
        preferred = bot.plugins.default_model(command.name, interaction.user.id)
        model = preferred if preferred in command.workflows else None
    spec = command.workflow_for(model)
    attachments = {k: v for k, v in options.items() if isinstance(v, discord.Attachment)}
    for name, attachment in attachments.items():
        options[name] = attachment.filename
    bot.check_access_to_generate(interaction.user.id)
    async with asyncio.timeout(time_left(bot, interaction)):
        images = await read_images(bot.image_validator, attachments)
    return Submission(spec, options, images, explicit=explicit)


def time_left(bot: Any, interaction: discord.Interaction) -> float:
    """Seconds left of Discord's 3-second window (by Discord's clock, see delivery)."""
    age = bot.discord_clock() - interaction.created_at.timestamp()
    return max(0.2, ACK_BUDGET - max(0.0, age))


async def read_images(validator: ImageValidator, attachments: dict[str, discord.Attachment]) -> dict[str, ImageInput]:
    """Read and validate every attached image (content type, real decode, size, pixels)."""
    images = {}
    for name, attachment in attachments.items():
        first = validator.validate(attachment)
        if not first.is_valid:
            raise ValidationError(first.error_message, field=name)
        data = await read_capped(attachment, validator, field=name)  # whatever size was declared
        # decoding a large image takes a while: off the event loop, so others are not held up
        result = await validator.validate_async(attachment, data)
        if not result.is_valid:
            raise ValidationError(result.error_message, field=name)
        images[name] = ImageInput(attachment.filename, data, attachment.url)
    return images
