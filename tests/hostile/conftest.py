"""Hostile-input fixtures: one running bot shared by all examples of a hypothesis test, and a
session tally (inputs tried, refused, accepted, crashes, inputs that reached ComfyUI
unvalidated) printed at the end of the run (tests/figures.py) for the issue's closing note."""

from __future__ import annotations

from collections import Counter

import pytest
import pytest_asyncio

from discomfy.testing.bot_harness import build_config, running_bot
from tests.conftest import REPO_ROOT
from tests.figures import hostile_tally as session_hostile_tally

# Every example uses a fresh user, but the global window counts them all: lift the limits so a
# refusal always comes from validation, which is what this suite is about.
HOSTILE_SETTINGS = {"limits.per_user": 1000, "limits.global_limit": 100000}


@pytest.fixture(scope="session")
def hostile_tally(pytestconfig) -> Counter:
    return session_hostile_tally(pytestconfig)


@pytest_asyncio.fixture
async def hostile_bot(tmp_path, discord_emulator, fake_comfyui):
    config = build_config(tmp_path, emulator=discord_emulator, comfyui_url=fake_comfyui.url,
                          plugin_dirs=[REPO_ROOT / "plugins"], workflow_dirs=[REPO_ROOT / "workflows"],
                          settings=HOSTILE_SETTINGS)
    async with running_bot(discord_emulator, fake_comfyui, config) as bot:
        yield bot
