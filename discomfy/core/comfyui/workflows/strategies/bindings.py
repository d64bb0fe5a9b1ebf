"""The ``bindings`` strategy: write each bound parameter's value to its declared targets.

It runs after the strategies that compute values (seed, size) and before the ones that
rewire the graph (LoRA), so node ids in bindings always refer to the template's nodes.
"""

from __future__ import annotations

from typing import Any

from ..graph import Graph
from .base import RenderContext


class BindingsStrategy:
    name = "bindings"
    order = 50
    consumes: tuple[str, ...] = ()
    produces: tuple[str, ...] = ()
    inserts: tuple[str, ...] = ()

    def apply(self, graph: Graph, params: dict[str, Any], context: RenderContext) -> None:
        for name, targets in context.bindings.items():
            if name in context.handled or name not in params:
                continue
            for node_id, input_name in context.targets(graph, name):
                graph[node_id]["inputs"][input_name] = params[name]
            context.handled.add(name)
