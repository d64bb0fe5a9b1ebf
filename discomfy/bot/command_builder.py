"""discord.py slash commands from a :class:`CommandSpec` (the workflows sharing a command).

Which options a command has — the union of its workflows' schema properties, with types,
ranges, choices and descriptions — is decided Discord-free in
:mod:`discomfy.core.comfyui.workflows.commands`; this module only translates that into the
callback signature discord.py reads its options from (plus the ``model`` choice when several
workflows share the command).
"""

from __future__ import annotations

import inspect
from dataclasses import replace
from collections.abc import Awaitable, Callable
from typing import Any, Literal

import discord
from discord import app_commands

from discomfy.core.comfyui.workflows.commands import CommandSpec, OptionSpec

MAX_OPTIONS = 25
MAX_CHOICES = 25
DESCRIPTION_LIMIT = 100

_TYPES: dict[str, type] = {"string": str, "integer": int, "number": float, "boolean": bool, "attachment": discord.Attachment}


def shorten(text: str, limit: int = DESCRIPTION_LIMIT) -> str:
    return text if len(text) <= limit else text[: limit - 1] + "…"


def annotation_for(option: OptionSpec) -> Any:
    kind = _TYPES.get(option.type, str)
    if kind in (bool, discord.Attachment):
        return kind
    if option.choices and len(option.choices) <= MAX_CHOICES and not option.autocomplete:
        return Literal[tuple(option.choices)]  # type: ignore[misc]
    if kind in (int, float) and (option.min_value is not None or option.max_value is not None):
        low = kind(option.min_value) if option.min_value is not None else None
        high = kind(option.max_value) if option.max_value is not None else None
        return app_commands.Range[kind, low, high]  # type: ignore[index]
    if kind is str and option.max_length:
        return app_commands.Range[str, 1, int(option.max_length)]
    return kind


def widened(command: CommandSpec, option: OptionSpec) -> OptionSpec:
    """``option`` with the limits and choices of *every* model that has it, not only the
    first: Discord enforces what we sync, so a narrower range would make values another model
    accepts (sdxl's 60 steps beside flux's 50) impossible to send. The chosen model's own
    schema then refuses what it does not accept, naming its limit."""
    props = [spec.parameters[option.name] for spec in command.workflows.values() if option.name in spec.parameters]
    lows = [p["minimum"] for p in props if "minimum" in p]
    highs = [p["maximum"] for p in props if "maximum" in p]
    changes: dict[str, Any] = {
        "min_value": min(lows) if len(lows) == len(props) and lows else None,
        "max_value": max(highs) if len(highs) == len(props) and highs else None,
    }
    if option.choices is not None and all("enum" in p for p in props):
        merged = list(option.choices)
        merged += [c for p in props for c in p["enum"] if c not in merged]
        changes["choices"] = tuple(dict.fromkeys(merged))
    elif option.choices is not None:
        changes["choices"] = None  # one model takes any value: its schema decides
    lengths = [p.get("maxLength") for p in props]
    changes["max_length"] = max(lengths) if lengths and None not in lengths else None
    return replace(option, **changes)


def _number(value: float) -> str:
    return str(int(value)) if float(value).is_integer() else str(value)


def model_limits(command: CommandSpec, option: OptionSpec) -> str | None:
    """What the models of a shared command accept differently, in the words a user reads
    beside the option: ``10–60; flux up to 50`` or ``sdxl only``. Discord enforces only the
    widened range, so without this a value one model refuses would look allowed."""
    if len(command.workflows) < 2:
        return None
    if len(option.models) < len(command.workflows):
        return f"{', '.join(option.models)} only"
    narrower = []
    for model in option.models:
        prop = command.workflows[model].parameters[option.name]
        low, high = prop.get("minimum"), prop.get("maximum")
        raised = low is not None and option.min_value is not None and low > option.min_value
        lowered = high is not None and option.max_value is not None and high < option.max_value
        if raised and lowered:
            narrower.append(f"{model} {_number(low)}–{_number(high)}")
        elif raised:
            narrower.append(f"{model} from {_number(low)}")
        elif lowered:
            narrower.append(f"{model} up to {_number(high)}")
    if not narrower:
        return None
    return "; ".join([f"{_number(option.min_value)}–{_number(option.max_value)}", *narrower])


def described(command: CommandSpec, option: OptionSpec) -> OptionSpec:
    """``option`` with its models' limits at the end of its description, the description
    itself shortened if both do not fit Discord's 100 characters."""
    note = model_limits(command, option)
    if note is None:
        return option
    suffix = f" — {note}"
    return replace(option, description=shorten(option.description or option.name, DESCRIPTION_LIMIT - len(suffix)) + suffix)


def model_option(command: CommandSpec) -> OptionSpec | None:
    if len(command.workflows) < 2:
        return None
    return OptionSpec("model", "string", shorten(f"Model to use (default {command.default_model})"), False,
                      choices=tuple(command.models))


Handler = Callable[[discord.Interaction, dict[str, Any]], Awaitable[None]]
Autocompleter = Callable[[discord.Interaction, str], Awaitable[list[app_commands.Choice[Any]]]]


def build_command(command: CommandSpec, handler: Handler, *, autocompleters: dict[str, Autocompleter] | None = None,
                  description: str | None = None) -> app_commands.Command:
    """An app command whose callback hands every given option to ``handler(interaction, options)``."""
    options = [described(command, widened(command, o)) for o in command.options]
    extra = model_option(command)
    if extra is not None:
        options.append(extra)
    if len(options) > MAX_OPTIONS:
        raise ValueError(f"/{command.name} would have {len(options)} options but Discord allows {MAX_OPTIONS}; "
                         "split its workflows into two commands")
    autocompleters = {k: v for k, v in (autocompleters or {}).items() if any(o.name == k for o in options)}

    async def callback(interaction: discord.Interaction, **values: Any) -> None:
        await handler(interaction, {k: v for k, v in values.items() if v is not None})

    parameters = [inspect.Parameter("interaction", inspect.Parameter.POSITIONAL_OR_KEYWORD, annotation=discord.Interaction)]
    for option in options:
        default = inspect.Parameter.empty if option.required else None
        parameters.append(inspect.Parameter(option.name, inspect.Parameter.KEYWORD_ONLY, default=default,
                                            annotation=annotation_for(option)))
    callback.__signature__ = inspect.Signature(parameters)  # type: ignore[attr-defined]
    callback.__name__ = callback.__qualname__ = f"{command.name}_command"
    app_commands.describe(**{o.name: shorten(o.description or o.name) for o in options})(callback)
    if autocompleters:
        app_commands.autocomplete(**autocompleters)(callback)
    return app_commands.Command(name=command.name, description=shorten(description or command.description or command.name),
                                callback=callback)
