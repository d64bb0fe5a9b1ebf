"""``WorkflowCog``: a plugin's slash command, built from the workflows that share its name.

A model plugin is a few lines: subclass, name the command and its manifest, call
``self.run`` from the handler. Options, ranges, choices and autocomplete all come from the
workflows' schemas; every command and button goes through the one generation flow
(:mod:`discomfy.bot.generation`), so no plugin re-implements validation, queueing or delivery.
"""

from __future__ import annotations

import inspect
import logging
from pathlib import Path
from collections.abc import Awaitable, Callable
from typing import Any, ClassVar

import discord
from discord import app_commands
from discord.ext import commands

from discomfy.bot.command_builder import build_command
from discomfy.core.comfyui.workflows.commands import group_commands
from discomfy.hookspecs import hookimpl

MAX_AUTOCOMPLETE = 25
log = logging.getLogger(__name__)


class WorkflowCog(commands.Cog):
    """Base cog for commands backed by workflows.

    ``command_name`` names the slash command; ``manifest_files`` (relative to the subclass's
    module folder) are the workflows this plugin ships. Workflows other plugins or data packs
    register for the same command join it as extra ``model`` choices.
    """

    command_name: ClassVar[str] = ""
    command_description: ClassVar[str | None] = None
    manifest_files: ClassVar[tuple[str, ...]] = ()

    # what the slash command calls: the subclass's ``<command>_command_handler`` (the API.md
    # names), bound once when the class is defined; ``run`` (the shared flow) when it has none
    command_handler: ClassVar[Callable[..., Awaitable[None]] | None] = None
    _folder: ClassVar[Path] = Path(__file__).parent

    def __init_subclass__(cls, **kwargs: Any) -> None:
        super().__init_subclass__(**kwargs)
        # found now, while the module is imported: discord.py's reload fallback rebuilds the old
        # cog after the module has left sys.modules, when inspect could no longer find it
        cls._folder = Path(inspect.getfile(cls)).parent
        handlers = sorted(name for name, value in vars(cls).items()
                          if name.endswith("_command_handler") and callable(value))
        if len(handlers) > 1:
            raise TypeError(f"{cls.__name__} defines {len(handlers)} command handlers ({', '.join(handlers)}); "
                            "a WorkflowCog has one slash command, so keep one")
        if handlers and "command_handler" not in vars(cls):  # an explicit one wins
            cls.command_handler = vars(cls)[handlers[0]]

    def __init__(self, bot: Any, *, command_name: str | None = None, owner: str | None = None) -> None:
        self.bot = bot
        self.command_name = command_name or self.command_name
        if command_name:  # a host-made cog for a command only data packs provide
            self.__cog_name__ = f"workflow:{command_name}"
        if owner:
            self.plugin_owner = owner  # bot.plugins.plugin_name_of reads it: this cog belongs to a pack
        self.owner = bot.plugins.plugin_name_of(self)
        self.own_manifests = self.workflow_sources()
        self.specs = bot.plugins.workflows.for_command(self.command_name, extra=self.own_manifests,
                                               owner=self.owner if self.own_manifests else None)
        if not self.specs:
            raise ValueError(f"no workflow is registered for /{self.command_name}")
        # this plugin's own workflows as loaded now: the rest of the host sees exactly the
        # version this command was built from, even while an edit on disk is broken
        self.own_specs = self.specs[:len(self.own_manifests)]
        self.slash_command = self._build_command()
        self.__cog_app_commands__.append(self.slash_command)

    def workflow_sources(self) -> list[Any]:
        """This plugin's workflows: its ``manifest_files`` (paths beside the module). Override to
        hand out loaded specs instead, e.g. a template adapted to a setting."""
        return [self._folder / name for name in self.manifest_files]

    # --- hooks: this plugin's workflows are visible to the rest of the host ----------------

    @hookimpl
    def discomfy_register_workflows(self) -> list[Any]:
        return list(self.own_specs)

    # --- the slash command ------------------------------------------------------------------

    def _build_command(self) -> app_commands.Command:
        self.command = group_commands(self.specs)[self.command_name]
        # providers are looked up at call time, so a plugin loaded later still completes
        completed = {o.name for o in self.command.options if o.autocomplete} | set(self.bot.plugins.autocompleters())
        handler = self.command_handler or WorkflowCog.run
        return build_command(
            self.command,
            handler.__get__(self),
            autocompleters={name: self._autocompleter(name) for name in completed},
            description=self.command_description,
        )

    def _autocompleter(self, parameter: str) -> Any:
        async def complete(interaction: discord.Interaction, current: str) -> list[app_commands.Choice[str]]:
            provider = self.bot.plugins.autocompleters().get(parameter)
            if provider is None:
                return []
            try:
                pairs = await provider(self.bot, current)
            except Exception:  # e.g. ComfyUI down: no suggestions beats an error popup
                log.warning("autocomplete for %s failed", parameter, exc_info=True)
                return []
            return [app_commands.Choice(name=str(label)[:100], value=str(value)[:100]) for label, value in pairs[:MAX_AUTOCOMPLETE]]

        return complete

    async def run(self, interaction: discord.Interaction, options: dict[str, Any]) -> None:
        """The shared generation flow: validate, queue, follow, deliver."""
        await self.bot.jobs.generation.from_command(interaction, self.command, options)
