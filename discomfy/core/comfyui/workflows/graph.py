"""Small helpers over a ComfyUI API-format graph ``{node_id: {"class_type", "inputs", "_meta"}}``.

Strategies, the validator and the scaffolder all need the same few questions answered
(is this input a link? who consumes this output? which node has this title?), so they are
answered once here. Nothing in this module mutates a graph except the explicit rewiring
helpers, whose names say so.
"""

from __future__ import annotations

from typing import Any, Iterator

Graph = dict[str, dict[str, Any]]


def is_link(value: Any) -> bool:
    """A link is ``[source_node_id, output_index]``; everything else is a literal value."""
    return (
        isinstance(value, list)
        and len(value) == 2
        and isinstance(value[0], str)
        and isinstance(value[1], int)
        and not isinstance(value[1], bool)
    )


def title_of(node: dict[str, Any]) -> str | None:
    meta = node.get("_meta") or {}
    title = meta.get("title")
    return title if isinstance(title, str) else None


def find_by_class(graph: Graph, *class_types: str) -> list[str]:
    """Ids of the nodes whose class is one of ``class_types``, in graph order."""
    return [nid for nid, node in graph.items() if node.get("class_type") in class_types]


def find_by_title(graph: Graph, title: str) -> list[str]:
    return [nid for nid, node in graph.items() if title_of(node) == title]


def links(graph: Graph) -> Iterator[tuple[str, str, str, int]]:
    """Every link as ``(consumer_id, input_name, source_id, output_index)``."""
    for nid, node in graph.items():
        for name, value in (node.get("inputs") or {}).items():
            if is_link(value):
                yield nid, name, value[0], value[1]


def consumers(graph: Graph, source_id: str, output_index: int | None = None) -> list[tuple[str, str]]:
    """``(node_id, input_name)`` pairs reading ``source_id`` (optionally one output of it)."""
    return [
        (nid, name)
        for nid, name, src, idx in links(graph)
        if src == source_id and (output_index is None or idx == output_index)
    ]


def new_node_id(graph: Graph) -> str:
    """A fresh id: one above the largest numeric id, so inserted nodes read naturally."""
    numeric = [int(k) for k in graph if k.isdigit()]
    candidate = (max(numeric) + 1) if numeric else 1
    while str(candidate) in graph:
        candidate += 1
    return str(candidate)


def rewire_consumers(graph: Graph, source: tuple[str, int], target: tuple[str, int], *,
                     skip: set[str] = frozenset()) -> None:
    """Point every consumer of ``source`` at ``target`` instead (mutates ``graph``)."""
    for nid, name, src, idx in list(links(graph)):
        if nid in skip:
            continue
        if (src, idx) == source:
            graph[nid]["inputs"][name] = [target[0], target[1]]
