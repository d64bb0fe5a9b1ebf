"""Load-time contract check of one workflow: what ``discomfy check`` and bot start run.

A pack that loads but cannot render, or whose option silently does nothing, is worse than
one that fails loudly: the user types ``/generate cfg:9`` and nothing changes. So besides
static checks (strategies known, binding targets exist, outputs exist) every parameter is
proven to change the rendered graph, and the defaults and every schema example must render
(and, given ``/object_info``, must be graphs the server would accept).
"""

from __future__ import annotations

import json
import random
from importlib import resources
from typing import Any

from discomfy.exceptions import DisComfyError, ValidationError, WorkflowError

from .graph import is_link
from .manifest import WorkflowSpec, is_image_parameter
from .object_info import ObjectInfo
from .problems import Problem
from .strategies import StrategyRegistry, TargetError, default_registry, resolve_target
from .updater import WorkflowUpdater
from .validate import validate_graph


def probe_value(name: str, prop: dict[str, Any]) -> Any:
    """A valid value for ``prop`` to render with when it has no default."""
    if prop.get("examples"):
        return prop["examples"][0]
    if "enum" in prop:
        return prop["enum"][0]
    if "default" in prop:
        return prop["default"]
    t = prop.get("type")
    t = next((x for x in t if x != "null"), None) if isinstance(t, list) else t
    if t == "string":
        return f"{name}_example.png" if is_image_parameter(prop) else f"contract check {name}"
    if t in ("integer", "number"):
        lo, hi = prop.get("minimum"), prop.get("maximum")
        return lo if lo is not None else (hi if hi is not None else 1)
    if t == "boolean":
        return True
    if t == "array":
        return []
    return None


def alternative_value(name: str, prop: dict[str, Any], current: Any) -> Any:
    """A valid value different from ``current``, or None when the schema allows no other."""
    if "enum" in prop:
        return next((v for v in prop["enum"] if v != current), None)
    if current is None:
        return probe_value(name, prop)
    if isinstance(current, bool):
        return not current
    if isinstance(current, (int, float)):
        lo, hi = prop.get("minimum"), prop.get("maximum")
        for candidate in (hi, lo, current + 1, current - 1):
            if candidate is not None and candidate != current and (lo is None or candidate >= lo) \
                    and (hi is None or candidate <= hi):
                return candidate
        return None
    if isinstance(current, str):
        return f"other_{current}" if is_image_parameter(prop) else f"{current} (changed)"
    return None


def _render(spec, registry, values):
    return WorkflowUpdater(registry, rng=random.Random(0)).render(spec, values)


def _changes_graph(spec, registry, name, prop, bases) -> bool:
    for base in bases:
        alt = alternative_value(name, prop, base.get(name, prop.get("default")))
        if alt is None:
            continue
        try:
            if _render(spec, registry, base).graph != _render(spec, registry, {**base, name: alt}).graph:
                return True
        except DisComfyError:
            continue
    return False


def _static_problems(spec: WorkflowSpec, registry: StrategyRegistry) -> list[Problem]:
    problems: list[Problem] = []
    template = spec.template
    props = spec.parameters
    known = [s for s in spec.strategies if s in registry]
    for name in spec.strategies:
        if name not in registry:
            problems.append(Problem(spec.plugin, spec.manifest_file, f"unknown strategy `{name}` "
                                    f"(known: {', '.join(registry.names())})"))
    produced = {p for s in known for p in getattr(registry.get(s), "produces", ())}
    for param, targets in spec.bindings.items():
        if param not in props and param not in produced:
            problems.append(Problem(spec.plugin, spec.manifest_file, f"binding `{param}` is not a "
                                    f"parameter of {spec.schema_file} nor produced by a strategy"))
        for target in targets:
            try:
                resolve_target(template, target)
            except TargetError as exc:
                problems.append(Problem(spec.plugin, spec.template_file,
                                        f"binding `{param}` -> `{target}`: {exc.reason}", exc.node, exc.input))
    for node_id in spec.outputs:
        if node_id not in template:
            problems.append(Problem(spec.plugin, spec.manifest_file,
                                    f"output node {node_id} does not exist in {spec.template_file}", node_id))
    consumed = {p for s in known for p in getattr(registry.get(s), "consumes", ())}
    for name, prop in props.items():
        if is_image_parameter(prop) and not spec.bindings.get(name) and name not in consumed:
            problems.append(Problem(spec.plugin, spec.manifest_file, f"image parameter `{name}` must "
                                    "be bound to its LoadImage node, e.g. `image = \"12.image\"`"))
    return problems


