"""Loading every pack in a directory so one broken pack never stops the others.

``discomfy check`` and bot start both need "load what can be loaded, report the rest":
``load_packs`` returns the loaded specs and the problems of the ones that failed, each
problem naming plugin, file, node and input.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from .loading import load_manifest
from .manifest import MANIFEST_NAME, WorkflowSpec, read_manifest_toml
from .problems import PackLoadError, Problem


@dataclass
class PackReport:
    """``specs`` loaded fine; ``problems`` explain every pack that did not (or ``duplicates``)."""

    specs: list[WorkflowSpec] = field(default_factory=list)
    problems: list[Problem] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        return not self.problems


def load_packs(directory: str | Path, *, registry: Any = None, check: bool = True) -> PackReport:
    """Load every ``<directory>/<pack>/manifest.toml`` (packs without one are skipped; a
    missing directory is simply empty). Each pack's plugin name is its directory name."""
    report = PackReport()
    root = Path(directory)
    if not root.is_dir():
        return report
    for manifest in sorted(root.glob(f"*/{MANIFEST_NAME}")):
        plugin = manifest.parent.name
        try:
            if read_manifest_toml(manifest, plugin).get("kind", "workflow") != "workflow":
                continue
            report.specs.append(load_manifest(manifest, plugin=plugin, registry=registry, check=check))
        except PackLoadError as exc:
            report.problems.extend(exc.problems)
    report.problems.extend(duplicate_names(report.specs))
    return report


def duplicate_names(specs: list[WorkflowSpec]) -> list[Problem]:
    """Two workflows with one name, or one command offering one model twice, name both owners."""
    problems: list[Problem] = []
    seen: dict[str, WorkflowSpec] = {}
    models: dict[tuple[str, str], WorkflowSpec] = {}
    for spec in specs:
        if spec.name in seen:
            problems.append(Problem(spec.plugin, spec.manifest_file, f"workflow name `{spec.name}` "
                                    f"is already used by plugin {seen[spec.name].plugin}"))
        seen.setdefault(spec.name, spec)
        key = (spec.command, spec.model)
        if key in models and models[key] is not spec:
            problems.append(Problem(spec.plugin, spec.manifest_file, f"/{spec.command} already has a "
                                    f"model `{spec.model}` (from plugin {models[key].plugin})"))
        models.setdefault(key, spec)
    return problems
