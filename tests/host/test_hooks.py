"""Every hook is documented and used; a plugin's strategy is usable from another plugin's pack."""

from __future__ import annotations

import inspect
import re
import shutil

from discomfy import hookspecs
from discomfy.bot.client import ComfyUIBot
from discomfy.config import get_config, override

from tests.conftest import REPO_ROOT, write_plugin

HOOKS = [name for name, _ in inspect.getmembers(hookspecs, inspect.isfunction) if name.startswith("discomfy_")]


def test_every_hook_is_in_the_plugin_authors_guide():
    guide = (REPO_ROOT / "docs" / "plugins.md").read_text()
    assert HOOKS, "no hookspecs found"
    for hook in HOOKS:
        assert f"`{hook}(" in guide, f"{hook} is not documented in docs/plugins.md"


def test_every_hook_has_an_implementation_in_the_host_plugins_or_tests():
    sources = "\n".join(p.read_text() for folder in ("discomfy", "plugins", "tests")
                        for p in (REPO_ROOT / folder).rglob("*.py"))
    for hook in HOOKS:
        assert re.search(rf"@hookimpl\s+def {hook}\(", sources), f"nothing implements {hook}"


def test_every_builtin_strategy_is_in_the_plugin_authors_guide():
    from discomfy.core.comfyui.workflows.strategies import builtin_strategies

    guide = (REPO_ROOT / "docs" / "plugins.md").read_text()
    names = [s.name for s in builtin_strategies()]
    assert "img2img" in names
    for name in names:
        assert re.search(rf"^\| [^|]*`{name}`", guide, re.M), f"strategy {name} is not in the built-in strategies table"


SHOUT_PLUGIN = '''
    from discord.ext import commands
    from discomfy import hookimpl


    class Shout:
        """Writes the prompt in capitals: a strategy another plugin's pack can name."""

        name = "shout"
        order = 15
        consumes = ()
        produces = ()
        inserts = ()

        def apply(self, graph, params, context):
            if params.get("prompt"):
                params["prompt"] = params["prompt"].upper()


    class ShoutCog(commands.Cog, name="shout"):
        @hookimpl
        def discomfy_register_strategies(self):
            return [Shout()]


    async def setup(bot):
        await bot.add_cog(ShoutCog())
'''


async def test_a_strategy_from_one_plugin_is_used_by_another_plugins_pack(project):
    write_plugin(project, "shout", SHOUT_PLUGIN)
    pack = project / "workflows" / "loud"
    shutil.copytree(REPO_ROOT / "workflows" / "sdxl", pack)
    manifest = (pack / "manifest.toml").read_text()
    manifest = manifest.replace('name = "generate-sdxl"', 'name = "loud"').replace('model = "sdxl"', 'model = "loud"')
    manifest = manifest.replace('strategies = [', 'strategies = ["shout", ')
    (pack / "manifest.toml").write_text(manifest)
    config = get_config(project)
    override(config, "plugins.dirs", [str(REPO_ROOT / "plugins"), str(project / "plugins")])
    bot = ComfyUIBot(config)
    await bot.plugins.load()
    assert not bot.plugins.report.failed, bot.plugins.report.format()
    rendered = bot.plugins.render(bot.plugins.workflows.get("loud"), {"prompt": "a quiet library"}, user_id=1)
    prompts = [n["inputs"]["text"] for n in rendered.graph.values() if n.get("_meta", {}).get("title") == "Positive Prompt"]
    assert prompts == ["A QUIET LIBRARY"]
