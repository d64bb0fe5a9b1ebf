"""Development hot reload: a changed plugin file reloads its plugin, atomically.

discord.py's ``reload_extension`` keeps the old module when the new one fails to import or set
up, so a broken edit leaves the previous version serving users; we only report why. A changed
data pack is re-registered and the plugin owning its command is reloaded so the command picks
the pack up. A folder under ``plugins.dirs`` with a manifest and no ``__init__.py`` (a model
plugin that is only its workflow) reloads as a pack. Afterwards the development guild is
re-synced only if the tree actually changed.
"""

from __future__ import annotations

import asyncio
import importlib.util
import logging
from collections.abc import Iterable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from discomfy.plugins import MANIFEST_NAME, PLUGIN_NAMESPACE, WorkflowPack, is_code_less, is_enabled
from discomfy.shipped import folders
from discomfy.bot.plugin_loading import KEPT, describe_failure, drop_broken_workflows, sync_workflow_cogs

log = logging.getLogger(__name__)


@dataclass
class ReloadResult:
    reloaded: list[str] = field(default_factory=list)
    failed: dict[str, str] = field(default_factory=dict)
    kept: list[str] = field(default_factory=list)  # failed, but their last good version serves
    removed: list[str] = field(default_factory=list)  # plugin and pack folders deleted
    synced: bool = False


def forget_bytecode(folder: Path) -> None:
    """Delete the compiled modules of a plugin before it is imported again.

    Python trusts a cached module whose source has the same size and modification second, so an
    edit that keeps the size, saved within a second of the last import (v1 -> v2), would reload
    the old code."""
    for source in folder.rglob("*.py") if folder.is_dir() else ():
        Path(importlib.util.cache_from_source(str(source))).unlink(missing_ok=True)


