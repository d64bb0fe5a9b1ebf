"""Checking a parameter schema, and checking user values against it with messages a Discord
user can act on ("steps must be between 10 and 50 (you gave 80)").

jsonschema does the heavy lifting for the schema itself; the common user mistakes (unknown
option, wrong type, out of range, not in the list, missing) are checked by hand first
because jsonschema's own wording ("80 is greater than the maximum of 50") names neither the
option nor the fix.
"""

from __future__ import annotations

import copy
import difflib
import re
from typing import Any

from jsonschema import Draft202012Validator
from jsonschema.exceptions import SchemaError

from discomfy.exceptions import ValidationError

_PY_TYPES = {
    "integer": (int,),
    "number": (int, float),
    "string": (str,),
    "boolean": (bool,),
    "array": (list, tuple),
    "object": (dict,),
}
_DISCORD_NAME = re.compile(r"[a-z0-9_-]{1,32}")
_TYPE_WORDS = {"integer": "a whole number", "number": "a number", "string": "text",
               "boolean": "true or false", "array": "a list", "object": "a set of values"}


def check_schema(schema: Any) -> list[str]:
    """Problems with the schema itself (not a 2020-12 schema, properties without a type...)."""
    if not isinstance(schema, dict):
        return ["the parameter schema is not a JSON object"]
    try:
        Draft202012Validator.check_schema(schema)
    except SchemaError as exc:
        path = "/".join(str(p) for p in exc.absolute_path) or "(root)"
        return [f"invalid JSON Schema at {path}: {exc.message}"]
    problems = []
    if schema.get("type") != "object":
        problems.append('the parameter schema must have "type": "object"')
    properties = schema.get("properties") or {}
    if len(properties) > 24:  # Discord allows 25 options; the `model` option may take one
        problems.append(f"{len(properties)} parameters; a Discord command takes at most 24 besides `model`")
    for name, prop in properties.items():
        if not _DISCORD_NAME.fullmatch(name):
            problems.append(f"parameter `{name}`: Discord option names are 1-32 lowercase letters, "
                            "digits, `-` or `_`")
        if not isinstance(prop, dict) or "type" not in prop:
            problems.append(f"parameter `{name}` has no \"type\"")
            continue
        extra = prop.get("x-discord", {})
        if not isinstance(extra, dict) or set(extra) - {"type", "autocomplete", "hidden"}:
            problems.append(f"parameter `{name}`: x-discord may only hold `type`, `autocomplete` and `hidden`")
        elif extra.get("type", "attachment") != "attachment" or not all(
                isinstance(extra.get(flag, False), bool) for flag in ("autocomplete", "hidden")):
            problems.append(f"parameter `{name}`: x-discord type must be \"attachment\", "
                            "autocomplete and hidden true or false")
        desc = prop.get("description", "")
        if len(desc) > 100:
            problems.append(f"parameter `{name}`: description is {len(desc)} characters, "
                            "Discord allows 100")
        if "default" in prop:
            try:
                _check_value(name, prop, prop["default"])
            except ValidationError as exc:
                problems.append(f"parameter `{name}`: its default is invalid: {exc.user_message}")
    for name in schema.get("required") or []:
        if name not in (schema.get("properties") or {}):
            problems.append(f"required parameter `{name}` is not among the properties")
    return problems


def _types_of(prop: dict[str, Any]) -> list[str]:
    t = prop.get("type")
    return [t] if isinstance(t, str) else list(t or [])


