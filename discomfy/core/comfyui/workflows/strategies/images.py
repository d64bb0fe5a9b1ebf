"""The ``images`` strategy: input images reach their LoadImage nodes; absent optional images
take their LoadImage (and anything only they feed) out of the graph.

Image parameters are schema properties with ``"x-discord": {"type": "attachment"}``, bound
to ``<LoadImage id>.image``. The value at render time is any name for the attachment; the
render lists the parameter in ``images_needed`` and the caller uploads, then calls
``fill_images`` with the names ComfyUI returned. Options (``[options.images]``):
``optional_inputs`` = input names (e.g. ``["image2", "image3"]``) that may simply be dropped
when their image is absent, instead of removing the node reading them.
"""

from __future__ import annotations

import re
from typing import Any

from ..graph import Graph, consumers, find_by_class
from .base import RenderContext

_BARE_IMAGE_PARAM = re.compile(r"^image(\d*)$")


def image_parameters(context: RenderContext, params: dict[str, Any]) -> list[str]:
    if context.spec is None:
        return sorted(p for p in params if _BARE_IMAGE_PARAM.match(p))
    return context.spec.image_parameters


def _targets(graph: Graph, context: RenderContext, param: str) -> list[str]:
    if context.spec is not None:
        return [nid for nid, _inp in context.targets(graph, param)]
    loaders = find_by_class(graph, "LoadImage")
    index = int(_BARE_IMAGE_PARAM.match(param).group(1) or 1) - 1
    return [loaders[index]] if 0 <= index < len(loaders) else []


def remove_image_branch(graph: Graph, start: list[str], optional_inputs: set[str]) -> set[str]:
    """Remove ``start`` and what depends on it; optional inputs reading it are dropped instead."""
    removed: set[str] = set()
    pending = list(start)
    while pending:
        nid = pending.pop()
        if nid in removed or nid not in graph:
            continue
        readers = consumers(graph, nid)
        del graph[nid]
        removed.add(nid)
        for reader, inp in readers:
            if reader not in graph:
                continue
            if inp in optional_inputs:
                del graph[reader]["inputs"][inp]
            else:
                pending.append(reader)
    return removed


class ImagesStrategy:
    name = "images"
    order = 5
    consumes: tuple[str, ...] = ()  # image parameters are found by their x-discord type
    produces: tuple[str, ...] = ()
    inserts: tuple[str, ...] = ()

    def apply(self, graph: Graph, params: dict[str, Any], context: RenderContext) -> None:
        optional = set(context.options(self.name).get("optional_inputs", []))
        for param in image_parameters(context, params):
            if context.spec is not None and not context.is_bound(param):
                continue  # not a LoadImage of the template: the strategy consuming it places it
            nodes = _targets(graph, context, param)
            context.handled.add(param)
            if params.get(param) and not nodes:
                context.notes.append(f"`{param}` was given but the workflow has no LoadImage for it")
            elif params.get(param):
                for nid in nodes:
                    graph[nid]["inputs"]["image"] = str(params[param])
                context.images_needed.append(param)
                context.image_nodes[param] = nodes
            else:
                remove_image_branch(graph, nodes, optional)