class PluginReloader:
    def __init__(self, bot: Any) -> None:
        self.bot = bot
        self.plugin_dirs = folders(bot.config, "dirs")
        self.pack_dirs = folders(bot.config, "workflow_dirs")
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
                    name = path.relative_to(folder).parts[0]
                    extensions.add(f"{PLUGIN_NAMESPACE}.{name}")
                    if is_code_less(folder / name) or not (folder / name).exists():  # a pack, or gone
                        packs.add(name)
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
                self._reload_packs(packs, result)
            # commands follow the workflows loaded now; Discord hears of it only if the tree changed
            await sync_workflow_cogs(self.bot, self.bot.plugins.report)
            result.synced = await self.bot.plugins.syncer.sync_dev_guild()
            for plugin, reason in result.failed.items():
                if plugin in result.kept:
                    log.error("plugin %s: edit not applied, its last good version keeps serving: %s", plugin, reason)
                else:
                    log.error("plugin %s failed to load: %s", plugin, reason)
            if self.results.full():
                self.results.get_nowait()
            self.results.put_nowait(result)
            return result

    async def reload_all(self) -> ReloadResult:
        """Reload every plugin folder and pack (``/discomfy reload``)."""
        paths = [child for folder in self.plugin_dirs + self.pack_dirs if folder.is_dir()
                 for child in folder.iterdir() if child.is_dir() and not child.name.startswith((".", "_"))]
        return await self.handle_changes(paths)

    def _reload_packs(self, packs: set[str], result: ReloadResult) -> None:
        """Swap each pack's registration for the files on disk now; a pack whose edit is broken
        keeps the workflows it served before, a deleted one is unregistered."""
        bot, manager, report = self.bot, self.bot.plugins.manager, self.bot.plugins.report
        before = bot.plugins.workflows.all().values()
        last_good = {pack: [s for s in before if s.plugin == pack] for pack in packs}
        present: dict[str, Path] = {}
        for pack in sorted(packs):
            old = manager.get_plugin(pack)
            if old is not None and not isinstance(old, WorkflowPack):
                continue  # a code plugin or an entry point of that name owns it
            if old is not None:
                manager.unregister(old)
            manifest = self._pack_manifest(pack)
            if manifest is None:
                if old is not None:
                    report.remove(pack)
                    result.removed.append(pack)
                continue
            if not is_enabled(bot.config, pack):
                continue
            manager.register(WorkflowPack(pack, manifest), name=pack)
            present[pack] = manifest
        problems = drop_broken_workflows(bot, report, last_good)
        for pack, manifest in present.items():
            if pack in problems:
                result.failed[pack] = problems[pack]
                if last_good[pack]:
                    result.kept.append(pack)
            else:
                report.set(pack, "loaded", kind="pack", origin=str(manifest.parent))
                result.reloaded.append(pack)

    def _pack_manifest(self, pack: str) -> Path | None:
        """Where pack ``pack`` lives now, searched in discovery's order (None when deleted)."""
        code_less = [d / pack for d in self.plugin_dirs if is_code_less(d / pack)]
        in_packs = [d / pack for d in self.pack_dirs if (d / pack / MANIFEST_NAME).is_file()]
        return next((folder / MANIFEST_NAME for folder in code_less + in_packs), None)

    async def _reload(self, extension: str, result: ReloadResult) -> None:
        bot, plugin = self.bot, extension.rsplit(".", 1)[-1]
        loaded = extension in bot.extensions
        if not any((d / plugin / "__init__.py").is_file() for d in self.plugin_dirs):
            if loaded:  # its folder was deleted: so are its commands
                await bot.unload_extension(extension)
                bot.plugins.report.remove(plugin)
                result.removed.append(plugin)
            return
        for folder in self.plugin_dirs:
            forget_bytecode(folder / plugin)
        try:
            if loaded:
                self._check_workflows(plugin)
                await bot.reload_extension(extension)
            else:
                bot.plugins.extension_plugins[extension] = plugin
                await bot.load_extension(extension)
        except Exception as exc:
            reason = describe_failure(exc)
            log.debug("reload of plugin %s failed", plugin, exc_info=exc)
            result.failed[plugin] = reason
            if extension in bot.extensions:  # discord.py kept the old module, or we never replaced it
                result.kept.append(plugin)
                bot.plugins.report.set(plugin, "stale", f"{reason}\n{KEPT}")
            else:
                bot.plugins.report.fail(plugin, reason)
            return
        log.info("reloaded plugin %s", plugin)
        origin = next((str(d / plugin) for d in self.plugin_dirs if (d / plugin).is_dir()), "")
        bot.plugins.report.set(plugin, "loaded", kind="builtin", origin=origin)
        result.reloaded.append(plugin)

    def _check_workflows(self, plugin: str) -> None:
        """Load the workflows a code plugin ships before reloading it: discord.py's fallback
        would rebuild the old cog from the same broken files, losing the command."""
        for cog in list(self.bot.cogs.values()):
            if self.bot.plugins.plugin_name_of(cog) == plugin:
                for manifest in getattr(cog, "own_manifests", ()):
                    self.bot.plugins.workflows.load(manifest, plugin)

    async def watch(self) -> None:
        """Reload on every change under the plugin and pack folders until cancelled."""
        # here, not at the top: watchfiles is an optional dependency (the dev and test extras),
        # and the bot without --dev, `discomfy check` and `/discomfy reload` run without it
        from watchfiles import awatch

        folders = [str(d) for d in self.plugin_dirs + self.pack_dirs if d.is_dir()]
        log.info("hot reload watching %s", ", ".join(folders))
        # yield_on_timeout: an empty batch every rust_timeout proves the watcher is running
        async for changes in awatch(*folders, debounce=200, step=50, rust_timeout=300, yield_on_timeout=True):
            self.watching.set()
            paths = [p for _, p in changes if not p.endswith((".pyc", "~")) and "__pycache__" not in p]
            if paths:
                try:
                    await self.handle_changes(paths)
                except Exception:  # a bug here must not end hot reload for the rest of the session
                    log.exception("hot reload of %s failed", ", ".join(paths))
