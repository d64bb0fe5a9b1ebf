"""A slash command runs the handler its cog names: the API.md handler names, bound when the
class is defined, not looked up by a name built while the command runs."""

from __future__ import annotations

import shutil

import pytest

from discomfy import WorkflowCog
from discomfy.testing.bot_harness import build_config, running_bot

from tests.conftest import REPO_ROOT
from tests.host.test_packs import load

API_HANDLERS = ["generate", "editflux", "editqwen", "status", "help", "loras"]


async def test_every_api_handler_name_exists_on_the_loaded_bot(project):
    bot = await load(project)
    found = {}
    for cog in bot.cogs.values():
        for name in API_HANDLERS:
            if getattr(cog, f"{name}_command_handler", None) is not None:  # a method, or an app command
                found[name] = cog
    assert sorted(found) == sorted(API_HANDLERS)
    workflow_cogs = {name: cog for name, cog in found.items() if isinstance(cog, WorkflowCog)}
    assert sorted(workflow_cogs) == ["editflux", "editqwen", "generate"]
    for name, cog in workflow_cogs.items():
        assert type(cog).command_handler is vars(type(cog))[f"{name}_command_handler"]


async def test_a_plugins_own_handler_is_what_its_command_runs(project, discord_emulator, fake_comfyui):
    plugin = project / "plugins" / "generate"
    shutil.copytree(REPO_ROOT / "plugins" / "generate", plugin, ignore=shutil.ignore_patterns("__pycache__"))
    source = (plugin / "__init__.py").read_text()
    custom = source.replace("        await self.run(interaction, options)",
                            '        await interaction.response.send_message(f"handled: {options[\'prompt\']}")')
    assert custom != source
    (plugin / "__init__.py").write_text(custom)
    config = build_config(project, emulator=discord_emulator, comfyui_url=fake_comfyui.url,
                          plugin_dirs=[project / "plugins"], workflow_dirs=[project / "workflows"])
    async with running_bot(discord_emulator, fake_comfyui, config):
        answer = await discord_emulator.invoke("generate", {"prompt": "a kite"})
        assert answer.response["data"]["content"] == "handled: a kite"
    assert not discord_emulator.violations and not discord_emulator.unhandled


def test_two_handlers_on_one_workflow_cog_are_refused_naming_both():
    with pytest.raises(TypeError, match="a_command_handler, b_command_handler"):
        class Twice(WorkflowCog):  # noqa: F841 - defining it is the test
            command_name = "a"

            async def a_command_handler(self, interaction, options): ...

            async def b_command_handler(self, interaction, options): ...
