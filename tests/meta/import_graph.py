"""The import graph of a package, read with ``ast`` (nothing is imported).

Every ``import`` counts — at module level, inside functions, and under ``if TYPE_CHECKING:`` —
because a cycle hidden behind a late or type-only import is still a cycle: the two modules
cannot be understood, tested or moved one without the other.
"""

from __future__ import annotations

import ast
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path


@dataclass(frozen=True)
class Import:
    """One import statement: who imports what, and where in the file."""

    importer: str
    imported: str
    line: int
    in_function: bool


def module_names(root: Path, package: str) -> dict[str, Path]:
    """Dotted module name -> file, for every ``.py`` file of ``package`` under ``root``."""
    modules = {}
    for path in sorted((root / package).rglob("*.py")):
        parts = list(path.relative_to(root).with_suffix("").parts)
        if parts[-1] == "__init__":
            parts.pop()
        modules[".".join(parts)] = path
    return modules


def _resolve(node: ast.ImportFrom, module: str, is_package: bool) -> str:
    if not node.level:
        return node.module or ""
    base = module.split(".")
    base = base if is_package else base[:-1]
    base = base[: len(base) - (node.level - 1)]
    return ".".join([*base, node.module] if node.module else base)


def imports_of(module: str, path: Path, known: set[str]) -> Iterator[Import]:
    """The package-internal modules ``module`` imports (``from a import b`` counts ``a.b``
    when ``a.b`` is a module, else ``a``)."""
    tree = ast.parse(path.read_text(), filename=str(path))
    is_package = path.name == "__init__.py"
    functions = [n for n in ast.walk(tree) if isinstance(n, (ast.FunctionDef, ast.AsyncFunctionDef))]
    inside = {id(child) for f in functions for child in ast.walk(f) if child is not f}
    for node in ast.walk(tree):
        targets: list[str] = []
        if isinstance(node, ast.Import):
            targets = [alias.name for alias in node.names]
        elif isinstance(node, ast.ImportFrom):
            base = _resolve(node, module, is_package)
            targets = [f"{base}.{a.name}" if f"{base}.{a.name}" in known else base for a in node.names]
        for target in targets:
            while target and target not in known:
                target = target.rpartition(".")[0]
            if target and target != module:
                yield Import(module, target, node.lineno, id(node) in inside)


def import_graph(root: Path, package: str) -> dict[str, set[str]]:
    modules = module_names(root, package)
    known = set(modules)
    graph: dict[str, set[str]] = {m: set() for m in modules}
    for module, path in modules.items():
        for imp in imports_of(module, path, known):
            # a package's own __init__ importing its children is how packages work, not a cycle
            if not imp.imported.startswith(module + ".") or path.name != "__init__.py":
                graph[module].add(imp.imported)
    return graph


def _parents(module: str) -> list[str]:
    parts = module.split(".")
    return [".".join(parts[:i]) for i in range(1, len(parts))]


def import_cycles(root: Path, package: str) -> list[list[str]]:
    """Every strongly connected group of modules (size > 1), as sorted lists.

    Importing ``a.b.c`` runs ``a/__init__`` and ``a/b/__init__`` first, so those edges are
    added: a child that imports something which imports the child's own package ``__init__``
    back is a cycle too."""
    graph = import_graph(root, package)
    for module in list(graph):
        for target in list(graph[module]):
            graph[module].update(p for p in _parents(target) if p in graph and not module.startswith(p))
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    on_stack: set[str] = set()
    groups: list[list[str]] = []
    counter = 0

    def visit(node: str) -> None:  # Tarjan's algorithm
        nonlocal counter
        index[node] = low[node] = counter
        counter += 1
        stack.append(node)
        on_stack.add(node)
        for nxt in graph[node]:
            if nxt not in index:
                visit(nxt)
                low[node] = min(low[node], low[nxt])
            elif nxt in on_stack:
                low[node] = min(low[node], index[nxt])
        if low[node] == index[node]:
            group = []
            while True:
                member = stack.pop()
                on_stack.discard(member)
                group.append(member)
                if member == node:
                    break
            if len(group) > 1:
                groups.append(sorted(group))

    for node in sorted(graph):
        if node not in index:
            visit(node)
    return sorted(groups)


def function_level_imports(root: Path, package: str) -> list[Import]:
    modules = module_names(root, package)
    known = set(modules)
    return [imp for m, p in modules.items() for imp in imports_of(m, p, known) if imp.in_function]


def external_imports(path: Path) -> set[str]:
    """Top-level names of every module ``path`` imports (anywhere in the file)."""
    tree = ast.parse(path.read_text(), filename=str(path))
    names: set[str] = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            names.update(alias.name.split(".")[0] for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and not node.level and node.module:
            names.add(node.module.split(".")[0])
    return names


def reaching(root: Path, package: str, start_prefix: str, forbidden: str) -> dict[str, list[str]]:
    """Modules under ``start_prefix`` that import ``forbidden`` directly or through other
    modules of the package: module -> the import chain that gets there."""
    modules = module_names(root, package)
    graph = import_graph(root, package)
    direct = {m for m, p in modules.items() if forbidden in external_imports(p)}
    found: dict[str, list[str]] = {}
    for start in sorted(m for m in modules if m == start_prefix or m.startswith(start_prefix + ".")):
        chains = {start: [start]}
        todo = [start]
        while todo:
            module = todo.pop()
            if module in direct:
                found[start] = [*chains[module], forbidden]
                break
            for nxt in sorted(graph.get(module, ())):
                if nxt not in chains:
                    chains[nxt] = [*chains[module], nxt]
                    todo.append(nxt)
    return found
