"""``ComfyUIBot``: the discord.py bot that owns config, plugins, ComfyUI and the job machinery.

Nothing here is global: ``discomfy run`` and the tests both build a config, hand it to this
class and start it the same way (the settings may point discord.py at another API base and
gateway, which is how tests reach the loopback emulator).
"""

from __future__ import annotations

import logging
from typing import Any

import discord
from discord.ext import commands

from discomfy.plugins import LoadReport, make_plugin_manager

log = logging.getLogger(__name__)

# DisComfy never joins voice; don't warn every start that voice libraries are absent.
discord.VoiceClient.warn_nacl = False
discord.VoiceClient.warn_dave = False


class ComfyUIBot(commands.Bot):
    """The bot. Its ``add_cog``/``remove_cog`` keep the pluggy manager in step with discord.py,
    so a cog instance *is* the plugin: loading, unloading and reloading an extension registers,
    unregisters and re-registers its hooks atomically with its commands."""

    def __init__(self, config: Any, *, plugin_manager: Any = None, **options: Any) -> None:
        options.setdefault("intents", discord.Intents.default())
        options.setdefault("help_command", None)
        super().__init__(command_prefix=commands.when_mentioned, **options)
        self.config = config
        self.plugin_manager = plugin_manager or make_plugin_manager()
        self.load_report = LoadReport()
        # extension module -> plugin name, and pluggy registration name -> owning plugin
        self.extension_plugins: dict[str, str] = {}
        self.plugin_owners: dict[str, str] = {}
        # slash command name -> plugin that owns it (to name both owners on a clash)
        self.command_owners: dict[str, str] = {}

    # --- plugins ----------------------------------------------------------------------------

    def plugin_name_of(self, obj: Any) -> str:
        """The plugin a cog or module belongs to, from the extension that defined it."""
        module = getattr(obj, "__module__", None) or type(obj).__module__
        for extension, plugin in self.extension_plugins.items():
            if module == extension or module.startswith(extension + "."):
                return plugin
        return module

    async def add_cog(self, cog: commands.Cog, /, **kwargs: Any) -> None:
        owner = self.plugin_name_of(cog)
        name = f"{owner}:{cog.qualified_name}"
        self._claim_commands(cog, owner)
        self.plugin_manager.register(cog, name=name)
        self.plugin_owners[name] = owner
        try:
            await super().add_cog(cog, **kwargs)
        except BaseException:
            self.plugin_manager.unregister(cog)
            self.plugin_owners.pop(name, None)
            self._release_commands(owner)
            raise

    async def remove_cog(self, name: str, /, **kwargs: Any) -> commands.Cog | None:
        cog = await super().remove_cog(name, **kwargs)
        if cog is not None and self.plugin_manager.is_registered(cog):
            plugin_name = self.plugin_manager.get_name(cog)
            self.plugin_manager.unregister(cog)
            owner = self.plugin_owners.pop(plugin_name, None)
            if owner is not None and owner not in self.plugin_owners.values():
                self._release_commands(owner)
        return cog

    def _claim_commands(self, cog: commands.Cog, owner: str) -> None:
        """Refuse a cog whose slash command another plugin already owns, naming both."""
        names = [c.name for c in cog.get_app_commands()]
        for command_name in names:
            current = self.command_owners.get(command_name)
            if current is not None and current != owner:
                raise discord.ClientException(
                    f"duplicate command /{command_name}: owned by plugin {current!r} and by plugin {owner!r}; "
                    "disable one in settings (plugins.disabled) or rename its command"
                )
        for command_name in names:
            self.command_owners[command_name] = owner

    def _release_commands(self, owner: str) -> None:
        for command_name in [n for n, o in self.command_owners.items() if o == owner]:
            del self.command_owners[command_name]

    async def load_plugins(self) -> LoadReport:
        """Load every plugin the settings point at; the report says what happened to each."""
        from discomfy.bot.plugin_loading import load_plugins

        return await load_plugins(self)
