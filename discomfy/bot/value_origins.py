"""Which plugin supplied an option's value, worded the same wherever a user sees it.

A ``discomfy_prepare_parameters`` hook that fills an option the user left out says so in
``sources`` (``{"aspect_ratio": "your defaults"}``). The result embed groups those values by
origin, ``/help`` lists each command's by origin, and the ℹ️ Info button notes each value's;
all three read it here, so the wording cannot drift apart.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import Any, TypeVar

Shown = TypeVar("Shown")


def by_origin(items: Iterable[tuple[str, Shown]], sources: Mapping[str, Any]) -> dict[str, list[Shown]]:
    """``{origin: [shown, ...]}`` for the ``(parameter, shown)`` items a plugin supplied, in the
    items' order, each origin where its first item was; the user's own values are left out."""
    grouped: dict[str, list[Shown]] = {}
    for name, shown in items:
        if name in sources:
            grouped.setdefault(str(sources[name]), []).append(shown)
    return grouped


def origin_note(name: str, sources: Mapping[str, Any]) -> str:
    """`` (your defaults)`` after a value a plugin supplied, nothing after the user's own."""
    return f" ({sources[name]})" if name in sources else ""
