"""Walks over a queued prompt's graph: the order nodes run in, and what they came through."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

Prompt = dict[str, Any]


def _links(prompt: Prompt, nid: str) -> list[str]:
    return [str(v[0]) for v in prompt[nid]["inputs"].values() if isinstance(v, list)]


def execution_order(prompt: Prompt, outputs: list[str], is_output_node: Callable[[str], bool]) -> list[str]:
    """Nodes needed by the outputs, in the order ComfyUI's ExecutionList runs them.

    Pending nodes are collected by a stack walk from each output (so their order is the
    real one), and among the ready ones an output node goes first, then a node feeding
    an output, then one two links away, else the first pending (``ux_friendly_pick_node``).
    """
    pending: dict[str, None] = {}
    for output in outputs:
        stack = [output]
        while stack:
            nid = stack.pop()
            if nid in pending:
                continue
            pending[nid] = None
            stack += _links(prompt, nid)
    deps = {n: set(_links(prompt, n)) for n in pending}
    blocking = {n: [m for m in pending if n in deps[m]] for n in pending}
    output_nodes = {n for n in pending if is_output_node(prompt[n]["class_type"])}
    order: list[str] = []
    while pending:
        ready = [n for n in pending if not (deps[n] & pending.keys())]
        pick = next((n for n in ready if n in output_nodes), None)
        pick = pick or next((n for n in ready if any(b in output_nodes for b in blocking[n])), None)
        pick = pick or next((n for n in ready if any(c in output_nodes for b in blocking[n] for c in blocking[b])), None)
        pick = pick or ready[0]
        del pending[pick]
        order.append(pick)
    return order


def simulated_upstream(prompt: Prompt, order: list[str], is_simulated: Callable[[str], bool]) -> dict[str, tuple[str, ...]]:
    """Per node, the simulated nodes its values came through (itself included): the marker
    written into the metadata of every image saved from them."""
    marks: dict[str, tuple[str, ...]] = {}
    for nid in order:  # dependencies come first
        node = prompt[nid]
        names = {name for source in _links(prompt, nid) for name in marks.get(source, ())}
        if is_simulated(node["class_type"]):
            names.add(f"{node['class_type']} (node {nid})")
        marks[nid] = tuple(sorted(names))
    return marks
