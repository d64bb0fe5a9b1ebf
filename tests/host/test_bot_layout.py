"""discomfy/bot/ stays easy to change: no import cycle, not even behind a late or type-only
import; no import inside a function but the optional watchfiles; no module over 300 lines."""

from __future__ import annotations

import ast
from pathlib import Path

import discomfy.bot

BOT = Path(discomfy.bot.__file__).parent
OPTIONAL = {"watchfiles"}  # imported where used, so the bot runs without the dev extra


def modules() -> dict[str, ast.Module]:
    found = {}
    for path in sorted(BOT.rglob("*.py")):
        name = ".".join(("discomfy", *path.relative_to(BOT.parent).with_suffix("").parts))
        found[name.removesuffix(".__init__")] = ast.parse(path.read_text(), str(path))
    assert len(found) > 10
    return found


def imported(tree: ast.AST, known: set[str]) -> set[str]:
    """Modules of ``known`` that ``tree`` imports, wherever the import statement is."""
    names: set[str] = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            names |= {a.name for a in node.names}
        elif isinstance(node, ast.ImportFrom) and node.module:
            names |= {node.module, *(f"{node.module}.{a.name}" for a in node.names)}
    return names & known


def cycle(graph: dict[str, set[str]]) -> list[str]:
    """One import cycle of ``graph`` (empty when there is none)."""
    state: dict[str, int] = {}
    path: list[str] = []

    def visit(node: str) -> list[str]:
        state[node] = 1
        path.append(node)
        for target in sorted(graph[node]):
            if state.get(target) == 1:
                return path[path.index(target):] + [target]
            if target not in state and (found := visit(target)):
                return found
        state[node] = 2
        path.pop()
        return []

    for node in sorted(graph):
        if node not in state and (found := visit(node)):
            return found
    return []


def test_the_cycle_finder_finds_a_cycle():
    assert cycle({"a": {"b"}, "b": {"c"}, "c": {"a"}}) == ["a", "b", "c", "a"]
    assert cycle({"a": {"b"}, "b": set()}) == []


def test_no_import_cycle_in_the_bot_package():
    trees = modules()
    graph = {name: imported(tree, set(trees)) - {name} for name, tree in trees.items()}
    assert cycle(graph) == []


def test_no_function_level_import_but_optional_dependencies():
    late = []
    for name, tree in modules().items():
        for function in ast.walk(tree):
            if isinstance(function, (ast.FunctionDef, ast.AsyncFunctionDef)):
                for node in ast.walk(function):
                    if isinstance(node, ast.Import | ast.ImportFrom):
                        top = (node.module if isinstance(node, ast.ImportFrom) else node.names[0].name) or ""
                        if top.split(".")[0] not in OPTIONAL:
                            late.append(f"{name}:{node.lineno}")
    assert late == []


def test_every_bot_module_is_under_300_lines():
    long = {p.name: n for p in BOT.rglob("*.py") if (n := len(p.read_text().splitlines())) >= 300}
    assert long == {}
