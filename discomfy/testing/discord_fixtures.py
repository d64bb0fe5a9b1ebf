"""Pytest fixtures for end-to-end tests against the loopback Discord emulator."""

from __future__ import annotations

from typing import AsyncIterator

import pytest_asyncio
from discord.gateway import DiscordWebSocket
from discord.http import Route

from discomfy.testing.discord_emulator import DiscordEmulator


@pytest_asyncio.fixture
async def discord_emulator() -> AsyncIterator[DiscordEmulator]:
    """A started ``DiscordEmulator``; start your bot with ``async with discord_emulator.run_bot(bot):``.

    discord.py's endpoints are put back afterwards, so later tests never talk to a stopped
    emulator through this test's redirection.
    """
    saved = (Route.BASE, DiscordWebSocket.DEFAULT_GATEWAY)
    emulator = DiscordEmulator()
    await emulator.start()
    try:
        yield emulator
    finally:
        await emulator.stop()
        Route.BASE, DiscordWebSocket.DEFAULT_GATEWAY = saved
