"""Runs one node of a prompt through the fake's registry of node semantics.

The built-in semantics are registered by the modules imported here (real image nodes with
Pillow, simulated model nodes); see :mod:`.semantics` for how to add more. A node without
semantics fails with ``execution_error`` instead of passing its input through.
"""

from __future__ import annotations

from typing import Any

# Imported for their registrations into semantics.BUILTIN.
from discomfy.testing.fake_comfyui import image_nodes, io_nodes, mask_nodes, model_nodes, upscale_nodes, video_nodes  # noqa: F401
from discomfy.testing.fake_comfyui.semantics import (
    BUILTIN, NodeContext, NodeFailure, NodeRegistry, NodeResult, no_semantics_message,
)
from discomfy.testing.fake_comfyui.storage import FileStore


class NodeRunner:
    """Executes one node given resolved inputs; file output goes to a :class:`FileStore`."""

    def __init__(self, files: FileStore, registry: NodeRegistry | None = None) -> None:
        self.files = files
        self.registry = registry if registry is not None else BUILTIN.copy()

    def is_simulated(self, class_type: str) -> bool:
        semantics = self.registry.get(class_type)
        return bool(semantics and semantics.simulated)

    def run(self, node_id: str, class_type: str, info: dict[str, Any], inputs: dict[str, Any],
            simulated: tuple[str, ...] = ()) -> NodeResult:
        semantics = self.registry.get(class_type)
        if semantics is None:
            raise NodeFailure(no_semantics_message(node_id, class_type) + "\n", "NotImplementedError")
        context = NodeContext(node_id, class_type, info, self.files, simulated)
        return semantics.run(context, **inputs)

