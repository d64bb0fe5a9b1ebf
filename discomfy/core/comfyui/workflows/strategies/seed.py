"""The ``seed`` strategy: a random seed when none (or -1) is given, always reported back.

Users reuse a seed to reproduce an image, so the chosen value lands in ``params["seed"]`` and
``context.seed`` (and from there in ``RenderedWorkflow.seed``). The range stays below 2**53
so the value survives JSON, JavaScript and Discord integer options unchanged.
"""

from __future__ import annotations

from typing import Any

from ..graph import Graph, is_link
from .base import RenderContext

SEED_INPUTS = ("seed", "noise_seed")
MAX_SEED = 2**53 - 1


class SeedStrategy:
    name = "seed"
    order = 10
    consumes = ("seed",)
    produces = ("seed",)
    inserts: tuple[str, ...] = ()

    def apply(self, graph: Graph, params: dict[str, Any], context: RenderContext) -> None:
        seed = params.get("seed")
        if seed is None or seed == -1:
            seed = context.rng.randint(0, MAX_SEED)
        params["seed"] = int(seed)
        context.seed = params["seed"]
        if context.is_bound("seed"):
            return  # the bindings strategy writes it to the declared targets
        for node in graph.values():
            inputs = node.get("inputs") or {}
            for name in SEED_INPUTS:
                if name in inputs and not is_link(inputs[name]):
                    inputs[name] = params["seed"]
        context.handled.add("seed")
