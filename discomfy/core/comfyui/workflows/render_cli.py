"""``discomfy render PLUGIN key=value ...``: typed values from the command line -> API JSON.

Shell arguments are all strings; the workflow's schema says what each should be, so
``steps=30`` becomes an int and ``lora_strength=0.8`` a float before normal validation runs.
"""

from __future__ import annotations

import difflib
import json
from collections.abc import Mapping, Sequence
from typing import Any

from discomfy.exceptions import ValidationError

from .manifest import WorkflowSpec
from .schema.validation import value_problems
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


def split_arguments(args: Sequence[str]) -> tuple[dict[str, str], list[str]]:
    """``key=value`` arguments as given, and what is wrong with the others (all of them):
    an argument that is not ``key=value``, a key given twice (neither value is taken)."""
    raw: dict[str, str] = {}
    problems: list[str] = []
    repeated: set[str] = set()
    for arg in args:
        name, sep, value = arg.partition("=")
        name = name.strip()
        if not sep or not name:
            problems.append(f"`{arg}` is not `key=value`; write e.g. `steps=30`.")
        elif name in raw:
            if name not in repeated:
                problems.append(f"`{name}` is given more than once; give each option once.")
            repeated.add(name)
        else:
            raw[name] = value
    return {k: v for k, v in raw.items() if k not in repeated}, problems


def parse_cli_values(spec: WorkflowSpec, args: Sequence[str]) -> dict[str, Any]:
    """``["steps=30", "prompt=a cat"]`` -> ``{"steps": 30, "prompt": "a cat"}`` typed by the schema.

    Every problem is reported at once, in one ``ValidationError`` (one line each): malformed
    or repeated arguments, values of the wrong type, unknown options (with the nearest name),
    values out of range or not among the choices."""
    raw, problems = split_arguments(args)
    values: dict[str, Any] = {}
    props = spec.parameters
    for name, text in raw.items():
        if name not in props:
            values[name] = text  # named with the options by value_problems
            continue
        try:
            values[name] = _convert(name, text, props[name])
        except ValidationError as exc:
            problems.append(exc.user_message)
    problems += [exc.user_message for exc in value_problems(spec.schema, values, label=spec.label())]
    if problems:
        raise ValidationError("\n".join(problems))
    return values


def pick_workflow(specs: Mapping[str, WorkflowSpec], name: str,
                  args: Sequence[str]) -> tuple[WorkflowSpec, list[str]]:
    """The workflow ``discomfy render NAME args`` means, and the arguments left for it.

    ``NAME`` is a workflow, plugin, model or command name; ``model=X`` picks the command's
    model exactly as Discord's ``model`` option does (without it: the one NAME names, else the
    command's first model)."""
    models = [a.partition("=")[2].strip() for a in args if a.partition("=")[0].strip() == "model" and "=" in a]
    rest = [a for a in args if not (a.partition("=")[0].strip() == "model" and "=" in a)]
    named = specs.get(name) or next((s for s in specs.values() if name in (s.plugin, s.model)), None)
    of_command = [s for s in specs.values() if s.command == name]
    if named is None and not of_command:
        known = ", ".join(sorted({*specs, *(s.command for s in specs.values())}))
        close = difflib.get_close_matches(name, known.split(", "), n=1, cutoff=0.6)
        hint = f" Did you mean `{close[0]}`?" if close else ""
        raise ValidationError(f"No workflow or command named `{name}`.{hint} Known: {known or 'none'}.")
    if len(models) > 1:
        raise ValidationError("`model` is given more than once; give each option once.")
    if not models:
        return named or of_command[0], rest
    pool = of_command or [s for s in specs.values() if s.command == named.command]
    for spec in pool:
        if spec.model == models[0]:
            return spec, rest
    offered = [s.model for s in pool]
    close = difflib.get_close_matches(models[0], offered, n=1, cutoff=0.6)
    hint = f" Did you mean `{close[0]}`?" if close else ""
    raise ValidationError(f"`{models[0]}` is not a model of /{pool[0].command}.{hint} "
                          f"Its models: {', '.join(f'`{m}`' for m in offered)}.")


def render_cli(spec: WorkflowSpec, args: Sequence[str], *, updater: WorkflowUpdater | None = None) -> dict[str, Any]:
    """The exact API-format graph that would be queued for these ``key=value`` arguments
    (image parameters keep the names given, as if they had been uploaded under them)."""
    updater = updater or WorkflowUpdater()
    return updater.render(spec, parse_cli_values(spec, args)).graph
