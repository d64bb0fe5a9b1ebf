"""The ``img2img`` strategy: a text-to-image template that also varies a given image.

A model opts in by listing ``img2img`` in its manifest's ``strategies``, declaring the
``init_image`` parameter (an attachment, usually ``"hidden": true`` so only buttons set it)
and binding ``denoise`` to its sampler. When ``init_image`` is given, the empty latent the
sampler starts from is replaced by the image: ``LoadImage -> VAEEncode`` (with the VAE the
template decodes with), repeated to the latent's ``batch_size`` by ``RepeatLatentBatch``.
Without it the graph is the plain text-to-image one. ``discomfy check`` renders both and
verifies the rewired graph against the node definitions.

Options (``[options.img2img]``): ``latent`` = id of the empty-latent node (default: the node
feeding the sampler's ``latent_image``).
"""

from __future__ import annotations

from typing import Any

from discomfy.exceptions import WorkflowError

from ..graph import Graph, find_by_class, is_link, new_node_id, rewire_consumers
from .base import RenderContext

INIT_IMAGE = "init_image"


def _latent_node(graph: Graph, context: RenderContext) -> str:
    chosen = context.options("img2img").get("latent")
    if chosen is not None:
        if str(chosen) not in graph:
            raise WorkflowError(detail=f"img2img: [options.img2img] latent = {chosen!r} is not a node of the workflow")
        return str(chosen)
    sources = {value[0] for node in graph.values()
               for name, value in (node.get("inputs") or {}).items() if name == "latent_image" and is_link(value)}
    if len(sources) != 1:
        raise WorkflowError(detail=f"img2img: found {len(sources)} latent_image sources; name the empty latent "
                                   "node with [options.img2img] latent = \"<node id>\"")
    return sources.pop()


def _vae_link(graph: Graph) -> list[Any]:
    for nid in find_by_class(graph, "VAEDecode", "VAEDecodeTiled"):
        vae = (graph[nid].get("inputs") or {}).get("vae")
        if is_link(vae):
            return list(vae)
    raise WorkflowError(detail="img2img: the workflow has no VAEDecode whose VAE could encode the image")


class Img2ImgStrategy:
    name = "img2img"
    order = 70  # after bindings and lora: the latent's size and batch are final
    consumes: tuple[str, ...] = (INIT_IMAGE,)
    produces: tuple[str, ...] = ()
    inserts: tuple[str, ...] = ("LoadImage", "VAEEncode", "RepeatLatentBatch")

    def apply(self, graph: Graph, params: dict[str, Any], context: RenderContext) -> None:
        context.handled.add(INIT_IMAGE)
        image = params.get(INIT_IMAGE)
        if not image:
            return
        latent = _latent_node(graph, context)
        load = new_node_id(graph)
        graph[load] = {"class_type": "LoadImage", "inputs": {"image": str(image)}, "_meta": {"title": "Image to vary"}}
        encode = new_node_id(graph)
        graph[encode] = {"class_type": "VAEEncode", "inputs": {"pixels": [load, 0], "vae": _vae_link(graph)},
                         "_meta": {"title": "Encode image to vary"}}
        source = encode
        batch = (graph[latent].get("inputs") or {}).get("batch_size")
        if isinstance(batch, int) and not isinstance(batch, bool) and batch > 1:
            source = new_node_id(graph)
            graph[source] = {"class_type": "RepeatLatentBatch", "inputs": {"samples": [encode, 0], "amount": batch},
                             "_meta": {"title": "One latent per image"}}
        rewire_consumers(graph, (latent, 0), (source, 0))
        del graph[latent]
        context.images_needed.append(INIT_IMAGE)
        context.image_nodes[INIT_IMAGE] = [load]
