"""Loading every discovered plugin into a bot, so that pluggy and discord.py stay in step.

The bot's ``add_cog``/``remove_cog`` register and unregister each cog instance with pluggy
(see :class:`discomfy.bot.plugin_host.PluginHost`); this module decides what to load, in which
order, and writes the load report. Data packs are registered first so that the cog of a
command they join already sees them when it builds its slash command.
"""

from __future__ import annotations

import logging
from importlib import import_module
from typing import Any

from discord.ext import commands

from discomfy.bot.cog import WorkflowCog
from discomfy.plugins import LoadReport, PluginSource, WorkflowPack, discover, is_enabled

log = logging.getLogger(__name__)

# Host behaviour is written as default plugins, loaded like any other extension.
HOST_EXTENSIONS = ("discomfy.bot.commands.status", "discomfy.bot.commands.help", "discomfy.bot.commands.admin")


def describe_failure(exc: BaseException) -> str:
    """One readable reason for a plugin that failed to load (the traceback goes to the log)."""
    original = getattr(exc, "original", None) or exc.__cause__ or exc
    if isinstance(exc, commands.NoEntryPointError):
        return "it has no setup(bot) function; add `async def setup(bot): await bot.add_cog(...)`"
    # for the operator: a DisComfyError's detail names the file and the cause
    text = getattr(original, "detail", None) or str(original) or type(original).__name__
    return f"{type(original).__name__}: {text}"


async def load_plugins(bot: Any) -> LoadReport:
    """Load host extensions, packs, folder plugins and entry-point plugins; never raises."""
    report = bot.plugins.report
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
        bot.plugins.manager.register(WorkflowPack(source.name, source.manifest), name=source.name)
        report.add(source, "loaded")
    for source in code:
        if not is_enabled(bot.config, source.name):
            report.add(source, "disabled", "disabled in settings (plugins.enabled / plugins.disabled)")
            continue
        await _load_code_plugin(bot, source, report)
    # only now are all strategies known: a pack may use one a code plugin registers
    drop_broken_workflows(bot, report)
    await sync_workflow_cogs(bot, report)
    return report


KEPT = "the edit was not applied; the last good version keeps serving until the files are fixed"


def drop_broken_workflows(bot: Any, report: LoadReport,
                          last_good: dict[str, list[Any]] | None = None) -> dict[str, str]:
    """Report plugins whose workflows fail to load (or clash by name) and take broken packs out;
    a pack in ``last_good`` (hot reload) keeps serving those specs instead. Returns the reasons
    by plugin."""
    _, problems = bot.plugins.workflows.collect()
    for owner, reason in problems.items():
        plugin = bot.plugins.manager.get_plugin(owner)
        kept = (last_good or {}).get(owner)
        if isinstance(plugin, WorkflowPack):
            bot.plugins.manager.unregister(plugin)
            if kept:
                bot.plugins.manager.register(WorkflowPack(owner, plugin.manifest, specs=kept), name=owner)
        if kept:
            report.set(owner, "stale", f"{reason}\n{KEPT}")
        else:
            report.fail(owner, reason)
    if problems:
        bot.plugins.workflows.collect()
    return problems


async def sync_workflow_cogs(bot: Any, report: LoadReport | None = None) -> None:
    """Make every workflow command match the workflows loaded now: rebuild a cog whose
    workflows changed (a pack added, edited or removed; a pack that only became loadable once
    a later plugin registered its strategy), give a command only packs provide a host-made
    cog, and remove the host-made cog of a command no workflow provides any more."""
    for cog in [c for c in bot.cogs.values() if isinstance(c, WorkflowCog)]:
        host_made = type(cog) is WorkflowCog
        # a code plugin's own workflows change only when the plugin itself is reloaded
        now = cog.own_specs + bot.plugins.workflows.for_command(cog.command_name, owner=None if host_made else cog.owner,
                                                                lead=cog.owner)
        if now == cog.specs:  # specs compare by identity: an edited file is a new spec
            continue
        await bot.remove_cog(cog.qualified_name)
        if host_made:
            continue  # added back below, owned by whichever pack provides it now
        try:
            await bot.add_cog(type(cog)(bot))
        except Exception as exc:  # e.g. its own files are mid-edit: keep the command as it was
            await bot.add_cog(cog)
            if report is not None:
                report.set(cog.owner, "stale", f"/{cog.command_name}: {describe_failure(exc)}\n{KEPT}")
    specs = bot.plugins.workflows.all().values()
    owned = bot.plugins.command_owners
    for command in sorted({s.command for s in specs if s.command not in owned}):
        owners = sorted({s.plugin for s in specs if s.command == command})
        # the pack named like its command owns it (plugins/generate owns /generate, and its model
        # stays the default when a pack like workflows/sdxl joins); else the first by name
        owner = command if command in owners else owners[0]
        try:
            await bot.add_cog(WorkflowCog(bot, command_name=command, owner=owner))
        except Exception as exc:
            for owner in owners:
                if report is not None:
                    report.fail(owner, f"/{command}: {describe_failure(exc)}")


async def _load_code_plugin(bot: Any, source: PluginSource, report: LoadReport) -> None:
    assert source.module is not None
    bot.plugins.extension_plugins[source.module] = source.name
    try:
        if source.kind == "entrypoint" and not _has_setup(source.module):
            bot.plugins.manager.register(import_module(source.module), name=source.name)
        else:
            await bot.load_extension(source.module)
    except Exception as exc:  # one broken plugin never stops the others
        reason = describe_failure(exc)
        log.warning("plugin %s failed to load: %s", source.name, reason)
        log.debug("plugin %s traceback", source.name, exc_info=exc)
        bot.plugins.extension_plugins.pop(source.module, None)
        report.add(source, "failed", reason)
        return
    report.add(source, "loaded")


def _has_setup(module_name: str) -> bool:
    return hasattr(import_module(module_name), "setup")
