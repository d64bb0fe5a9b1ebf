"""The ``discomfy`` pytest plugin: fixtures for tests of DisComfy and of its plugins.

Loaded automatically (``pytest11`` entry point) wherever discomfy is installed.
"""

from discomfy.testing.comfyui_fixtures import comfyui_client, fake_comfyui  # noqa: F401
from discomfy.testing.discord_fixtures import discord_emulator  # noqa: F401
from discomfy.testing.bot_fixtures import discomfy_bot, discomfy_root, discomfy_settings  # noqa: F401