def _check_value(name: str, prop: dict[str, Any], value: Any, where: str = "") -> None:
    """Refuse ``value`` for ``name`` in words a user can act on; ``where`` (" That is the
    limit of model flux of /generate.") says whose limit a range or list is, since the models
    sharing a command differ."""
    types = _types_of(prop)
    if types and "null" in types and value is None:
        return
    ok_types = [t for t in types if t != "null"]
    if ok_types:
        matches = any(isinstance(value, _PY_TYPES.get(t, object)) for t in ok_types)
        if isinstance(value, bool) and "boolean" not in ok_types:
            matches = False
        if "integer" in ok_types and isinstance(value, float) and value.is_integer():
            matches = True
        if not matches:
            want = " or ".join(_TYPE_WORDS.get(t, t) for t in ok_types)
            raise ValidationError(f"`{name}` must be {want} (you gave {value!r}).", field=name)
    if "enum" in prop and value not in prop["enum"]:
        shown = ", ".join(f"`{v}`" for v in prop["enum"])
        raise ValidationError(f"`{name}` must be one of {shown} (you gave `{value}`).{where}", field=name)
    if isinstance(value, (int, float)) and not isinstance(value, bool):
        lo, hi = prop.get("minimum"), prop.get("maximum")
        if lo is not None and hi is not None and not lo <= value <= hi:
            raise ValidationError(f"`{name}` must be between {lo} and {hi} (you gave {value}).{where}",
                                  field=name)
        if lo is not None and value < lo:
            raise ValidationError(f"`{name}` must be at least {lo} (you gave {value}).{where}", field=name)
        if hi is not None and value > hi:
            raise ValidationError(f"`{name}` must be at most {hi} (you gave {value}).{where}", field=name)
    if isinstance(value, str):
        lo, hi = prop.get("minLength"), prop.get("maxLength")
        if lo is not None and len(value) < lo:
            what = "must not be empty" if lo == 1 else f"must be at least {lo} characters"
            raise ValidationError(f"`{name}` {what}.", field=name)
        if hi is not None and len(value) > hi:
            raise ValidationError(f"`{name}` must be at most {hi} characters "
                                  f"(yours has {len(value)}); shorten it.", field=name)


def is_hidden(prop: Any) -> bool:
    """Set only by buttons and plugins (``"x-discord": {"hidden": true}``): a user never sees
    such an option, so no message offers it."""
    return isinstance(prop, dict) and bool((prop.get("x-discord") or {}).get("hidden"))


def limit_of(label: str) -> str:
    """The sentence naming whose limit was broken (empty without a label)."""
    return f" That is the limit of {label}." if label else ""


def unknown_option(name: str, props: dict[str, Any], where: str) -> ValidationError:
    """``name`` is not among ``props``: the error names the nearest option and all of them
    (the ones a user can give)."""
    shown = [p for p, prop in props.items() if not is_hidden(prop)]
    accepted = ", ".join(f"`{p}`" for p in shown) or "no options"
    close = difflib.get_close_matches(name, shown, n=1, cutoff=0.6)
    hint = f" Did you mean `{close[0]}`?" if close else ""
    return ValidationError(f"`{name}` is not an option{where}.{hint} It accepts {accepted}.", field=name)


def value_problems(schema: dict[str, Any], values: dict[str, Any], *, label: str = "") -> list[ValidationError]:
    """Every given value that is refused on its own (unknown name, type, range, choice), all
    at once; ``validate_values`` stops at the first, which is what one Discord reply can show."""
    props: dict[str, Any] = schema.get("properties") or {}
    where = f" of {label}" if label else ""
    problems: list[ValidationError] = []
    for name, value in values.items():
        if value is None:
            continue
        if name not in props:
            problems.append(unknown_option(name, props, where))
            continue
        try:
            _check_value(name, props[name], value, limit_of(label))
        except ValidationError as exc:
            problems.append(exc)
    return problems


def validate_values(schema: dict[str, Any], values: dict[str, Any], *, label: str = "") -> dict[str, Any]:
    """Validate ``values`` against ``schema`` and return them with defaults applied.

    ``None`` counts as "not given" (Discord passes omitted options as None). ``label`` names
    the workflow in messages, e.g. "model flux" so an option another model accepts is refused
    with a reason. Raises ``ValidationError`` naming the parameter and the fix.
    """
    props: dict[str, Any] = schema.get("properties") or {}
    given = {k: v for k, v in values.items() if v is not None}
    where = f" of {label}" if label else ""
    for name in given:
        if name not in props:
            raise unknown_option(name, props, where)
    result: dict[str, Any] = {}
    for name, prop in props.items():
        if name in given:
            value = given[name]
            if _types_of(prop) == ["integer"] and isinstance(value, float) and value.is_integer():
                value = int(value)
            _check_value(name, prop, value, limit_of(label))
            result[name] = value
        elif "default" in prop:
            result[name] = copy.deepcopy(prop["default"])
    missing = [n for n in schema.get("required") or [] if n not in result]
    if missing:
        raise ValidationError(f"`{missing[0]}` is required{where}; please provide it.",
                              field=missing[0])
    errors = sorted(Draft202012Validator(schema).iter_errors(result), key=lambda e: list(e.path))
    if errors:
        err = errors[0]
        field = str(err.path[0]) if err.path else None
        name = f"`{field}`" if field else "the options"
        raise ValidationError(f"{name} is not valid: {err.message}.", field=field)
    return result
