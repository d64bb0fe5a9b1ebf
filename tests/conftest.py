"""Shared test helpers: a project folder per test, with its own settings and plugin folders."""

from __future__ import annotations

import sys
import textwrap
from pathlib import Path

import pytest

from discomfy.plugins import PLUGIN_NAMESPACE

REPO_ROOT = Path(__file__).resolve().parents[1]


@pytest.fixture(autouse=True)
def _forget_plugin_modules():
    """Plugins of one test's folder must not leak into the next test's imports."""
    yield
    for name in [m for m in sys.modules if m == PLUGIN_NAMESPACE or m.startswith(PLUGIN_NAMESPACE + ".")]:
        del sys.modules[name]


@pytest.fixture
def project(tmp_path: Path) -> Path:
    """An empty project folder: plugins/ and workflows/ exist, no settings overrides yet."""
    (tmp_path / "plugins").mkdir()
    (tmp_path / "workflows").mkdir()
    return tmp_path


def write_plugin(root: Path, name: str, body: str) -> Path:
    """Write ``plugins/<name>/__init__.py`` with the given (dedented) source."""
    folder = root / "plugins" / name
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / "__init__.py"
    path.write_text(textwrap.dedent(body))
    return path


def command_plugin_source(command: str, reply: str = "hi") -> str:
    """A minimal code plugin contributing one slash command."""
    return f'''
        import discord
        from discord import app_commands
        from discord.ext import commands


        class Cog(commands.Cog, name="{command}"):
            @app_commands.command(name="{command}", description="says {reply}")
            async def handler(self, interaction: discord.Interaction) -> None:
                await interaction.response.send_message("{reply}")


        async def setup(bot):
            await bot.add_cog(Cog())
    '''
