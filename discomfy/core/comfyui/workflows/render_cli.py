"""``discomfy render PLUGIN key=value ...``: typed values from the command line -> API JSON.

Shell arguments are all strings; the workflow's schema says what each should be, so
``steps=30`` becomes an int and ``lora_strength=0.8`` a float before normal validation runs.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from typing import Any

from discomfy.exceptions import ValidationError

from .manifest import WorkflowSpec
from .updater import WorkflowUpdater

_TRUE, _FALSE = {"true", "yes", "1", "on"}, {"false", "no", "0", "off"}


def _convert(name: str, raw: str, prop: dict[str, Any]) -> Any:
    t = prop.get("type")
    types = [t] if isinstance(t, str) else list(t or [])
    if raw.lower() in ("null", "none") and "null" in types:
        return None
    try:
        if "integer" in types:
            return int(raw)
        if "number" in types:
            return float(raw)
    except ValueError:
        word = "a whole number" if "integer" in types else "a number"
        raise ValidationError(f"`{name}` must be {word} (you gave `{raw}`).", field=name) from None
    if "boolean" in types:
        if raw.lower() in _TRUE | _FALSE:
            return raw.lower() in _TRUE
        raise ValidationError(f"`{name}` must be true or false (you gave `{raw}`).", field=name)
    if "array" in types or "object" in types:
        try:
            return json.loads(raw)
        except json.JSONDecodeError:
            if "array" in types:
                return [part.strip() for part in raw.split(",") if part.strip()]
            raise ValidationError(f"`{name}` must be JSON (you gave `{raw}`).", field=name) from None
    return raw


def parse_cli_values(spec: WorkflowSpec, args: Sequence[str]) -> dict[str, Any]:
    """``["steps=30", "prompt=a cat"]`` -> ``{"steps": 30, "prompt": "a cat"}`` typed by the schema.
    Unknown names pass through untouched so the schema check names them with the options."""
    values: dict[str, Any] = {}
    props = spec.parameters
    for arg in args:
        name, sep, raw = arg.partition("=")
        if not sep or not name:
            raise ValidationError(f"`{arg}` is not `key=value`; write e.g. `steps=30`.")
        values[name.strip()] = _convert(name.strip(), raw, props[name.strip()]) if name.strip() in props else raw
    return values


def render_cli(spec: WorkflowSpec, args: Sequence[str], *, updater: WorkflowUpdater | None = None) -> dict[str, Any]:
    """The exact API-format graph that would be queued for these ``key=value`` arguments
    (image parameters keep the names given, as if they had been uploaded under them)."""
    updater = updater or WorkflowUpdater()
    return updater.render(spec, parse_cli_values(spec, args)).graph
