"""Shared test helpers: a project folder per test, with its own settings and plugin folders."""

from __future__ import annotations

import sys
import textwrap
from pathlib import Path

import pytest

from discomfy.plugins import PLUGIN_NAMESPACE
from discomfy.testing.fake_comfyui.catalog import recorded_nodes
from discomfy.testing.fake_comfyui.nodes import BUILTIN

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


def unregistered_image_node() -> str:
    """A real ComfyUI node that takes and returns an IMAGE and has no semantics in the fake."""
    nodes = recorded_nodes()
    candidates = sorted(name for name, info in nodes.items()
                        if BUILTIN.get(name) is None and info.get("output") == ["IMAGE"]
                        and set((info["input"].get("required") or {})) == {"image"})
    assert candidates, "every IMAGE -> IMAGE node has semantics now: pick another kind of node"
    return candidates[0]
