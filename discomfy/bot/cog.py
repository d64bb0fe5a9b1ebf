"""``WorkflowCog``: a plugin's slash command, built from the workflows that share its name.

A model plugin needs no code at all: a data pack (manifest, schema, workflow) gets a host-made
``WorkflowCog``. A plugin that does something of its own subclasses it, names the command and
its manifest, and marks the one method its slash command calls with :func:`command_handler`.
Options, ranges, choices and autocomplete all come from the workflows' schemas; every command
and button goes through the one generation flow (:mod:`discomfy.bot.generation`), so no plugin
re-implements validation, queueing or delivery.
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
HANDLER_MARK = "__discomfy_command_handler__"
log = logging.getLogger(__name__)


def command_handler(method: Callable[..., Awaitable[None]]) -> Callable[..., Awaitable[None]]:
    """Mark the method a ``WorkflowCog``'s slash command calls: ``async def f(self, interaction,
    options)``. Explicit, so that no handler is found, or missed, by how its name is spelt."""
    setattr(method, HANDLER_MARK, True)
    return method


def marked_handler(cls: type) -> Callable[..., Awaitable[None]] | None:
    """The one method ``cls`` itself marks with :func:`command_handler`, or None. Raises
    ``TypeError`` naming the class's module (its plugin) and the method when the marking is
    wrong: two handlers, one that is not ``async``, or a ``*_command_handler`` (the API.md
    names) left unmarked, which the slash command would silently never call."""
    where = f"{cls.__module__}.{cls.__qualname__}"
    members = {name: value for name, value in vars(cls).items() if callable(value)}
    marked = sorted(name for name, value in members.items() if getattr(value, HANDLER_MARK, False))
    unmarked = sorted(name for name in members if name.endswith("_command_handler") and name not in marked)
    if unmarked:
        raise TypeError(f"{where}.{unmarked[0]} is named like a command handler but not marked: put "
                        "@command_handler (from discomfy) above it, or rename it if the command must not call it")
    if len(marked) > 1:
        raise TypeError(f"{where} defines {len(marked)} command handlers ({', '.join(marked)}); "
                        "a WorkflowCog has one slash command, so keep one")
    if not marked:
        return None
    handler = members[marked[0]]
    if not inspect.iscoroutinefunction(handler):
        raise TypeError(f"{where}.{marked[0]} is marked @command_handler but is not `async def`")
    return handler


class WorkflowCog(commands.Cog):
    """Base cog for commands backed by workflows.

    ``command_name`` names the slash command; ``manifest_files`` (relative to the subclass's
    module folder) are the workflows this plugin ships. Workflows other plugins or data packs
    register for the same command join it as extra ``model`` choices.
    """

    command_name: ClassVar[str] = ""
    command_description: ClassVar[str | None] = None
    manifest_files: ClassVar[tuple[str, ...]] = ()

    # what the slash command calls: the method the class marks with @command_handler, found
    # once when the class is defined; ``run`` (the shared flow) when it marks none
    _handler: ClassVar[Callable[..., Awaitable[None]] | None] = None
    _folder: ClassVar[Path] = Path(__file__).parent

    def __init_subclass__(cls, **kwargs: Any) -> None:
        super().__init_subclass__(**kwargs)
        # found now, while the module is imported: discord.py's reload fallback rebuilds the old
        # cog after the module has left sys.modules, when inspect could no longer find it
        cls._folder = Path(inspect.getfile(cls)).parent
        cls._handler = marked_handler(cls) or cls._handler  # a subclass of a plugin's cog keeps its handler

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
                                                       owner=self.owner if self.own_manifests else None,
                                                       lead=self.owner)
        if not self.specs:
            raise ValueError(f"no workflow is registered for /{self.command_name}")
        # this plugin's own workflows as loaded now: the rest of the host sees exactly the
        # version this command was built from, even while an edit on disk is broken
        self.own_specs = self.specs[:len(self.own_manifests)]
        # API.md names the handler of /<command> `<command>_command_handler`: every workflow
        # command answers to it, a data pack's host-made one included
        setattr(self, f"{self.command_name}_command_handler", (self._handler or WorkflowCog.run).__get__(self))
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
        return build_command(
            self.command,
            getattr(self, f"{self.command_name}_command_handler"),
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