def rewiring_problems(template: dict[str, Any], graph: dict[str, Any]) -> list[str]:
    """What strategies changed in the graph's shape (inserted nodes, re-pointed links),
    checked against the recorded definitions of ComfyUI's core nodes, which every strategy's
    inserts are. Without a server at hand this still proves a rewiring ComfyUI would accept;
    the template's own nodes may be custom ones and are judged by ``check --server``."""
    changed = {nid for nid, node in graph.items()
               if nid not in template or _links(node) != _links(template[nid])}
    if not changed:
        return []
    recorded = recorded_core_nodes()
    problems = []
    for message in validate_graph(graph, recorded):
        node = message.split(" ", 2)[1] if message.startswith("node ") else None
        if node in changed and not (node in template and "does not exist on the server" in message):
            problems.append(message)
    return problems


def _links(node: dict[str, Any]) -> dict[str, Any]:
    return {k: v for k, v in (node.get("inputs") or {}).items() if is_link(v)}


_RECORDED: dict[str, Any] = {}


def recorded_core_nodes() -> dict[str, Any]:
    """The node definitions recorded from a real ComfyUI (shipped with DisComfy), read once."""
    if not _RECORDED:
        text = resources.files("discomfy.testing").joinpath("data/object_info_nodes.json").read_text()
        _RECORDED.update(json.loads(text))
    return _RECORDED


def _graph_problems(spec, graph, object_info, what) -> list[Problem]:
    return [Problem(spec.plugin, spec.template_file, f"{what}: {msg}") for msg in validate_graph(graph, object_info)]


def contract_check(spec: WorkflowSpec, object_info: ObjectInfo | None = None, *,
                   registry: StrategyRegistry | None = None) -> list[Problem]:
    """Every reason ``spec`` is not fit to serve a command; an empty list means it is.

    With ``object_info`` (e.g. the recorded definitions or a live server's) the template and
    each render are also validated as graphs (classes, required inputs, link types).
    """
    registry = registry if registry is not None else default_registry()
    problems = _static_problems(spec, registry)
    if problems:
        return problems  # rendering would only repeat the same failures
    props = spec.parameters
    required = {n: probe_value(n, props[n]) for n in spec.required_parameters if "default" not in props[n]}
    with_optionals = {**required, **{n: probe_value(n, p) for n, p in props.items()
                                     if n not in required and "default" not in p}}
    renders: list[tuple[str, dict[str, Any]]] = [("defaults", required), ("all options", with_optionals)]
    renders += [(f"schema example {i + 1}", ex) for i, ex in enumerate(spec.examples)]
    for what, values in renders:
        try:
            rendered = _render(spec, registry, values)
        except ValidationError as exc:
            problems.append(Problem(spec.plugin, spec.schema_file, f"rendering {what} failed: {exc.user_message}"))
            continue
        except WorkflowError as exc:
            cause = exc.__cause__ if isinstance(exc.__cause__, TargetError) else None
            problems.append(Problem(spec.plugin, spec.manifest_file, f"rendering {what} failed: {exc.detail}",
                                    getattr(cause, "node", None), getattr(cause, "input", None)))
            continue
        for node_id in spec.outputs:
            if node_id not in rendered.graph:
                problems.append(Problem(spec.plugin, spec.template_file, f"rendering {what} removed "
                                        f"output node {node_id}", node_id))
        if object_info is not None:
            problems += _graph_problems(spec, rendered.graph, object_info, f"rendering {what}")
        else:
            problems += [Problem(spec.plugin, spec.manifest_file, f"rendering {what}: {msg}")
                         for msg in rewiring_problems(spec.template, rendered.graph)]
    if problems:
        return problems
    for name, prop in props.items():
        if not _changes_graph(spec, registry, name, prop, [required, with_optionals]):
            problems.append(Problem(spec.plugin, spec.schema_file, f"parameter `{name}` changes nothing "
                                    f"in the rendered graph; bind it in {spec.manifest_file} [bindings] "
                                    f"(e.g. {name} = \"<node id>.<input>\") or list a strategy that writes it"))
    return problems
