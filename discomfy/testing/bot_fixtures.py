"""Pytest fixtures that run the DisComfy bot end to end, for this repo and for plugin authors.

``discomfy_bot`` starts the real bot with the plugins and packs of ``discomfy_root`` (the
pytest root folder by default: override the fixture to point elsewhere) between the Discord
emulator and the fake ComfyUI. Override ``discomfy_settings`` to change settings, e.g.
``{"limits.per_user": 1}``.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import pytest
import pytest_asyncio

from discomfy.testing.bot_harness import build_config, running_bot


@pytest.fixture
def discomfy_root(pytestconfig: pytest.Config) -> Path:
    """The project whose plugins/ and workflows/ the bot loads."""
    return Path(pytestconfig.rootpath)


@pytest.fixture
def discomfy_settings() -> dict[str, Any]:
    """Settings to override for the bot under test (dotted keys)."""
    return {}


@pytest_asyncio.fixture
async def discomfy_bot(discord_emulator: Any, fake_comfyui: Any, discomfy_root: Path,
                       discomfy_settings: dict[str, Any], tmp_path: Path) -> AsyncIterator[Any]:
    config = build_config(discomfy_root, emulator=discord_emulator, comfyui_url=fake_comfyui.url,
                          settings=discomfy_settings, store_dir=tmp_path)
    async with running_bot(discord_emulator, fake_comfyui, config) as bot:
        yield bot


__all__ = ["discomfy_root", "discomfy_settings", "discomfy_bot"]
