"""Workflow specs already loaded in this process, shared by every catalog.

Loading a manifest checks its contract by rendering the template a dozen times, validating each
render against the parameter schema: the largest cost of starting a bot, paid again by every
bot a process starts (the playground's reloads, ``--dev``, each test) although the files have
not changed. A spec is reused only while everything its loading read is the same:

- the files of its folder (name, size and modification time of each), so an edit is a reload;
- the owner it was loaded for;
- the strategies it may use: each one's name, class and attributes (functions by their code
  and closure), and for a plugin's class also the size and modification time of the file
  defining it, since a plugin's module is imported again by every bot. A class defined inside a
  function, or an attribute that prints as an address, cannot be told apart from another by
  these, so a spec loaded with it is never reused.

Specs are immutable (``WorkflowSpec`` is frozen and hands out copies of its template), so
sharing one between bots is safe.
"""

from __future__ import annotations

import inspect
import os
from collections import OrderedDict
from collections.abc import Callable, Hashable, Iterable
from pathlib import Path
from typing import Any

from discomfy.core.comfyui.workflows.manifest import WorkflowSpec

#: Enough for every shipped workflow and pack many times over; the oldest is dropped beyond it.
CAPACITY = 512

_specs: OrderedDict[Hashable, WorkflowSpec] = OrderedDict()


def folder_stamp(folder: Path) -> tuple[tuple[str, int, int], ...]:
    """Name, size and modification time of every file directly in ``folder`` (empty if missing)."""
    try:
        entries = [(p.name, p.stat()) for p in folder.iterdir() if p.is_file()]
    except FileNotFoundError:
        return ()
    return tuple(sorted((name, st.st_size, st.st_mtime_ns) for name, st in entries))


class Unidentifiable(Exception):
    """A strategy whose behaviour its description does not pin down."""


def strategies_stamp(strategies: Iterable[Any]) -> tuple[Any, ...] | None:
    """What identifies these strategies across imports of their modules, or None when one of
    them cannot be identified (then nothing loaded with them is reused)."""
    try:
        return tuple(sorted((_strategy_stamp(strategy) for strategy in strategies), key=repr))  # names are unique
    except Unidentifiable:
        return None


def _strategy_stamp(strategy: Any) -> tuple[Any, ...]:
    kind = type(strategy)
    if "<locals>" in kind.__qualname__:
        raise Unidentifiable(kind.__qualname__)
    source: tuple[Any, ...] = ()
    if not kind.__module__.startswith("discomfy."):  # the host's own modules are imported once
        try:
            path = inspect.getsourcefile(kind)
            st = os.stat(path) if path else None
        except (TypeError, OSError):
            st = None
        if st is None:
            raise Unidentifiable(kind.__qualname__)
        source = (path, st.st_size, st.st_mtime_ns)
    state = _described(vars(strategy)) if hasattr(strategy, "__dict__") else ()
    return (getattr(strategy, "name", None), kind.__module__, kind.__qualname__, source, state)


def _described(value: Any) -> Any:
    """A hashable description equal for equal behaviour; functions by their code and closure."""
    if value is None or isinstance(value, (str, int, float, bool, bytes)):
        return value
    if isinstance(value, dict):
        return ("dict", tuple((_described(k), _described(v)) for k, v in sorted(value.items(), key=repr)))
    if isinstance(value, (list, tuple, frozenset, set)):
        items = sorted(value, key=repr) if isinstance(value, (set, frozenset)) else value
        return (type(value).__name__, tuple(_described(v) for v in items))
    code = getattr(value, "__code__", None)
    if code is not None:
        cells = tuple(_described(c.cell_contents) for c in (getattr(value, "__closure__", None) or ()))
        return ("fn", value.__module__, value.__qualname__, code.co_code, _described(code.co_consts), cells)
    if type(value).__name__ == "code":
        return ("code", value.co_code)
    text = repr(value)
    if " at 0x" in text:
        raise Unidentifiable(text)
    return (type(value).__qualname__, text)


def load_shared(manifest: Path, owner: str, strategies: list[Any],
                load: Callable[[], WorkflowSpec]) -> WorkflowSpec:
    """The spec of ``manifest`` for ``owner``: reused when nothing it was loaded from changed,
    else ``load()``-ed (its errors propagate and nothing is kept)."""
    plugin_strategies = strategies_stamp(strategies)
    if plugin_strategies is None:
        return load()
    key = (manifest.resolve(), owner, folder_stamp(manifest.parent), plugin_strategies)
    spec = _specs.get(key)
    if spec is not None:
        _specs.move_to_end(key)
        return spec
    spec = load()
    _specs[key] = spec
    while len(_specs) > CAPACITY:
        _specs.popitem(last=False)
    return spec


__all__ = ["CAPACITY", "folder_stamp", "load_shared", "strategies_stamp"]
