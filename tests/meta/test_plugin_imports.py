"""Plugins use only the public surface: ``discomfy`` itself (``discomfy/__init__.py``, which
exports what a plugin may use) and, in a plugin's tests, the ``discomfy.testing`` kit. A plugin
that imports ``discomfy.bot.…`` or ``discomfy.core.…`` breaks whenever the host moves a file;
one that imports another plugin breaks when that plugin is left out. Read with ``ast``, so an
import inside a function counts too. The throwaway-tree tests show the check fails when it should.
"""

from __future__ import annotations

import ast
import textwrap
from pathlib import Path

from tests.conftest import REPO_ROOT

PUBLIC = "discomfy"
TEST_KIT = "discomfy.testing"


def is_test_file(path: Path) -> bool:
    return path.name.startswith("test_") or path.name == "conftest.py" or "tests" in path.parts


def imported_modules(root: Path, path: Path) -> list[tuple[int, str]]:
    """(line, absolute module name) of every import in ``root / path``; a relative import is
    resolved against the folder the module is in."""
    folder = list(path.parts[:-1])
    found = []
    for node in ast.walk(ast.parse((root / path).read_text(), str(path))):
        if isinstance(node, ast.Import):
            found += [(node.lineno, alias.name) for alias in node.names]
        elif isinstance(node, ast.ImportFrom) and node.level:
            base = folder[: len(folder) - (node.level - 1)]
            found.append((node.lineno, ".".join([*base, node.module] if node.module else base)))
        elif isinstance(node, ast.ImportFrom):
            found.append((node.lineno, node.module or ""))
    return found


def forbidden_imports(root: Path) -> list[str]:
    """``path:line imports module`` for every import a plugin under ``root/plugins`` may not make."""
    problems = []
    for path in sorted((root / "plugins").rglob("*.py")):
        relative = path.relative_to(root)
        package = ".".join(relative.parts[:2]).removesuffix(".py")  # plugins.<name>, a folder or one file
        for line, module in imported_modules(root, relative):
            if module == PUBLIC:
                continue
            if module == TEST_KIT or module.startswith(TEST_KIT + "."):
                if is_test_file(relative):
                    continue
            elif not module.startswith(PUBLIC + ".") and not module.startswith("plugins"):
                continue  # the standard library and third-party packages are the plugin's own business
            elif module == package or module.startswith(package + "."):
                continue  # the plugin's own modules
            problems.append(f"{relative}:{line} imports {module}")
    return problems


def test_plugins_import_only_the_public_surface():
    plugins = list((REPO_ROOT / "plugins").rglob("*.py"))
    assert len(plugins) > 10, "the walk found too few plugin modules to mean anything"
    problems = forbidden_imports(REPO_ROOT)
    assert problems == [], ("plugins may import only `discomfy` (and `discomfy.testing` in tests); "
                            "export what they need from discomfy/__init__.py:\n" + "\n".join(problems))


def _tree(root: Path, files: dict[str, str]) -> Path:
    for name, text in files.items():
        path = root / name
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(textwrap.dedent(text))
    return root


def test_a_private_host_module_another_plugin_or_the_kit_outside_tests_is_found(tmp_path):
    root = _tree(tmp_path, {
        "plugins/good/__init__.py": "import discord\nfrom discomfy import hookimpl\nfrom .helpers import tidy\n",
        "plugins/good/helpers.py": "import re\nfrom . import tidy_words\n",
        "plugins/good/tidy_words.py": "",
        "plugins/good/tests/test_good.py": "from discomfy.testing import harness\nimport discomfy.testing.fake_comfyui\n",
        "plugins/bad/__init__.py": "def late():\n    from discomfy.bot.views import result_view\n",
        "plugins/bad/state.py": "import discomfy.core.jobs.job\nfrom discomfy.testing import harness\n",
        "plugins/bad/neighbour.py": "from ..good import helpers\nfrom plugins.good.helpers import tidy\n",
    })
    assert forbidden_imports(root) == [
        "plugins/bad/__init__.py:2 imports discomfy.bot.views",
        "plugins/bad/neighbour.py:1 imports plugins.good",
        "plugins/bad/neighbour.py:2 imports plugins.good.helpers",
        "plugins/bad/state.py:1 imports discomfy.core.jobs.job",
        "plugins/bad/state.py:2 imports discomfy.testing",
    ]
