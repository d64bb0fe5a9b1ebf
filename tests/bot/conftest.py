"""End-to-end fixtures: the real bot between the Discord emulator and the fake ComfyUI."""

from __future__ import annotations

import io

import pytest
import pytest_asyncio
from PIL import Image

from discomfy.testing.bot_harness import build_config, running_bot
from tests.conftest import REPO_ROOT


def png_bytes(width: int = 64, height: int = 48, colour: str = "red") -> bytes:
    buffer = io.BytesIO()
    Image.new("RGB", (width, height), colour).save(buffer, "PNG")
    return buffer.getvalue()


@pytest.fixture
def bot_config(tmp_path, discord_emulator, fake_comfyui):
    return build_config(tmp_path, emulator=discord_emulator, comfyui_url=fake_comfyui.url,
                        plugin_dirs=[REPO_ROOT / "plugins"], workflow_dirs=[REPO_ROOT / "workflows"])


@pytest_asyncio.fixture
async def bot(discord_emulator, fake_comfyui, bot_config):
    async with running_bot(discord_emulator, fake_comfyui, bot_config) as running:
        yield running


@pytest.fixture
def start_bot(tmp_path, discord_emulator, fake_comfyui):
    """``async with start_bot(**settings) as bot:`` — the bot with some settings overridden."""
    def start(**settings):
        config = build_config(tmp_path, emulator=discord_emulator, comfyui_url=fake_comfyui.url,
                              plugin_dirs=[REPO_ROOT / "plugins"], workflow_dirs=[REPO_ROOT / "workflows"],
                              settings=settings)
        return running_bot(discord_emulator, fake_comfyui, config)

    return start
