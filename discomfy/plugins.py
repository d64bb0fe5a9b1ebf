"""Plugin discovery, the pluggy manager, and the load report.

Plugins come from three places, all ending up in one pluggy manager:

* **built-in folders** (``plugins.dirs``; an installed wheel's own copy stands in for a missing
  ``plugins``, see :mod:`discomfy.shipped`): each ``<dir>/<name>/__init__.py`` is a discord.py
  extension imported as ``discomfy_plugins.<name>``. Nothing named ``plugins`` is ever
  installed into site-packages: the folders are mounted under a private namespace package.
  A folder there with a ``manifest.toml`` and no ``__init__.py`` is a data pack: a model plugin
  that is only its workflow (``plugins/generate``) needs no Python.
* **data packs** (``plugins.workflow_dirs``, and the code-less folders above): each
  ``<dir>/<name>/manifest.toml`` is a workflow with no Python; a :class:`WorkflowPack` object
  stands in for it in pluggy, and the host makes its slash command.
* **entry points** in the ``discomfy.plugins`` group of any installed distribution: the target
  module is loaded as an extension when it has ``setup``, else registered for its hooks.

Discovery never imports plugin code; loading happens in the bot (``add_cog`` registers each cog
with pluggy), so one broken plugin is reported and never stops the others.
"""

from __future__ import annotations

import sys
import types
from collections.abc import Iterable
from dataclasses import dataclass, field
from importlib import metadata
from pathlib import Path
from typing import Any

import pluggy

from discomfy import hookspecs
from discomfy.hookspecs import hookimpl
from discomfy.shipped import folders

PLUGIN_NAMESPACE = "discomfy_plugins"
ENTRY_POINT_GROUP = "discomfy.plugins"
MANIFEST_NAME = "manifest.toml"


@dataclass(frozen=True)
class PluginSource:
    """Where one plugin comes from, known before any of its code runs."""

    name: str
    kind: str  # "builtin" | "pack" | "entrypoint"
    origin: str  # a folder or "distribution X", for humans
    module: str | None = None  # import name, for code plugins
    manifest: Path | None = None  # for data packs


@dataclass
class PluginStatus:
    name: str
    kind: str
    origin: str
    state: str  # "loaded" | "disabled" | "failed" | "stale" (an edit failed; the last good version serves)
    reason: str = ""


@dataclass
class LoadReport:
    """What happened to every discovered plugin; printed by ``discomfy check`` and at start."""

    entries: list[PluginStatus] = field(default_factory=list)

    def add(self, source: PluginSource, state: str, reason: str = "") -> None:
        self.entries.append(PluginStatus(source.name, source.kind, source.origin, state, reason))

    def fail(self, name: str, reason: str) -> None:
        """Mark an already listed plugin (or a new name) as failed, e.g. at a later check."""
        for entry in self.entries:
            if entry.name == name:
                entry.state, entry.reason = "failed", reason
                return
        self.entries.append(PluginStatus(name, "unknown", "", "failed", reason))

    def set(self, name: str, state: str, reason: str = "", *, kind: str = "unknown", origin: str = "") -> None:
        """Record a plugin's state after a hot reload (kind and origin kept when already listed)."""
        for entry in self.entries:
            if entry.name == name:
                entry.state, entry.reason = state, reason
                return
        self.entries.append(PluginStatus(name, kind, origin, state, reason))

    def remove(self, name: str) -> None:
        """Forget a plugin whose files were deleted."""
        self.entries = [e for e in self.entries if e.name != name]

    @property
    def failed(self) -> list[PluginStatus]:
        return [e for e in self.entries if e.state == "failed"]

    def names(self, state: str) -> list[str]:
        return [e.name for e in self.entries if e.state == state]

    def format(self) -> str:
        lines = []
        for e in sorted(self.entries, key=lambda e: (e.state != "failed", e.name)):
            line = f"  {e.state:<8} {e.name:<16} ({e.kind}: {e.origin})"
            if e.reason:
                line += "\n" + "\n".join(f"             {part}" for part in e.reason.splitlines())
            lines.append(line)
        summary = ", ".join(
            f"{len(self.names(s))} {s}" for s in ("loaded", "stale", "disabled", "failed") if self.names(s)
        )
        return f"Plugins ({summary or 'none found'}):\n" + "\n".join(lines)


