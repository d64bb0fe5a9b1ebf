"""``WorkflowParameters``: the values one job asks for, before any schema has judged them.

Not one fixed model for every workflow: each workflow's JSON Schema says what it accepts,
and ``validated(schema)`` turns the raw values into the checked dict (defaults applied) that
strategies read. Without a schema (``WorkflowUpdater().update(workflow, params)`` on a bare
graph) the values are used as given.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from typing import Any

from .validation import validate_values


class WorkflowParameters(Mapping[str, Any]):
    """Immutable mapping of parameter name -> value; ``None`` values count as not given."""

    def __init__(self, values: Mapping[str, Any] | None = None, /, **kwargs: Any) -> None:
        merged = dict(values or {})
        merged.update(kwargs)
        self._values = {k: v for k, v in merged.items() if v is not None}

    def __getitem__(self, key: str) -> Any:
        return self._values[key]

    def __iter__(self) -> Iterator[str]:
        return iter(self._values)

    def __len__(self) -> int:
        return len(self._values)

    def __repr__(self) -> str:
        inner = ", ".join(f"{k}={v!r}" for k, v in self._values.items())
        return f"WorkflowParameters({inner})"

    def to_dict(self) -> dict[str, Any]:
        return dict(self._values)

    def validated(self, schema: dict[str, Any] | None, *, label: str = "") -> dict[str, Any]:
        """Check against ``schema`` and return the values with defaults applied.
        Raises ``discomfy.exceptions.ValidationError`` naming the parameter and the fix."""
        if schema is None:
            return dict(self._values)
        return validate_values(schema, self._values, label=label)
