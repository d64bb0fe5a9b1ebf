"""The ``lora`` strategy: insert a chain of LoRA loaders between the model loader and its
consumers, one per requested LoRA; none requested means no LoRA node at all.

Templates never carry a LoRA node with a placeholder file name (a leftover name is an error
on a server without that file). Parameters: ``lora`` (a file name or a list of them),
``lora_strength`` (applies to every LoRA given by ``lora``), or ``loras`` (a list of
``{"name", "strength"}``). Options (``[options.lora]``): ``after`` = node id whose output
``model_output`` (default 0) is the MODEL to patch (default: the first UNETLoader /
CheckpointLoaderSimple); ``clip`` = ``"node_id.index"`` of a CLIP output to patch as well
(default: output 1 of a CheckpointLoaderSimple, else none -> LoraLoaderModelOnly).
"""

from __future__ import annotations

from typing import Any

from discomfy.exceptions import ValidationError, WorkflowError

from ..graph import Graph, consumers, find_by_class, new_node_id
from .base import RenderContext

MODEL_LOADERS = ("UNETLoader", "CheckpointLoaderSimple", "UnetLoaderGGUF", "DiffusionModelLoader")


def requested_loras(params: dict[str, Any]) -> list[tuple[str, float]]:
    """``[(file_name, strength)]`` from ``lora``/``lora_strength`` and ``loras``."""
    strength = float(params.get("lora_strength", 1.0))
    out: list[tuple[str, float]] = []
    lora = params.get("lora")
    for name in ([lora] if isinstance(lora, str) else list(lora or [])):
        if name:
            out.append((str(name), strength))
    for item in params.get("loras") or []:
        if isinstance(item, str):
            out.append((item, 1.0))
        elif isinstance(item, dict) and item.get("name"):
            out.append((str(item["name"]), float(item.get("strength", 1.0))))
        else:
            raise ValidationError("each entry of `loras` needs a `name` (and optionally a "
                                  "`strength`).", field="loras")
    return out


def _source(graph: Graph, opts: dict[str, Any]) -> tuple[str, int]:
    after = opts.get("after")
    if after is None:
        found = find_by_class(graph, *MODEL_LOADERS)
        if not found:
            raise WorkflowError(detail="lora strategy: no model loader in the workflow; set "
                                       "[options.lora] after = \"<node id>\"")
        after = found[0]
    after = str(after)
    if after not in graph:
        raise WorkflowError(detail=f"lora strategy: [options.lora] after = {after!r} is not a node")
    return after, int(opts.get("model_output", 0))


def _clip_source(graph: Graph, opts: dict[str, Any], model_src: tuple[str, int]) -> tuple[str, int] | None:
    clip = opts.get("clip")
    if clip:
        node, _, idx = str(clip).partition(".")
        return node, int(idx or 0)
    if graph[model_src[0]].get("class_type") == "CheckpointLoaderSimple" and not opts.get("model_only"):
        return model_src[0], 1
    return None


class LoraStrategy:
    name = "lora"
    order = 60
    consumes = ("lora", "lora_strength", "loras")
    produces: tuple[str, ...] = ()
    inserts = ("LoraLoaderModelOnly", "LoraLoader")

    def apply(self, graph: Graph, params: dict[str, Any], context: RenderContext) -> None:
        loras = requested_loras(params)
        context.handled.update(n for n in self.consumes if n in params)
        if not loras:
            return
        opts = context.options(self.name)
        model_src = _source(graph, opts)
        clip_src = _clip_source(graph, opts, model_src)
        model_readers = consumers(graph, *model_src)
        clip_readers = consumers(graph, *clip_src) if clip_src else []
        model_out, clip_out = model_src, clip_src
        for i, (name, strength) in enumerate(loras, start=1):
            nid = new_node_id(graph)
            if clip_out:
                graph[nid] = {"class_type": "LoraLoader", "inputs": {
                    "lora_name": name, "strength_model": strength, "strength_clip": strength,
                    "model": list(model_out), "clip": list(clip_out)}}
                clip_out = (nid, 1)
            else:
                graph[nid] = {"class_type": "LoraLoaderModelOnly", "inputs": {
                    "lora_name": name, "strength_model": strength, "model": list(model_out)}}
            graph[nid]["_meta"] = {"title": f"LoRA {i} (discomfy)"}
            model_out = (nid, 0)
        for nid, inp in model_readers:
            graph[nid]["inputs"][inp] = list(model_out)
        for nid, inp in clip_readers:
            graph[nid]["inputs"][inp] = list(clip_out)