class WorkflowPack:
    """The pluggy stand-in for a data pack: it only contributes its manifest.

    With ``specs`` it contributes those loaded workflows instead of reading its files: hot reload
    keeps a pack's last good version serving this way while an edit on disk is broken."""

    def __init__(self, name: str, manifest: Path, specs: list[Any] | None = None) -> None:
        self.name = name
        self.manifest = manifest
        self.specs = specs

    @hookimpl
    def discomfy_register_workflows(self) -> list[Any]:
        return list(self.specs) if self.specs else [self.manifest]


def make_plugin_manager() -> pluggy.PluginManager:
    manager = pluggy.PluginManager(hookspecs.PROJECT_NAME)
    manager.add_hookspecs(hookspecs)
    return manager


def mount_plugin_folders(folders: Iterable[Path]) -> types.ModuleType:
    """Make ``discomfy_plugins.<name>`` importable from exactly the given folders."""
    package = sys.modules.get(PLUGIN_NAMESPACE)
    if package is None:
        package = types.ModuleType(PLUGIN_NAMESPACE, "DisComfy plugin folders, mounted at run time.")
        package.__path__ = []  # type: ignore[attr-defined]
        sys.modules[PLUGIN_NAMESPACE] = package
    package.__path__[:] = [str(Path(folder).resolve()) for folder in folders]  # type: ignore[attr-defined]
    return package


def _children_with(folders: Iterable[Path], marker: str) -> list[Path]:
    """Sub-folders (sorted, per folder in order) that contain ``marker``."""
    return [child for folder in folders if folder.is_dir()
            for child in sorted(folder.iterdir()) if (child / marker).is_file()]


def _folder_plugins(folders: Iterable[Path]) -> list[PluginSource]:
    return [PluginSource(child.name, "builtin", str(child), module=f"{PLUGIN_NAMESPACE}.{child.name}")
            for child in _children_with(folders, "__init__.py")]


def is_code_less(folder: Path) -> bool:
    """A plugin folder that is only a workflow: a manifest and no Python of its own."""
    return (folder / MANIFEST_NAME).is_file() and not (folder / "__init__.py").is_file()


def _packs(folders: Iterable[Path], *, code_less_only: bool = False) -> list[PluginSource]:
    return [PluginSource(child.name, "pack", str(child), manifest=child / MANIFEST_NAME)
            for child in _children_with(folders, MANIFEST_NAME) if not code_less_only or is_code_less(child)]


def _entry_point_plugins() -> list[PluginSource]:
    found = []
    for ep in metadata.entry_points(group=ENTRY_POINT_GROUP):
        dist = getattr(ep, "dist", None)
        origin = f"distribution {dist.name}" if dist is not None else "entry point"
        found.append(PluginSource(ep.name, "entrypoint", origin, module=ep.value.split(":")[0]))
    return found


def discover(config: Any) -> tuple[list[PluginSource], list[tuple[PluginSource, str]]]:
    """Every plugin the settings point at, plus the ones refused as duplicates (with reason).

    The first source of a name wins; a later one with the same name is refused naming both,
    because loading either silently would leave the owner guessing which one runs.
    """
    plugin_dirs = folders(config, "dirs")
    pack_dirs = folders(config, "workflow_dirs")
    mount_plugin_folders(plugin_dirs)
    chosen: dict[str, PluginSource] = {}
    duplicates: list[tuple[PluginSource, str]] = []
    found = _folder_plugins(plugin_dirs) + _packs(plugin_dirs, code_less_only=True) + _packs(pack_dirs)
    for source in found + _entry_point_plugins():
        first = chosen.get(source.name)
        if first is None:
            chosen[source.name] = source
        else:
            duplicates.append(
                (source, f"duplicate plugin name {source.name!r}: {first.origin} and {source.origin}; rename one")
            )
    return list(chosen.values()), duplicates


def is_enabled(config: Any, name: str) -> bool:
    enabled = list(config.plugins.enabled or [])
    disabled = list(config.plugins.disabled or [])
    return name not in disabled and (not enabled or name in enabled)
