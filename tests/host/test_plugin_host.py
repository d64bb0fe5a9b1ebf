"""The plugin host: discovery from folders, packs and entry points; pluggy in step with discord.py."""

from __future__ import annotations

import importlib
import textwrap

from discomfy.bot.client import ComfyUIBot
from discomfy.config import get_config

from tests.conftest import command_plugin_source, write_plugin

HOOK_PLUGIN = '''
    from discord.ext import commands
    from discomfy import hookimpl


    class Cog(commands.Cog, name="hooky"):
        @hookimpl
        def discomfy_prepare_parameters(self, workflow, parameters, user_id):
            parameters["seen_by"] = parameters.get("seen_by", []) + ["hooky"]


    async def setup(bot):
        await bot.add_cog(Cog())
'''


async def load(project) -> ComfyUIBot:
    bot = ComfyUIBot(get_config(project))
    await bot.plugins.load()
    return bot


async def test_one_broken_plugin_is_reported_and_the_others_load(project):
    write_plugin(project, "good", command_plugin_source("good"))
    write_plugin(project, "broken", "async def setup(bot):\n    raise RuntimeError('model folder not configured')\n")
    bot = await load(project)
    report = bot.plugins.report
    assert "good" in report.names("loaded")
    (failed,) = report.failed
    assert failed.name == "broken"
    assert "model folder not configured" in failed.reason
    assert {c.name for c in bot.tree.get_commands()} == {"good", "help", "status", "discomfy"}
    assert "broken" in report.format() and "failed" in report.format()


async def test_disabled_plugins_are_listed_but_not_loaded(project, monkeypatch):
    write_plugin(project, "good", command_plugin_source("good"))
    write_plugin(project, "quiet", command_plugin_source("quiet"))
    (project / "settings.toml").write_text('[plugins]\ndisabled = ["quiet"]\n')
    bot = await load(project)
    assert bot.plugins.report.names("disabled") == ["quiet"]
    assert "quiet" not in {c.name for c in bot.tree.get_commands()}


async def test_duplicate_command_names_both_owners(project):
    write_plugin(project, "alpha", command_plugin_source("draw"))
    write_plugin(project, "beta", command_plugin_source("draw").replace('name="draw")', 'name="draw2")'))
    bot = await load(project)
    (failed,) = bot.plugins.report.failed
    assert failed.name == "beta"
    assert "duplicate command /draw" in failed.reason
    assert "'alpha'" in failed.reason and "'beta'" in failed.reason


async def test_cog_is_the_pluggy_plugin_through_load_unload_reload(project):
    write_plugin(project, "hooky", HOOK_PLUGIN)
    bot = await load(project)
    params: dict = {}
    bot.plugins.manager.hook.discomfy_prepare_parameters(workflow=None, parameters=params, user_id=1,
                                                     explicit=frozenset(), sources={})
    assert params["seen_by"] == ["hooky"]

    await bot.reload_extension("discomfy_plugins.hooky")
    params = {}
    bot.plugins.manager.hook.discomfy_prepare_parameters(workflow=None, parameters=params, user_id=1,
                                                     explicit=frozenset(), sources={})
    assert params["seen_by"] == ["hooky"]  # re-registered exactly once

    await bot.unload_extension("discomfy_plugins.hooky")
    params = {}
    bot.plugins.manager.hook.discomfy_prepare_parameters(workflow=None, parameters=params, user_id=1,
                                                     explicit=frozenset(), sources={})
    assert params == {}


async def test_entry_point_distribution_adds_a_command_without_host_changes(project, tmp_path, monkeypatch):
    site = tmp_path / "site"
    dist_info = site / "discomfy_throwaway-1.0.dist-info"
    dist_info.mkdir(parents=True)
    (dist_info / "METADATA").write_text("Metadata-Version: 2.1\nName: discomfy-throwaway\nVersion: 1.0\n")
    (dist_info / "entry_points.txt").write_text("[discomfy.plugins]\nthrowaway = discomfy_throwaway_plugin\n")
    (site / "discomfy_throwaway_plugin.py").write_text(textwrap.dedent(command_plugin_source("throwaway", "from a package")))
    monkeypatch.syspath_prepend(str(site))
    importlib.invalidate_caches()

    bot = await load(project)
    assert "throwaway" in bot.plugins.report.names("loaded")
    entry = next(e for e in bot.plugins.report.entries if e.name == "throwaway")
    assert entry.kind == "entrypoint" and "discomfy-throwaway" in entry.origin
    assert "throwaway" in {c.name for c in bot.tree.get_commands()}


async def test_plugin_folders_are_mounted_under_a_private_namespace(project):
    write_plugin(project, "good", command_plugin_source("good"))
    bot = await load(project)
    assert "discomfy_plugins.good" in bot.extensions
    assert bot.extensions["discomfy_plugins.good"].__file__ == str((project / "plugins" / "good" / "__init__.py").resolve())
