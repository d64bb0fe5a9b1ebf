"""Loading a workflow manifest = reading it, then checking its contract with its template.

The two steps live apart (:mod:`.manifest` reads, :mod:`.contract` checks by rendering, which
needs the updater); this module is the one place that runs both, so nothing below it has to
import upwards.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from .contract import contract_check
from .manifest import WorkflowSpec, read_manifest
from .problems import PackLoadError


def load_manifest(path: str | Path, *, plugin: str | None = None, registry: Any = None,
                  check: bool = True) -> WorkflowSpec:
    """Read ``manifest.toml`` (or its directory) into a ``WorkflowSpec`` and, with ``check``,
    run the load-time contract check (binding targets exist, every parameter is written,
    defaults and examples render, using ``registry`` for strategy names). Raises
    ``PackLoadError`` listing every problem, each naming plugin, file, node and input."""
    spec = read_manifest(path, plugin=plugin)
    if check:
        found = contract_check(spec, registry=registry)
        if found:
            raise PackLoadError(found)
    return spec
