"""Development hot reload: a changed plugin file reloads its plugin, atomically.

discord.py's ``reload_extension`` keeps the old module when the new one fails to import or set
up, so a broken edit leaves the previous version serving users; we only report why. A changed
data pack is re-registered and the plugin owning its command is reloaded so the command picks
the pack up. Afterwards the development guild is re-synced only if the tree actually changed.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Iterable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from discomfy.config import resolve_path
from discomfy.plugins import MANIFEST_NAME, PLUGIN_NAMESPACE, WorkflowPack
from discomfy.bot.plugin_loading import (
    add_pack_commands,
    describe_failure,
    drop_broken_workflows,
    rebuild_workflow_commands,
)

log = logging.getLogger(__name__)


@dataclass
class ReloadResult:
    reloaded: list[str] = field(default_factory=list)
    failed: dict[str, str] = field(default_factory=dict)
    synced: bool = False


class PluginReloader:
    def __init__(self, bot: Any) -> None:
        self.bot = bot
        self.plugin_dirs = [resolve_path(bot.config, d).resolve() for d in bot.config.plugins.dirs]
        self.pack_dirs = [resolve_path(bot.config, d).resolve() for d in bot.config.plugins.workflow_dirs]
        self.lock = asyncio.Lock()
        # every outcome, for whoever wants to report it (the log, a test waiting for a reload)
        self.results: asyncio.Queue[ReloadResult] = asyncio.Queue(maxsize=100)
        self.watching = asyncio.Event()

    def owners_of(self, paths: Iterable[str | Path]) -> tuple[set[str], set[str]]:
        """(plugin extensions to reload, packs to re-register) for a set of changed files."""
        extensions: set[str] = set()
        packs: set[str] = set()
        for raw in paths:
            path = Path(raw).resolve()
            for folder in self.plugin_dirs:
                if path.is_relative_to(folder) and path != folder:
                    extensions.add(f"{PLUGIN_NAMESPACE}.{path.relative_to(folder).parts[0]}")
            for folder in self.pack_dirs:
                if path.is_relative_to(folder) and path != folder:
                    packs.add(path.relative_to(folder).parts[0])
        return extensions, packs

    async def handle_changes(self, paths: Iterable[str | Path]) -> ReloadResult:
        async with self.lock:
            extensions, packs = self.owners_of(paths)
            result = ReloadResult()
            for extension in sorted(extensions):
                await self._reload(extension, result)
            if packs:
                for pack in sorted(packs):
                    self._reregister_pack(pack)
                # a broken pack is reported and left out; the commands keep the others
                problems = drop_broken_workflows(self.bot, self.bot.load_report)
                result.failed.update({pack: problems[pack] for pack in packs & set(problems)})
                await rebuild_workflow_commands(self.bot, self.bot.load_report)
                await add_pack_commands(self.bot)
                result.reloaded.extend(sorted(packs - set(result.failed)))
            if result.reloaded:
                result.synced = await self.bot.command_syncer.sync_dev_guild()
            if self.results.full():
                self.results.get_nowait()
            self.results.put_nowait(result)
            return result

    async def reload_all(self) -> ReloadResult:
        """Reload every plugin folder and pack (``/discomfy reload``)."""
        paths = [child for folder in self.plugin_dirs + self.pack_dirs if folder.is_dir()
                 for child in folder.iterdir() if child.is_dir() and not child.name.startswith((".", "_"))]
        return await self.handle_changes(paths)

    def _reregister_pack(self, pack: str) -> None:
        """Swap a pack's registration for one of the manifest on disk now (none if deleted)."""
        manager = self.bot.plugin_manager
        old = manager.get_plugin(pack)
        if old is not None:
            manager.unregister(old)
        manifest = next((d / pack / MANIFEST_NAME for d in self.pack_dirs if (d / pack / MANIFEST_NAME).is_file()), None)
        if manifest is not None:
            manager.register(WorkflowPack(pack, manifest), name=pack)

    async def _reload(self, extension: str, result: ReloadResult) -> None:
        plugin = extension.rsplit(".", 1)[-1]
        try:
            if extension in self.bot.extensions:
                await self.bot.reload_extension(extension)
            else:
                self.bot.extension_plugins[extension] = plugin
                await self.bot.load_extension(extension)
        except Exception as exc:
            reason = describe_failure(exc)
            log.error("reload of plugin %s failed; the previous version keeps running: %s", plugin, reason, exc_info=exc)
            result.failed[plugin] = reason
            return
        log.info("reloaded plugin %s", plugin)
        result.reloaded.append(plugin)

    async def watch(self) -> None:
        """Reload on every change under the plugin and pack folders until cancelled."""
        from watchfiles import awatch  # development extra only

        folders = [str(d) for d in self.plugin_dirs + self.pack_dirs if d.is_dir()]
        log.info("hot reload watching %s", ", ".join(folders))
        # yield_on_timeout: an empty batch every rust_timeout proves the watcher is running
        async for changes in awatch(*folders, debounce=200, step=50, rust_timeout=300, yield_on_timeout=True):
            self.watching.set()
            paths = [p for _, p in changes if not p.endswith((".pyc", "~")) and "__pycache__" not in p]
            if paths:
                result = await self.handle_changes(paths)
                for plugin, reason in result.failed.items():
                    log.warning("plugin %s not reloaded: %s", plugin, reason)
