"""The package's shape stays as docs/architecture.md describes it: no import cycles anywhere
in ``discomfy/``, and nothing under ``discomfy/core/`` reaches ``discord``.

Both rules are read from the source with ``ast``, so an import hidden inside a function or
under ``if TYPE_CHECKING:`` counts. The throwaway-package tests show each rule fails when it
should.
"""

from __future__ import annotations

import subprocess
import sys
import textwrap
from pathlib import Path

from tests.conftest import REPO_ROOT
from tests.meta.import_graph import import_cycles, module_names, reaching


def _package(root: Path, files: dict[str, str]) -> Path:
    for name, text in files.items():
        path = root / name
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(textwrap.dedent(text))
    return root


def test_discomfy_has_no_import_cycle():
    modules = module_names(REPO_ROOT, "discomfy")
    assert len(modules) > 50, "the walk found too few modules to mean anything"
    cycles = import_cycles(REPO_ROOT, "discomfy")
    assert cycles == [], "import cycles:\n" + "\n".join(" <-> ".join(c) for c in cycles)


def test_no_core_module_reaches_discord():
    core = [m for m in module_names(REPO_ROOT, "discomfy") if m.startswith("discomfy.core.")]
    assert len(core) > 40, "the walk found too few core modules to mean anything"
    found = reaching(REPO_ROOT, "discomfy", "discomfy.core", "discord")
    assert found == {}, "\n".join(" -> ".join(chain) for chain in found.values())


def test_importing_every_core_module_loads_no_discord():
    core = sorted(m for m in module_names(REPO_ROOT, "discomfy") if m.startswith("discomfy.core"))
    code = "import sys\n" + "".join(f"import {m}\n" for m in core) + (
        "print(sorted(m for m in sys.modules if m == 'discord' or m.startswith('discord.')))")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True, cwd=REPO_ROOT)
    assert out.stdout.strip() == "[]"


def test_a_cycle_behind_a_late_import_is_found(tmp_path):
    root = _package(tmp_path, {
        "pkg/__init__.py": "",
        "pkg/a.py": "from pkg.b import helper\n",
        "pkg/b.py": "def helper():\n    from pkg import a\n    return a\n",
        "pkg/c.py": "import pkg.a\n",
    })
    assert import_cycles(root, "pkg") == [["pkg.a", "pkg.b"]]


def test_a_cycle_behind_a_type_only_import_is_found(tmp_path):
    root = _package(tmp_path, {
        "pkg/__init__.py": "",
        "pkg/sub/__init__.py": "from .x import X\n",
        "pkg/sub/x.py": "from typing import TYPE_CHECKING\nif TYPE_CHECKING:\n    from ..y import Y\nclass X: ...\n",
        "pkg/y.py": "from .sub.x import X\nclass Y(X): ...\n",
    })
    assert import_cycles(root, "pkg") == [["pkg.sub.x", "pkg.y"]]


def test_a_package_without_cycles_passes(tmp_path):
    root = _package(tmp_path, {
        "pkg/__init__.py": "from .a import A\n",
        "pkg/a.py": "from .b import B\nclass A(B): ...\n",
        "pkg/b.py": "class B: ...\n",
    })
    assert import_cycles(root, "pkg") == []


def test_a_core_module_importing_discord_is_found_even_through_another_module(tmp_path):
    root = _package(tmp_path, {
        "pkg/__init__.py": "",
        "pkg/core/__init__.py": "",
        "pkg/core/clean.py": "import json\n",
        "pkg/core/direct.py": "def late():\n    import discord.ui\n",
        "pkg/core/indirect.py": "from pkg.ui import view\n",
        "pkg/ui.py": "from discord import ui as view\n",
    })
    found = reaching(root, "pkg", "pkg.core", "discord")
    assert found == {
        "pkg.core.direct": ["pkg.core.direct", "discord"],
        "pkg.core.indirect": ["pkg.core.indirect", "pkg.ui", "discord"],
    }
