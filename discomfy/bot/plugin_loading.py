"""Loading every discovered plugin into a bot, so that pluggy and discord.py stay in step.

The bot's ``add_cog``/``remove_cog`` register and unregister each cog instance with pluggy
(see :class:`discomfy.bot.client.ComfyUIBot`); this module decides what to load, in which
order, and writes the load report. Data packs are registered first so that the cog of a
command they join already sees them when it builds its slash command.
"""

from __future__ import annotations

import logging
from importlib import import_module
from typing import TYPE_CHECKING

from discord.ext import commands

from discomfy.plugins import LoadReport, PluginSource, WorkflowPack, discover, is_enabled

if TYPE_CHECKING:
    from discomfy.bot.client import ComfyUIBot

log = logging.getLogger(__name__)

# Host behaviour is written as default plugins, loaded like any other extension.
HOST_EXTENSIONS = ("discomfy.bot.commands.status", "discomfy.bot.commands.help", "discomfy.bot.commands.admin")


def describe_failure(exc: BaseException) -> str:
    """One readable reason for a plugin that failed to load (the traceback goes to the log)."""
    original = getattr(exc, "original", None) or exc.__cause__ or exc
    if isinstance(exc, commands.NoEntryPointError):
        return "it has no setup(bot) function; add `async def setup(bot): await bot.add_cog(...)`"
    text = getattr(original, "user_message", None) or str(original) or type(original).__name__
    return f"{type(original).__name__}: {text}"


async def load_plugins(bot: ComfyUIBot) -> LoadReport:
    """Load host extensions, packs, folder plugins and entry-point plugins; never raises."""
    report = bot.load_report
    sources, duplicates = discover(bot.config)
    for source, reason in duplicates:
        report.add(source, "failed", reason)

    for module in HOST_EXTENSIONS:
        source = PluginSource(module.rsplit(".", 1)[-1], "host", "discomfy", module=module)
        await _load_code_plugin(bot, source, report)

    packs = [s for s in sources if s.kind == "pack"]
    code = [s for s in sources if s.kind != "pack"]
    for source in packs:
        if not is_enabled(bot.config, source.name):
            report.add(source, "disabled", "disabled in settings (plugins.enabled / plugins.disabled)")
            continue
        bot.plugin_manager.register(WorkflowPack(source.name, source.manifest), name=source.name)
        bot.plugin_owners[source.name] = source.name
        report.add(source, "loaded")
    for source in code:
        if not is_enabled(bot.config, source.name):
            report.add(source, "disabled", "disabled in settings (plugins.enabled / plugins.disabled)")
            continue
        await _load_code_plugin(bot, source, report)
    # only now are all strategies known: a pack may use one a code plugin registers
    drop_broken_workflows(bot, report)
    await rebuild_workflow_commands(bot, report)
    await add_pack_commands(bot, report)
    return report


async def rebuild_workflow_commands(bot: ComfyUIBot, report: LoadReport) -> None:
    """Rebuild a plugin's workflow command whose workflows changed since it was built: a pack
    that only became loadable once a later plugin registered its strategy, or a pack added,
    edited or removed under hot reload."""
    from discomfy.bot.cog import WorkflowCog

    for cog in [c for c in bot.cogs.values() if isinstance(c, WorkflowCog) and type(c) is not WorkflowCog]:
        now = bot.workflows.for_command(cog.command_name, extra=cog.own_manifests, owner=cog.owner)
        if now == cog.specs:  # specs compare by identity: an edited file is a new spec
            continue
        try:
            await bot.remove_cog(cog.qualified_name)
            await bot.add_cog(type(cog)(bot))
        except Exception as exc:
            report.fail(cog.owner, f"/{cog.command_name}: {describe_failure(exc)}")


def drop_broken_workflows(bot: ComfyUIBot, report: LoadReport) -> dict[str, str]:
    """Report plugins whose workflows fail to load (or clash by name); unregister broken packs.
    Returns the reasons by plugin."""
    _, problems = bot.workflows.collect()
    for owner, reason in problems.items():
        report.fail(owner, reason)
        plugin = bot.plugin_manager.get_plugin(owner)
        if isinstance(plugin, WorkflowPack):
            bot.plugin_manager.unregister(plugin)
    if problems:
        bot.workflows.collect()
    return problems


async def add_pack_commands(bot: ComfyUIBot, report: LoadReport | None = None) -> None:
    """Give a command that only data packs provide (no code plugin owns it) a host-made cog."""
    from discomfy.bot.cog import WorkflowCog

    for cog in [c for c in bot.cogs.values() if type(c) is WorkflowCog]:
        await bot.remove_cog(cog.qualified_name)
    specs = bot.workflows.all().values()
    orphaned = sorted({s.command for s in specs if s.command not in bot.command_owners})
    for command in orphaned:
        owners = sorted({s.plugin for s in specs if s.command == command})
        try:
            await bot.add_cog(WorkflowCog(bot, command_name=command, owner=owners[0]))
        except Exception as exc:
            for owner in owners:
                if report is not None:
                    report.fail(owner, f"/{command}: {describe_failure(exc)}")


async def _load_code_plugin(bot: ComfyUIBot, source: PluginSource, report: LoadReport) -> None:
    assert source.module is not None
    bot.extension_plugins[source.module] = source.name
    try:
        if source.kind == "entrypoint" and not _has_setup(source.module):
            bot.plugin_manager.register(import_module(source.module), name=source.name)
            bot.plugin_owners[source.name] = source.name
        else:
            await bot.load_extension(source.module)
    except Exception as exc:  # one broken plugin never stops the others
        reason = describe_failure(exc)
        log.warning("plugin %s failed to load: %s", source.name, reason)
        log.debug("plugin %s traceback", source.name, exc_info=exc)
        bot.extension_plugins.pop(source.module, None)
        report.add(source, "failed", reason)
        return
    report.add(source, "loaded")


def _has_setup(module_name: str) -> bool:
    return hasattr(import_module(module_name), "setup")
