"""The bot between the Discord emulator and the fake ComfyUI, as in tests/bot/."""

from __future__ import annotations

import pytest

from discomfy.testing.bot_harness import build_config
from tests.conftest import REPO_ROOT


@pytest.fixture
def bot_config(tmp_path, discord_emulator, fake_comfyui):
    return build_config(tmp_path, emulator=discord_emulator, comfyui_url=fake_comfyui.url,
                        plugin_dirs=[REPO_ROOT / "plugins"], workflow_dirs=[REPO_ROOT / "workflows"])
