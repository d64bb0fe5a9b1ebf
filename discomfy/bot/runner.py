"""``discomfy run``: build the bot from settings, start it, stop it cleanly."""

from __future__ import annotations

import asyncio
import logging
from typing import Any

import discord

from discomfy.bot.client import ComfyUIBot

log = logging.getLogger(__name__)


async def run_bot(config: Any, *, dev: bool = False) -> int:
    bot = ComfyUIBot(config, dev=dev)
    try:
        async with bot:
            await bot.start(config.discord.token)
    except discord.LoginFailure:
        log.error("Discord refused the token in discord.token; reset it in the developer portal and update .secrets.toml")
        return 1
    except discord.PrivilegedIntentsRequired:
        log.error("Discord refused a privileged intent; DisComfy needs none, so check the settings")
        return 1
    except asyncio.CancelledError:
        pass
    return 0
