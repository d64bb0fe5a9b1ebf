"""Strategies writing sampler settings by shape: steps/cfg/sampler/scheduler, denoise, guidance.

Each writes a parameter to literal inputs of the node classes that own it, unless the
manifest binds that parameter explicitly (then ``bindings`` writes it and these stay out).
"""

from __future__ import annotations

from typing import Any

from ..graph import Graph, is_link
from .base import RenderContext


def _sampler_like(class_type: str) -> bool:
    return (class_type.startswith("KSampler") or class_type.endswith("Scheduler")
            or class_type in ("SamplerCustom", "CFGGuider", "DualCFGGuider"))


class ShapeWriteStrategy:
    """Write each parameter in ``param_inputs`` ({param: input}) to nodes passing ``accepts``."""

    produces: tuple[str, ...] = ()
    inserts: tuple[str, ...] = ()

    def __init__(self, name: str, order: int, param_inputs: dict[str, str], accepts) -> None:
        self.name = name
        self.order = order
        self.param_inputs = dict(param_inputs)
        self.consumes = tuple(param_inputs)
        self._accepts = accepts

    def apply(self, graph: Graph, params: dict[str, Any], context: RenderContext) -> None:
        for param, input_name in self.param_inputs.items():
            if param not in params or context.is_bound(param):
                continue
            written = False
            for node in graph.values():
                inputs = node.get("inputs") or {}
                if (self._accepts(node.get("class_type", "")) and input_name in inputs
                        and not is_link(inputs[input_name])):
                    inputs[input_name] = params[param]
                    written = True
            if not written:
                context.notes.append(f"`{param}` was given but no node takes `{input_name}`")
            context.handled.add(param)


def sampling_strategy() -> ShapeWriteStrategy:
    return ShapeWriteStrategy(
        "sampling", 40,
        {"steps": "steps", "cfg": "cfg", "sampler": "sampler_name", "scheduler": "scheduler"},
        _sampler_like)


def denoise_strategy() -> ShapeWriteStrategy:
    return ShapeWriteStrategy("denoise", 40, {"denoise": "denoise"}, _sampler_like)


def guidance_strategy() -> ShapeWriteStrategy:
    return ShapeWriteStrategy("guidance", 40, {"guidance": "guidance"},
                              lambda cls: cls in ("FluxGuidance", "CLIPTextEncodeFlux"))
