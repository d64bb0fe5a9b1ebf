"""What every updater strategy shares: the render context, target resolution, the registry.

A strategy is any object with ``name``, ``order`` (lower runs first), ``consumes`` (parameter
names it writes into the graph, so the contract check knows they are "written somewhere"),
``produces`` (derived names, e.g. ``width`` from ``aspect_ratio``, that bindings may target),
``inserts`` (node classes it may add) and ``apply(graph, params, context)``. ``graph`` is the
job's private copy; ``params`` the validated values, which a strategy may complete.
"""

from __future__ import annotations

import random
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, Protocol, runtime_checkable

from discomfy.exceptions import WorkflowError

from ..graph import Graph, find_by_title

if TYPE_CHECKING:
    from ..manifest import WorkflowSpec


@runtime_checkable
class Strategy(Protocol):
    name: str
    order: int
    consumes: tuple[str, ...]
    produces: tuple[str, ...]
    inserts: tuple[str, ...]

    def apply(self, graph: Graph, params: dict[str, Any], context: RenderContext) -> None: ...


class TargetError(WorkflowError):
    """A binding target (``12.text`` / ``title:X.text``) does not resolve in the graph."""

    def __init__(self, target: str, reason: str, node: str | None = None, input: str | None = None):
        self.target, self.reason, self.node, self.input = target, reason, node, input
        super().__init__(detail=f"binding target `{target}`: {reason}")


def parse_target(target: str) -> tuple[str, str, bool]:
    """``"12.text"`` -> ("12", "text", False); ``"title:Pos Prompt.text"`` -> ("Pos Prompt", "text", True)."""
    by_title = target.startswith("title:")
    body = target[len("title:"):] if by_title else target
    node, dot, inp = body.rpartition(".")
    if not dot or not node or not inp:
        raise TargetError(target, "expected `node_id.input` or `title:Node Title.input`")
    return node, inp, by_title


def resolve_target(graph: Graph, target: str, *, require_input: bool = True) -> tuple[str, str]:
    """Resolve a binding target to ``(node_id, input_name)`` in ``graph``.

    The input must already exist on the node (a template lists every widget value), unless
    ``require_input`` is False. Raises ``TargetError`` saying which part is missing.
    """
    node, inp, by_title = parse_target(target)
    if by_title:
        ids = find_by_title(graph, node)
        if not ids:
            raise TargetError(target, f"no node has the title {node!r}", None, inp)
        if len(ids) > 1:
            raise TargetError(target, f"{len(ids)} nodes share the title {node!r}; use node ids",
                              ids[0], inp)
        node = ids[0]
    if node not in graph:
        raise TargetError(target, f"node {node} does not exist in the workflow", node, inp)
    inputs = graph[node].get("inputs") or {}
    if require_input and inp not in inputs:
        raise TargetError(target, f"node {node} ({graph[node].get('class_type')}) has no input `{inp}`",
                          node, inp)
    return node, inp


@dataclass
class RenderContext:
    """Per-render state shared by strategies, and what the render reports back."""

    spec: WorkflowSpec | None = None
    rng: random.Random = field(default_factory=random.Random)
    seed: int | None = None
    images_needed: list[str] = field(default_factory=list)
    image_nodes: dict[str, list[str]] = field(default_factory=dict)
    notes: list[str] = field(default_factory=list)
    #: parameters a strategy has already written, which ``bindings`` must leave alone
    handled: set[str] = field(default_factory=set)

    @property
    def bindings(self) -> dict[str, tuple[str, ...]]:
        return dict(self.spec.bindings) if self.spec else {}

    def is_bound(self, name: str) -> bool:
        return bool(self.spec and self.spec.bindings.get(name))

    def options(self, strategy: str) -> dict[str, Any]:
        return dict(self.spec.strategy_options.get(strategy, {})) if self.spec else {}

    def targets(self, graph: Graph, name: str) -> list[tuple[str, str]]:
        return [resolve_target(graph, t) for t in (self.spec.bindings.get(name, ()) if self.spec else ())]


class StrategyRegistry:
    """Strategies by name. Plugins add theirs (``discomfy_register_strategies``); a duplicate
    name is refused naming both owners, so two plugins never silently shadow each other."""

    def __init__(self, strategies: list[Strategy] | None = None, *, owner: str = "builtin") -> None:
        self._strategies: dict[str, Strategy] = {}
        self._owners: dict[str, str] = {}
        for s in strategies or []:
            self.register(s, owner=owner)

    def register(self, strategy: Strategy, *, owner: str = "plugin") -> None:
        for attr in ("name", "apply"):
            if not hasattr(strategy, attr):
                raise WorkflowError(detail=f"{owner}: strategy {strategy!r} has no `{attr}`")
        if strategy.name in self._strategies:
            raise WorkflowError(detail=f"strategy `{strategy.name}` is registered twice: by "
                                       f"{self._owners[strategy.name]} and by {owner}")
        self._strategies[strategy.name] = strategy
        self._owners[strategy.name] = owner

    def get(self, name: str) -> Strategy:
        try:
            return self._strategies[name]
        except KeyError:
            known = ", ".join(sorted(self._strategies))
            raise WorkflowError(detail=f"unknown strategy `{name}` (known: {known})") from None

    def __contains__(self, name: object) -> bool:
        return name in self._strategies

    def names(self) -> list[str]:
        return sorted(self._strategies)

    def ordered(self, names: list[str] | tuple[str, ...] | None = None) -> list[Strategy]:
        """The named strategies (all when None) sorted by ``order``, then by name."""
        chosen = [self.get(n) for n in names] if names is not None else list(self._strategies.values())
        return sorted(chosen, key=lambda s: (getattr(s, "order", 50), s.name))
