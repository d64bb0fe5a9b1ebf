"""Structural validation of an API-format graph against ``/object_info`` node definitions.

This is the check ComfyUI would run on ``POST /prompt``, done before queueing (and in tests
against the recorded definitions) so a broken template is reported with the node and input
named instead of as a raw HTTP 400. Combo values (model files, LoRAs) are only checked when
asked: which files exist is a property of one server, see ``server_check``.
"""

from __future__ import annotations

from typing import Any

from .graph import Graph, is_link
from .object_info import ObjectInfo, input_specs, output_types

_LITERAL_TYPES = {
    "INT": (int,),
    "FLOAT": (int, float),
    "STRING": (str,),
    "BOOLEAN": (bool,),
}


def _where(nid: str, node: dict[str, Any], name: str | None = None) -> str:
    cls = node.get("class_type", "?")
    return f"node {nid} ({cls})" + (f" input `{name}`" if name else "")


def _type_matches(produced: str, accepted: str) -> bool:
    if produced == "*" or accepted == "*":
        return True
    accepted_set = {t.strip() for t in accepted.split(",")}
    produced_set = {t.strip() for t in produced.split(",")}
    return bool(accepted_set & produced_set)


def _check_literal(nid, node, name, spec, value, check_choices) -> list[str]:
    where = _where(nid, node, name)
    if spec.type == "COMBO":
        if check_choices and spec.choices is not None and value not in spec.choices:
            shown = ", ".join(map(str, spec.choices[:10])) or "(none installed)"
            return [f"{where}: {value!r} is not one of the server's choices: {shown}"]
        return []
    expected = _LITERAL_TYPES.get(spec.type)
    if expected is None:
        return [f"{where}: expects a link to a {spec.type} output, got the literal {value!r}"]
    if isinstance(value, bool) and spec.type != "BOOLEAN":
        return [f"{where}: expects {spec.type}, got {value!r}"]
    if not isinstance(value, expected):
        return [f"{where}: expects {spec.type}, got {type(value).__name__} {value!r}"]
    problems = []
    if spec.type in ("INT", "FLOAT"):
        lo, hi = spec.options.get("min"), spec.options.get("max")
        if lo is not None and value < lo:
            problems.append(f"{where}: {value} is below the minimum {lo}")
        if hi is not None and value > hi:
            problems.append(f"{where}: {value} is above the maximum {hi}")
    return problems


def validate_graph(graph: Graph, object_info: ObjectInfo, *, check_choices: bool = False) -> list[str]:
    """Return every problem ComfyUI would refuse ``graph`` for; an empty list means valid.

    Checks: node classes exist, required inputs present, no unknown inputs, links point at
    existing nodes and outputs whose type the input accepts, literals have the right type and
    range, and at least one output node exists. ``check_choices`` also checks combo values.
    """
    problems: list[str] = []
    if not isinstance(graph, dict) or not graph:
        return ["the workflow is empty or not a JSON object of nodes"]
    has_output = False
    for nid, node in graph.items():
        if not isinstance(node, dict) or "class_type" not in node:
            problems.append(f"node {nid}: has no class_type (is this an API-format export?)")
            continue
        cls = node["class_type"]
        if cls not in object_info:
            problems.append(f"{_where(nid, node)}: node class {cls} does not exist on the server")
            continue
        if object_info[cls].get("output_node"):
            has_output = True
        specs = input_specs(object_info, cls)
        inputs = node.get("inputs") or {}
        for name, spec in specs.items():
            if spec.required and name not in inputs:
                problems.append(f"{_where(nid, node, name)}: required input is missing")
        for name, value in inputs.items():
            spec = specs.get(name)
            if spec is None:
                continue  # ComfyUI ignores unknown inputs (UI widgets such as control_after_generate)
            if is_link(value):
                src_id, idx = value
                src = graph.get(src_id)
                if src is None:
                    problems.append(f"{_where(nid, node, name)}: links to missing node {src_id}")
                    continue
                outs = output_types(object_info, src.get("class_type", ""))
                if src.get("class_type") not in object_info:
                    continue  # already reported on the source node
                if idx < 0 or idx >= len(outs):
                    problems.append(f"{_where(nid, node, name)}: links to output {idx} of node {src_id}, "
                                    f"which has only {len(outs)} output(s)")
                elif not _type_matches(outs[idx], spec.type):
                    problems.append(f"{_where(nid, node, name)}: expects {spec.type} but node {src_id} "
                                    f"({src['class_type']}) output {idx} is {outs[idx]}")
            else:
                problems.extend(_check_literal(nid, node, name, spec, value, check_choices))
    if not has_output:
        problems.append("the workflow has no output node (e.g. SaveImage), ComfyUI would refuse it")
    return problems
