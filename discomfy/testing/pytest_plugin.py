"""The ``discomfy`` pytest plugin: fixtures for tests of DisComfy and of its plugins.

Loaded automatically (``pytest11`` entry point) wherever discomfy is installed.
"""

from discomfy.testing.discord_fixtures import discord_emulator  # noqa: F401  (the Discord emulator fixture)
