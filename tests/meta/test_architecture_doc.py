"""docs/architecture.md's tree is the package tree: every package under discomfy/ has its line,
at its place, and the tree names no package that does not exist."""

from __future__ import annotations

import re

from tests.conftest import REPO_ROOT

DOC = REPO_ROOT / "docs" / "architecture.md"


def tree_paths() -> list[str]:
    block = DOC.read_text().split("```\n", 2)[1]
    paths: list[str] = []
    stack: list[str] = []
    for line in block.splitlines():
        match = re.match(r"^((?:[│ ]   |[├└]── )*)([\w.]+)/\s", line)
        if not match:
            continue
        depth = len(match.group(1)) // 4
        stack = stack[:depth] + [match.group(2)]
        paths.append("/".join(stack))
    return paths


def test_the_tree_lists_exactly_the_packages_of_discomfy():
    packages = sorted(str(p.parent.relative_to(REPO_ROOT)) for p in (REPO_ROOT / "discomfy").rglob("__init__.py"))
    assert len(packages) > 15
    assert sorted(tree_paths()) == packages


def test_the_readme_links_the_architecture_page():
    assert "(docs/architecture.md)" in (REPO_ROOT / "README.md").read_text()
