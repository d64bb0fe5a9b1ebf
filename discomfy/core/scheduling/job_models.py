"""The model files a job makes its server load: what model-aware scheduling groups jobs by.

Read from the graph the job will queue (after its parameters are written), so a model
picked by a parameter counts, not only the template's default. LoRAs are left out: they
patch a loaded model in a moment, whereas reading a checkpoint from disk takes tens of seconds.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from discomfy.core.comfyui.workflows.manifest import KNOWN_MODEL_INPUTS

#: (node class, input) pairs naming a model file that takes a real load, LoRAs excepted.
MODEL_INPUTS: frozenset[tuple[str, str]] = frozenset(
    tuple(target.split(".", 1)) for target, kind in KNOWN_MODEL_INPUTS.items() if kind != "LoRA"
) | {("UpscaleModelLoader", "model_name"), ("CLIPVisionLoader", "clip_name")}


def models_of(graph: Mapping[str, Any] | Any) -> frozenset[str]:
    """Model files an API-format graph (or a ``RenderedWorkflow``) loads."""
    nodes = getattr(graph, "graph", graph)
    found: set[str] = set()
    for node in nodes.values():
        if not isinstance(node, Mapping):
            continue
        cls = node.get("class_type")
        for name, value in (node.get("inputs") or {}).items():
            if isinstance(value, str) and (cls, name) in MODEL_INPUTS:
                found.add(value)
    return frozenset(found)


__all__ = ["MODEL_INPUTS", "models_of"]
