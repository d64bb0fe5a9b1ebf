"""Reading ComfyUI ``/object_info`` node definitions.

Two encodings of a choice list exist side by side on real servers: the legacy
``[[choices...], {opts}]`` and the V3 ``["COMBO", {"options": [...]}]``. Every consumer in
this package goes through ``input_spec`` so both are understood in one place.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

ObjectInfo = dict[str, dict[str, Any]]


@dataclass(frozen=True)
class InputSpec:
    """One input of a node class: its type (``INT``, ``MODEL``, ``COMBO``...), whether it is
    required, its choices when it is a combo, and its options (min/max/default)."""

    name: str
    type: str
    required: bool
    choices: tuple[Any, ...] | None = None
    options: dict[str, Any] = field(default_factory=dict)


def _parse(name: str, raw: Any, required: bool) -> InputSpec:
    if not isinstance(raw, (list, tuple)) or not raw:
        return InputSpec(name, "*", required)
    head = raw[0]
    opts = raw[1] if len(raw) > 1 and isinstance(raw[1], dict) else {}
    if isinstance(head, list):
        return InputSpec(name, "COMBO", required, tuple(head), opts)
    if head == "COMBO":
        return InputSpec(name, "COMBO", required, tuple(opts.get("options") or ()), opts)
    return InputSpec(name, str(head), required, None, opts)


def input_specs(object_info: ObjectInfo, class_type: str) -> dict[str, InputSpec]:
    """All inputs of ``class_type`` (required and optional); empty for an unknown class."""
    info = object_info.get(class_type)
    if not info:
        return {}
    out: dict[str, InputSpec] = {}
    inputs = info.get("input") or {}
    for section, required in (("required", True), ("optional", False)):
        for name, raw in (inputs.get(section) or {}).items():
            out[name] = _parse(name, raw, required)
    return out


def input_spec(object_info: ObjectInfo, class_type: str, input_name: str) -> InputSpec | None:
    return input_specs(object_info, class_type).get(input_name)


def output_types(object_info: ObjectInfo, class_type: str) -> list[str]:
    info = object_info.get(class_type) or {}
    return [str(t) if not isinstance(t, list) else "COMBO" for t in info.get("output") or []]


def choices(object_info: ObjectInfo, class_type: str, input_name: str) -> tuple[Any, ...] | None:
    """The server's current choice list for a combo input (model files, LoRAs, samplers)."""
    spec = input_spec(object_info, class_type, input_name)
    return spec.choices if spec else None
