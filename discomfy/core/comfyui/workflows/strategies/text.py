"""The ``prompt`` strategy: find where the prompt and negative prompt go by following links.

Without a manifest there is no ``6.text`` to rely on, but every sampler says what its
positive and negative conditioning are: walk up those links, through pass-through nodes
(FluxGuidance, ReferenceLatent, ...), to the first node holding literal text. A chain that
ends in ConditioningZeroOut has no negative text to write (FLUX, Qwen with cfg 1).
"""

from __future__ import annotations

from typing import Any

from ..graph import Graph, is_link
from .base import RenderContext

TEXT_INPUTS = ("text", "prompt", "text_g", "text_l", "clip_l", "t5xxl")
PASS_THROUGH_INPUTS = ("conditioning", "conditioning_to", "conditioning_1", "conditioning_2")
#: sampler-like node classes and the inputs carrying their positive / negative conditioning
SIDE_INPUTS = {"positive": ("positive", "conditioning"), "negative": ("negative",)}
STOP_CLASSES = ("ConditioningZeroOut",)


def text_targets(graph: Graph, side: str) -> list[tuple[str, str]]:
    """``(node_id, input)`` pairs holding the ``side`` ("positive"/"negative") prompt text."""
    starts: list[str] = []
    for node in graph.values():
        inputs = node.get("inputs") or {}
        for name in SIDE_INPUTS[side]:
            value = inputs.get(name)
            # BasicGuider's single "conditioning" is positive; pass-through nodes are not samplers
            if is_link(value) and (name != "conditioning" or "model" in inputs):
                starts.append(value[0])
    found: list[tuple[str, str]] = []
    seen: set[str] = set()
    while starts:
        nid = starts.pop()
        if nid in seen or nid not in graph:
            continue
        seen.add(nid)
        node = graph[nid]
        if node.get("class_type") in STOP_CLASSES:
            continue
        inputs = node.get("inputs") or {}
        texts = [n for n in TEXT_INPUTS if isinstance(inputs.get(n), str)]
        if texts:
            found.extend((nid, n) for n in texts)
            continue
        for name in PASS_THROUGH_INPUTS + (side,):
            if is_link(inputs.get(name)):
                starts.append(inputs[name][0])
    return sorted(set(found))


class PromptStrategy:
    name = "prompt"
    order = 40
    consumes = ("prompt", "negative_prompt")
    produces: tuple[str, ...] = ()
    inserts: tuple[str, ...] = ()

    def apply(self, graph: Graph, params: dict[str, Any], context: RenderContext) -> None:
        for param, side in (("prompt", "positive"), ("negative_prompt", "negative")):
            if param not in params or context.is_bound(param):
                continue
            targets = text_targets(graph, side)
            if not targets:
                context.notes.append(f"`{param}` was given but the workflow has no {side} text node")
            for node_id, input_name in targets:
                graph[node_id]["inputs"][input_name] = params[param]
            context.handled.add(param)
