"""``WorkflowUpdater``: parameters + template -> the graph one job queues.

Every render starts from a deep copy (templates are cached and shared between jobs), runs
the strategies in ``order`` and reports back what the caller needs: the seed used, the
validated parameters, which image uploads are still needed and which outputs to collect.
With a ``WorkflowSpec`` the manifest's bindings and strategy list drive the render; with a
bare graph the shape-based strategies find prompt, seed, steps... by themselves.
"""

from __future__ import annotations

import copy
import random
from collections.abc import Callable, Mapping
from typing import Any

from discomfy.exceptions import WorkflowError

from .graph import Graph
from .manifest import WorkflowSpec
from .rendered import RenderedWorkflow, fill_images
from .schema.parameters import WorkflowParameters
from .strategies import SHAPE_STRATEGIES, RenderContext, StrategyRegistry, TargetError, default_registry


class WorkflowUpdater:
    """Strategy-based workflow parameter updater.

    ``registry`` holds the strategies manifests may name (default: the built-in ones; the
    host passes one filled through ``discomfy_register_strategies``). ``rng`` makes random
    seeds reproducible in tests.
    """

    def __init__(self, registry: StrategyRegistry | None = None, *, rng: random.Random | None = None) -> None:
        self.registry = registry if registry is not None else default_registry()
        self._rng = rng or random.Random()

    def update(self, workflow: Graph, parameters: WorkflowParameters | Mapping[str, Any],
               spec: WorkflowSpec | None = None) -> dict[str, Any]:
        """Return a new graph with ``parameters`` applied; ``workflow`` is left untouched."""
        return self.render_graph(workflow, parameters, spec).graph

    def render(self, spec: WorkflowSpec, parameters: WorkflowParameters | Mapping[str, Any], *,
               prepare: Callable[[dict[str, Any]], None] | None = None) -> RenderedWorkflow:
        """Validate ``parameters`` against ``spec``'s schema and render its template.

        ``prepare`` (e.g. the ``discomfy_prepare_parameters`` hook) may adjust the validated
        values in place; they are validated again afterwards. Raises ``ValidationError`` for
        bad user values and ``WorkflowError`` for a broken manifest.
        """
        # render_graph deep-copies what it is given, so the cached template needs no copy here
        return self.render_graph(spec._template, parameters, spec, prepare=prepare)

    def render_graph(self, workflow: Graph, parameters: WorkflowParameters | Mapping[str, Any],
                     spec: WorkflowSpec | None = None, *,
                     prepare: Callable[[dict[str, Any]], None] | None = None) -> RenderedWorkflow:
        if not isinstance(parameters, WorkflowParameters):
            parameters = WorkflowParameters(parameters)
        schema = spec.schema if spec else None
        label = spec.label() if spec else ""
        values = parameters.validated(schema, label=label)
        if prepare is not None:
            prepare(values)
            values = WorkflowParameters(values).validated(schema, label=label)
        graph = copy.deepcopy(workflow)
        context = RenderContext(spec=spec, rng=self._rng)
        names = list(spec.strategies) if spec else list(SHAPE_STRATEGIES)
        if spec and "bindings" not in names:
            names.append("bindings")
        try:
            for strategy in self.registry.ordered(names):
                strategy.apply(graph, values, context)
        except TargetError as exc:
            where = f"{spec.plugin}: {spec.manifest_file}: " if spec else ""
            raise WorkflowError(detail=f"{where}{exc.detail}") from exc
        outputs = list(spec.outputs) if spec else [
            nid for nid, n in graph.items() if n.get("class_type") in ("SaveImage", "PreviewImage")]
        return RenderedWorkflow(graph=graph, seed=context.seed, parameters=values,
                                images_needed=list(context.images_needed),
                                image_nodes={k: list(v) for k, v in context.image_nodes.items()},
                                output_nodes=outputs, workflow=spec.name if spec else None,
                                notes=list(context.notes))


__all__ = ["RenderedWorkflow", "WorkflowUpdater", "fill_images"]
