from __future__ import annotations

import logging

import pytest_asyncio

from probe_cog import ProbeBot


@pytest_asyncio.fixture
async def bot(discord_emulator):
    """The probe bot, logged into the emulator (GUILD_CREATE received)."""
    logging.getLogger("discord").setLevel(logging.ERROR)
    probe_bot = ProbeBot()
    async with discord_emulator.run_bot(probe_bot):
        yield probe_bot
