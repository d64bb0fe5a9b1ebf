"""``PluginHost``: everything about plugins on one bot, kept in step with discord.py.

A cog instance *is* the plugin: the bot's ``add_cog``/``remove_cog`` hand each cog to
:meth:`PluginHost.adding_cog`/:meth:`PluginHost.removed_cog`, which register and unregister it
with pluggy, so loading, unloading and reloading an extension changes its hooks atomically with
its commands. Who owns which slash command is read from the cogs loaded right now, never kept
beside them. The host also holds the workflow catalog, the command tree's syncer and the hot
reloader, and renders a workflow through every plugin's hooks.
"""

from __future__ import annotations

import asyncio
from dataclasses import replace
from typing import Any

import discord
from discord.ext import commands

from discomfy.bot.command_sync import CommandSyncer
from discomfy.bot.plugin_loading import load_plugins
from discomfy.bot.reload import PluginReloader
from discomfy.core.comfyui.workflows.catalog import WorkflowCatalog
from discomfy.core.comfyui.workflows.strategies import builtin_strategies
from discomfy.core.comfyui.workflows.updater import WorkflowUpdater
from discomfy.hookspecs import hookimpl
from discomfy.plugins import LoadReport, make_plugin_manager
from discomfy.utils.tasks import cancel_and_wait


def top_level_commands(cog: commands.Cog) -> list[str]:
    """The names a cog adds at the top of the slash command tree (a GroupCog adds its group)."""
    group = getattr(cog, "__cog_app_commands_group__", None)
    return [group.name] if group is not None else [c.name for c in cog.get_app_commands()]


class BuiltinStrategies:
    """The built-in updater strategies, offered through the same hook plugins use."""

    @hookimpl
    def discomfy_register_strategies(self) -> list[Any]:
        return builtin_strategies()


class PluginHost:
    def __init__(self, bot: commands.Bot, plugin_manager: Any = None) -> None:
        self.bot = bot
        self.manager = plugin_manager or make_plugin_manager()
        self.manager.register(BuiltinStrategies(), name="discomfy-strategies")
        self.report = LoadReport()
        # extension module -> plugin name (a cog's pluggy name is "<plugin>:<cog>")
        self.extension_plugins: dict[str, str] = {}
        self.workflows = WorkflowCatalog(self.manager)
        self.syncer = CommandSyncer(bot)
        self.reloader = PluginReloader(bot)  # `discomfy run --dev` and `/discomfy reload`
        self._watcher: asyncio.Task[None] | None = None

    # --- who owns what ----------------------------------------------------------------------

    def plugin_name_of(self, obj: Any) -> str:
        """The plugin a cog or module belongs to, from the extension that defined it."""
        if getattr(obj, "plugin_owner", None):
            return obj.plugin_owner
        module = getattr(obj, "__module__", None) or type(obj).__module__
        for extension, plugin in self.extension_plugins.items():
            if module == extension or module.startswith(extension + "."):
                return plugin
        return module

    @property
    def command_owners(self) -> dict[str, str]:
        """Slash command name -> the plugin that owns it, read from the cogs loaded right now:
        the one source of truth, so removing a cog can never leave a stale owner behind."""
        return {name: self.plugin_name_of(cog) for cog in self.bot.cogs.values() for name in top_level_commands(cog)}

    # --- cogs in step with pluggy -----------------------------------------------------------

    def adding_cog(self, cog: commands.Cog) -> None:
        """Before discord.py adds ``cog``: refuse a command another plugin owns (naming both),
        then register the cog's hooks."""
        owner = self.plugin_name_of(cog)
        owners = self.command_owners
        for command_name in top_level_commands(cog):
            current = owners.get(command_name)
            if current is not None and current != owner:
                raise discord.ClientException(
                    f"duplicate command /{command_name}: owned by plugin {current!r} and by plugin {owner!r}; "
                    "disable one in settings (plugins.disabled) or rename its command"
                )
        self.manager.register(cog, name=f"{owner}:{cog.qualified_name}")

    def removed_cog(self, cog: commands.Cog | None) -> None:
        """After discord.py removed ``cog`` (or refused to add it): unregister its hooks."""
        if cog is not None and self.manager.is_registered(cog):
            self.manager.unregister(cog)

    # --- loading ----------------------------------------------------------------------------

    async def load(self) -> LoadReport:
        """Load every plugin the settings point at; the report says what happened to each."""
        return await load_plugins(self.bot)

    def watch(self) -> None:
        """Start hot reload (``discomfy run --dev``); it stops with :meth:`close`."""
        self._watcher = asyncio.create_task(self.reloader.watch(), name="hot-reload")

    async def close(self) -> None:
        await cancel_and_wait(self._watcher)

    # --- what the plugins provide together --------------------------------------------------

    def autocompleters(self) -> dict[str, Any]:
        """Parameter name -> async provider, from every plugin's ``discomfy_register_autocomplete``."""
        merged: dict[str, Any] = {}
        for result in self.manager.hook.discomfy_register_autocomplete():
            merged.update(result or {})
        return merged

    def updater(self) -> WorkflowUpdater:
        return WorkflowUpdater(self.workflows.registry())

    def render(self, spec: Any, options: dict[str, Any], user_id: int, *, explicit: Any = None) -> Any:
        """Validate options against the workflow's schema and render its graph (no I/O).

        ``explicit`` names the options the user gave (default: every option not None); the
        ``discomfy_prepare_parameters`` hooks fill the others and say so in ``sources``."""
        given = frozenset(k for k, v in options.items() if v is not None) if explicit is None else frozenset(explicit)
        sources: dict[str, str] = {}

        def prepare(values: dict[str, Any]) -> None:
            self.manager.hook.discomfy_prepare_parameters(
                workflow=spec, parameters=values, user_id=user_id, explicit=given, sources=sources)

        rendered = self.updater().render(spec, options, prepare=prepare)
        return replace(rendered, sources=dict(sources))

    def default_model(self, command: str, user_id: int) -> str | None:
        """The model ``user_id`` gets for ``/command`` when they pick none (a plugin's answer to
        ``discomfy_default_model``), or None for the command's first."""
        return self.manager.hook.discomfy_default_model(command=command, user_id=user_id)
