"""No function under ``discomfy/`` that nothing calls (issue 27 point 4).

A small static check with no dependency: every function and method defined under ``discomfy/``
must be named somewhere in the code that can call it (``discomfy/``, ``plugins/``, ``tests/``,
``bench/``): as a name, an attribute, or a string (``getattr``, ``__all__``, lazy exports). A
name used anywhere counts for every function of that name. That is loose on purpose (a method
called through an object of another type is no false alarm) and still catches what the issue
found: ``with_values``, ``schema_property``, ``interaction_expires_at``, ``last_used`` and
``wait_for_violation`` were named nowhere at all.

Frameworks call some functions without our code naming them; only those are exempt:
a dunder method (Python calls it), a function under a registering decorator
(``REGISTERED_BY``), and the names in ``FRAMEWORK_CALLS``, each with who calls it. That list
cannot go stale: a name in it must be defined here and named nowhere else.
"""

from __future__ import annotations

import ast
import functools
import re
import warnings
from collections.abc import Iterable
from pathlib import Path

from tests.conftest import REPO_ROOT

CALLERS = ("discomfy", "plugins", "tests", "bench")

# decorator (as written, without its arguments) -> who calls the function it registers
REGISTERED_BY = {
    "hookimpl": "pluggy, through the hook of the function's name",
    "pytest.hookimpl": "pytest, as the hook of the function's name (discomfy.testing's plugin)",
    "pytest.fixture": "pytest, for a test that names the fixture as an argument",
    "app_commands.command": "discord.py, when a user runs the slash command",
    "commands.Cog.listener": "discord.py, on the event of the function's name",
    "command_handler": "a WorkflowCog's slash command (discomfy.bot.cog)",
    "fake_node": "the fake ComfyUI, for the node class it names",
}

# function name -> the framework (or documented surface) that calls it
FRAMEWORK_CALLS = {
    "setup_hook": "discord.py's Client.login, once before connecting (ComfyUIBot)",
    "interaction_check": "discord.py, before a tree's or a group's command runs",
    "on_error": "discord.py's CommandTree, with the exception an app command raised",
    "from_custom_id": "discord.py's DynamicItem, rebuilding a persistent button after a restart",
    "before_identify_hook": "discord.py's AutoShardedClient, before each shard identifies (bot/sharding.py)",
    "has_permission": "review plugins: docs/plugins.md documents `review.requester.has_permission`",
}

IDENTIFIER = re.compile(r"[A-Za-z_]\w*\Z")


def python_files(root: Path, folders: Iterable[str]) -> list[Path]:
    """The modules under ``folders``, but not this one: its lists name the exempt functions."""
    return [path for folder in folders for path in sorted((root / folder).rglob("*.py"))
            if "__pycache__" not in path.parts and path.resolve() != Path(__file__).resolve()]


def parsed(path: Path) -> ast.Module:
    with warnings.catch_warnings():  # an invalid escape in some module's string is not this check's finding
        warnings.simplefilter("ignore", (DeprecationWarning, SyntaxWarning))
        return ast.parse(path.read_text(), str(path))


def decorator_name(node: ast.expr) -> str:
    return ast.unparse(node.func if isinstance(node, ast.Call) else node)


def defined_functions(files: Iterable[Path], root: Path) -> dict[str, list[str]]:
    """Function name -> where each function of that name is defined (``path:line``), leaving
    out the ones Python or a registering decorator calls."""
    found: dict[str, list[str]] = {}
    for path in files:
        for node in ast.walk(parsed(path)):
            if not isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef)):
                continue
            if node.name.startswith("__") and node.name.endswith("__"):
                continue
            if any(decorator_name(d) in REGISTERED_BY for d in node.decorator_list):
                continue
            found.setdefault(node.name, []).append(f"{path.relative_to(root)}:{node.lineno}")
    return found


def used_names(files: Iterable[Path]) -> set[str]:
    """Every name, attribute and identifier-like string the files mention."""
    names: set[str] = set()
    for path in files:
        for node in ast.walk(parsed(path)):
            if isinstance(node, ast.Name):
                names.add(node.id)
            elif isinstance(node, ast.Attribute):
                names.add(node.attr)
            elif isinstance(node, ast.Constant) and isinstance(node.value, str) and IDENTIFIER.match(node.value):
                names.add(node.value)
    return names


def never_called(root: Path, defined_in: Iterable[str] = ("discomfy",), callers: Iterable[str] = CALLERS) -> dict[str, list[str]]:
    defined = defined_functions(python_files(root, defined_in), root)
    used = used_names(python_files(root, callers))
    return {name: where for name, where in defined.items() if name not in used}


@functools.cache
def never_called_here() -> dict[str, list[str]]:
    """The repository's answer, read once for the tests below (parsing every module takes a while)."""
    return never_called(REPO_ROOT)


def test_every_function_under_discomfy_is_called_or_called_by_a_framework():
    assert len(defined_functions(python_files(REPO_ROOT, ["discomfy"]), REPO_ROOT)) > 500  # it read the package
    unused = {name: where for name, where in never_called_here().items() if name not in FRAMEWORK_CALLS}
    assert not unused, "functions nothing calls (remove them, or use them):\n" + "\n".join(
        f"  {name}: {', '.join(where)}" for name, where in sorted(unused.items()))


def test_every_framework_entry_point_listed_is_one():
    unused = never_called_here()
    stale = sorted(set(FRAMEWORK_CALLS) - set(unused))
    assert not stale, f"listed as called only by a framework, but our code names them (or they are gone): {stale}"


def test_the_check_finds_a_function_nothing_calls(tmp_path: Path):
    package = tmp_path / "discomfy"
    package.mkdir()
    (package / "module.py").write_text(
        "from discomfy import hookimpl\n\n"
        "def used():\n    return 1\n\n"
        "def forgotten():\n    return used()\n\n"
        "class Thing:\n"
        "    def __len__(self):\n        return 0\n\n"
        "    def looked_up(self):\n        return 2\n\n"
        "    def stale_method(self):\n        return 3\n\n"
        "    @hookimpl\n    def discomfy_startup(self):\n        return None\n\n"
        "NAMES = ['looked_up']\n")
    assert never_called(tmp_path, callers=["discomfy"]) == {
        "forgotten": ["discomfy/module.py:6"], "stale_method": ["discomfy/module.py:16"]}
