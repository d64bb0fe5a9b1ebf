"""Posting a job's result again, as delivery first posted it: the same embed, the files fitted
under this interaction's upload limit, and the buttons its result has now.

A plugin that brings back an earlier result (``/show`` in ``plugins/gallery``) calls
:func:`repost_result` instead of rebuilding the host's embed and button layout; the buttons
name the job, so they act on it as the original ones do, also after restarts.
"""

from __future__ import annotations

import asyncio
import io
from typing import Any

import discord

from discomfy.bot.delivery import DEFAULT_UPLOAD_LIMIT, result_embed
from discomfy.bot.views import result_view
from discomfy.core.media.fit import fit_media
from discomfy.exceptions import ValidationError


async def repost_result(interaction: discord.Interaction, job: Any, spec: Any, files: list[tuple[str, bytes]],
                        *, ephemeral: bool = False) -> None:
    """Send ``job``'s result ``files`` (name, bytes) as a follow-up of ``interaction``, which
    the caller has deferred. ``spec`` is the job's installed workflow. Raises ValidationError,
    saying why, when no file fits under the upload limit."""
    limit = getattr(interaction, "filesize_limit", None) or DEFAULT_UPLOAD_LIMIT
    fitted = await asyncio.to_thread(fit_media, files, limit)  # re-encoding is seconds of CPU
    if not fitted.files:
        raise ValidationError(fitted.note or "The result is too large to upload here.")
    view = result_view(interaction.client.result_actions.for_result(job, spec), job,  # type: ignore[attr-defined]
                       len(fitted.files))
    await interaction.followup.send(
        embed=result_embed(job, spec, fitted.note, scaled=fitted.scaled), view=view or discord.utils.MISSING,
        files=[discord.File(io.BytesIO(data), filename=name) for name, data in fitted.files], ephemeral=ephemeral)
