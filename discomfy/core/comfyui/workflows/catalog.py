"""Every workflow the loaded plugins contribute, by name and by command.

Workflows come from the ``discomfy_register_workflows`` hook (manifest paths or loaded specs),
and are loaded with the strategies the ``discomfy_register_strategies`` hook provides, so a
plugin can add a strategy that another plugin's manifest uses. Two workflows with the same
name are refused naming both owners.
"""

from __future__ import annotations

from collections.abc import Iterable
from pathlib import Path
from typing import Any

from discomfy.core.comfyui.workflows.strategies import StrategyRegistry
from discomfy.core.comfyui.workflows.loaded import load_shared
from discomfy.core.comfyui.workflows.loading import load_manifest
from discomfy.core.comfyui.workflows.manifest import WorkflowSpec
from discomfy.exceptions import WorkflowError


class WorkflowCatalog:
    def __init__(self, plugin_manager: Any) -> None:
        self.plugin_manager = plugin_manager
        self._by_name: dict[str, WorkflowSpec] = {}

    # --- strategies -------------------------------------------------------------------------

    def registry(self) -> Any:
        """The strategy registry: built-ins plus every plugin's ``discomfy_register_strategies``."""
        return StrategyRegistry(self._strategies())

    def _strategies(self) -> list[Any]:
        return [s for result in self.plugin_manager.hook.discomfy_register_strategies() for s in result or []]

    # --- loading ----------------------------------------------------------------------------

    def load(self, item: Any, owner: str) -> WorkflowSpec:
        """A spec from a hook result item (path or spec), reused until a file of its folder
        (manifest, template or schema) changes, so hot reload sees every edit (:mod:`.loaded`)."""
        if isinstance(item, WorkflowSpec):
            return item
        path = Path(item)
        manifest = path / "manifest.toml" if path.is_dir() else path
        strategies = self._strategies()
        return load_shared(manifest, owner, strategies, lambda: load_manifest(
            manifest, plugin=owner, registry=StrategyRegistry(strategies)))

    def registered(self) -> list[tuple[str, Any]]:
        """(owner plugin, item) for every workflow every registered plugin contributes."""
        found = []
        for impl in self.plugin_manager.hook.discomfy_register_workflows.get_hookimpls():
            owner = self.plugin_manager.get_name(impl.plugin) or impl.plugin_name
            owner = owner.split(":", 1)[0]
            for item in impl.function() or []:
                found.append((owner, item))
        return found

    def collect(self, extra: Iterable[tuple[str, Any]] = ()) -> tuple[dict[str, WorkflowSpec], dict[str, str]]:
        """All loadable specs by name, and problems by owning plugin (load errors, duplicates)."""
        specs: dict[str, WorkflowSpec] = {}
        problems: dict[str, str] = {}
        for owner, item in [*self.registered(), *extra]:
            try:
                spec = self.load(item, owner)
            except WorkflowError as exc:
                problems[owner] = exc.detail
                continue
            first = specs.get(spec.name)
            if first is not None and first.plugin != spec.plugin:
                problems[owner] = (
                    f"duplicate workflow name {spec.name!r}: owned by plugin {first.plugin!r} and by plugin "
                    f"{spec.plugin!r}; set a different `name` in one manifest"
                )
                continue
            specs[spec.name] = spec
        self._by_name = specs
        return specs, problems

    # --- queries ----------------------------------------------------------------------------

    def for_command(self, command: str, *, extra: Iterable[Path] = (), owner: str | None = None,
                    lead: str | None = None) -> list[WorkflowSpec]:
        """The workflows of one command: the owner's own first (its first is the default model),
        then those other plugins and packs registered, ``lead``'s first (the pack that owns a
        command no code plugin does), the rest by name. The owner's own load errors raise."""
        own = [self.load(path, owner or "") for path in extra]
        specs, _ = self.collect()
        others = [s for s in specs.values() if s.command == command and (owner is None or s.plugin != owner)]
        for spec in own:
            self._by_name[spec.name] = spec
        return own + sorted(others, key=lambda s: (s.plugin != lead, s.name))

    def get(self, name: str) -> WorkflowSpec | None:
        if name not in self._by_name:
            self.collect()
        return self._by_name.get(name)

    def all(self) -> dict[str, WorkflowSpec]:
        return dict(self._by_name)
