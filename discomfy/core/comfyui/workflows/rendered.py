"""``RenderedWorkflow``: one job's graph plus what the caller must know about it."""

from __future__ import annotations

import copy
from collections.abc import Mapping
from dataclasses import dataclass, field, replace
from typing import Any

from discomfy.exceptions import WorkflowError


@dataclass(frozen=True)
class RenderedWorkflow:
    """``graph`` is ready to queue once ``images_needed`` are filled (``fill_images``);
    ``seed`` is the seed actually used (report it to the user); ``parameters`` are the
    validated values with defaults applied and derived ones (width/height) added;
    ``image_nodes`` maps each image parameter to its LoadImage node ids; ``output_nodes``
    are the node ids whose outputs to collect; ``notes`` explain anything skipped; ``sources``
    say which values a plugin supplied instead of the user (``discomfy_prepare_parameters``)."""

    graph: dict[str, Any]
    seed: int | None
    parameters: dict[str, Any]
    images_needed: list[str] = field(default_factory=list)
    image_nodes: dict[str, list[str]] = field(default_factory=dict)
    output_nodes: list[str] = field(default_factory=list)
    workflow: str | None = None
    notes: list[str] = field(default_factory=list)
    sources: dict[str, str] = field(default_factory=dict)


def fill_images(rendered: RenderedWorkflow, uploaded: Mapping[str, str]) -> RenderedWorkflow:
    """Write the file names ComfyUI returned from ``/upload/image`` into the LoadImage nodes.

    ``uploaded`` maps image parameter -> the ``name`` the upload returned (it may differ from
    the local name, e.g. ``"x (1).png"``). Returns a new ``RenderedWorkflow``; raises
    ``WorkflowError`` when a needed image has no uploaded name or an unknown one is given.
    """
    missing = [p for p in rendered.images_needed if not uploaded.get(p)]
    unknown = [p for p in uploaded if p not in rendered.image_nodes]
    if missing or unknown:
        raise WorkflowError(detail=f"fill_images: missing uploads for {missing}, "
                                   f"unknown image parameters {unknown}")
    graph = copy.deepcopy(rendered.graph)
    for param, name in uploaded.items():
        for node_id in rendered.image_nodes[param]:
            graph[node_id]["inputs"]["image"] = name
    return replace(rendered, graph=graph, images_needed=[])
