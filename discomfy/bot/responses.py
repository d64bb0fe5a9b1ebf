"""The one way errors reach Discord users, for commands, buttons and modals alike.

A ``DisComfyError`` shows its ``user_message``; anything else shows a short message with an
error id while the traceback goes to the log under the same id, so a user can quote it and an
owner can find it. Users never see ``str()`` of an unexpected exception or an internal URL.
"""

from __future__ import annotations

import logging
import secrets

import discord
from discord import app_commands

from discomfy.exceptions import DisComfyError

log = logging.getLogger("discomfy.errors")

UNEXPECTED = "Something unexpected went wrong (error id `{error_id}`). Please try again; if it keeps happening, tell the bot owner the error id."


def unwrap(error: BaseException) -> BaseException:
    """The error a user should hear about, out of discord.py's wrappers."""
    while isinstance(error, (app_commands.CommandInvokeError, discord.DiscordException)) and getattr(error, "original", None):
        error = error.original  # type: ignore[assignment]
    return error


def user_message_for(error: BaseException) -> str:
    """The text to show for ``error``; logs the detail (and the traceback when unexpected)."""
    error = unwrap(error)
    if isinstance(error, DisComfyError):
        log.info("refused: %s", error.detail)
        return error.user_message
    if isinstance(error, app_commands.CheckFailure):
        return str(error) or "You can't use this command here."
    error_id = secrets.token_hex(4)
    log.error("unexpected error %s", error_id, exc_info=error)
    return UNEXPECTED.format(error_id=error_id)


async def report_error(interaction: discord.Interaction, error: BaseException) -> None:
    """Tell the user what went wrong, ephemerally, whether or not the interaction was answered."""
    text = user_message_for(error)
    try:
        if interaction.response.is_done():
            await interaction.followup.send(text, ephemeral=True)
        else:
            await interaction.response.send_message(text, ephemeral=True)
    except discord.HTTPException as exc:  # the token may be gone; the log still has it all
        log.warning("could not tell user %s about an error: %s", interaction.user.id, exc)
