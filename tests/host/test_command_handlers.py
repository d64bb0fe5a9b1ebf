"""A slash command runs the handler its cog marks with ``@command_handler``, found when the class
is defined; a mistake in the marking fails the plugin's load naming plugin and handler. Every
workflow command answers to its API.md handler name, a data pack's host-made one included."""

from __future__ import annotations

import re
import shutil

import pytest

from discomfy import WorkflowCog, command_handler
from discomfy.testing.bot_harness import build_config, running_bot

from tests.bot.support import wait_result
from tests.conftest import REPO_ROOT, workflow_plugin_source, write_plugin
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
        # manifest-only plugins: the host made their command, and its handler is the shared flow
        assert type(cog) is WorkflowCog and getattr(cog, f"{name}_command_handler") == cog.run


async def test_a_plugins_own_handler_is_what_its_command_runs(project, discord_emulator, fake_comfyui):
    plugin = project / "plugins" / "generate"
    shutil.copytree(REPO_ROOT / "plugins" / "generate", plugin, ignore=shutil.ignore_patterns("__pycache__"))
    write_plugin(project, "generate", workflow_plugin_source("generate"))
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

            @command_handler
            async def a_command_handler(self, interaction, options): ...

            @command_handler
            async def b_command_handler(self, interaction, options): ...


def test_a_handler_that_is_not_async_is_refused():
    with pytest.raises(TypeError, match=r"Blocking\.handle is marked @command_handler but is not `async def`"):
        class Blocking(WorkflowCog):  # noqa: F841 - defining it is the test
            command_name = "a"

            @command_handler
            def handle(self, interaction, options): ...


@pytest.mark.parametrize("mistake", ["unmarked", "misspelt mark"])
async def test_a_mistaken_handler_fails_its_plugin_s_load_naming_plugin_and_handler(project, discord_emulator,
                                                                                     fake_comfyui, mistake):
    """Before, a handler the suffix search missed left the command silently running the shared
    flow; now the plugin does not load, and the report says which plugin and which handler."""
    plugin = project / "plugins" / "kite"
    shutil.copytree(REPO_ROOT / "plugins" / "generate", plugin, ignore=shutil.ignore_patterns("__pycache__"))
    (plugin / "manifest.toml").write_text((plugin / "manifest.toml").read_text()
                                          .replace('command = "generate"', 'command = "kite"')
                                          .replace('name = "generate-flux"', 'name = "kite"'))
    source = workflow_plugin_source("kite")
    wrong = {"unmarked": "", "misspelt mark": "@command_handlr"}[mistake]
    write_plugin(project, "kite", source.replace("@command_handler", wrong))
    config = build_config(project, emulator=discord_emulator, comfyui_url=fake_comfyui.url,
                          plugin_dirs=[project / "plugins", REPO_ROOT / "plugins"], workflow_dirs=[project / "workflows"])
    async with running_bot(discord_emulator, fake_comfyui, config) as bot:
        (entry,) = [e for e in bot.plugins.report.entries if e.name == "kite"]
        assert entry.state == "failed"
        assert {"unmarked": "kite_command_handler is named like a command handler but not marked",
                "misspelt mark": "name 'command_handlr' is not defined"}[mistake] in entry.reason
        assert "kite" not in {c["name"] for c in discord_emulator.commands}
        assert "generate" in {c["name"] for c in discord_emulator.commands}  # the others load
    assert not discord_emulator.violations and not discord_emulator.unhandled


async def test_the_guides_code_plugin_runs_its_own_handler_before_the_shared_flow(project, discord_emulator, fake_comfyui):
    """docs/plugins.md's "A code plugin" example, as written, beside plugins/generate's files."""
    guide = (REPO_ROOT / "docs" / "plugins.md").read_text()
    (example,) = [b for b in re.findall(r"```python\n(.*?)```", guide, re.S) if b.startswith("# plugins/sketch/")]
    plugin = project / "plugins" / "sketch"
    shutil.copytree(REPO_ROOT / "plugins" / "generate", plugin, ignore=shutil.ignore_patterns("__pycache__"))
    (plugin / "manifest.toml").write_text((plugin / "manifest.toml").read_text()
                                          .replace('command = "generate"', 'command = "sketch"')
                                          .replace('name = "generate-flux"', 'name = "sketch"'))
    (plugin / "__init__.py").write_text(example)
    config = build_config(project, emulator=discord_emulator, comfyui_url=fake_comfyui.url,
                          plugin_dirs=[project / "plugins"], workflow_dirs=[project / "workflows"])
    async with running_bot(discord_emulator, fake_comfyui, config):
        message = await wait_result(discord_emulator, await discord_emulator.invoke("sketch", {"prompt": "a kite"}))
        assert message.embeds[0]["description"] == "pencil sketch, a kite"
    assert not discord_emulator.violations and not discord_emulator.unhandled
