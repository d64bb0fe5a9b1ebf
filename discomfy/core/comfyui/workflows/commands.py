"""Workflows sharing a ``command`` become one slash command with a ``model`` option.

The option set is the union of the models' parameters; the descriptions come from the
schemas (Discord allows 100 characters). A value for an option the chosen model lacks is
refused by that model's schema ("`cfg` is not an option of model flux of /generate"), so
this module only has to build the union and pick the workflow.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from discomfy.exceptions import ValidationError

from .manifest import WorkflowSpec, is_image_parameter

_DISCORD_TYPES = {"string": "string", "integer": "integer", "number": "number", "boolean": "boolean"}


@dataclass(frozen=True)
class OptionSpec:
    """One slash-command option. ``type`` is string/integer/number/boolean/attachment;
    ``models`` lists which models accept it (all of them when it is shared)."""

    name: str
    type: str
    description: str
    required: bool
    choices: tuple[Any, ...] | None = None
    min_value: float | None = None
    max_value: float | None = None
    max_length: int | None = None
    autocomplete: bool = False
    models: tuple[str, ...] = ()


@dataclass
class CommandSpec:
    """A slash command: its workflows by model name (first = default) and merged options."""

    name: str
    description: str
    workflows: dict[str, WorkflowSpec] = field(default_factory=dict)
    options: list[OptionSpec] = field(default_factory=list)

    @property
    def models(self) -> list[str]:
        return list(self.workflows)

    @property
    def default_model(self) -> str:
        return next(iter(self.workflows))

    def workflow_for(self, model: str | None) -> WorkflowSpec:
        """The workflow for ``model`` (default model when None); unknown names are refused."""
        if model is None:
            return self.workflows[self.default_model]
        if model not in self.workflows:
            names = ", ".join(f"`{m}`" for m in self.workflows)
            raise ValidationError(f"`model` must be one of {names} (you gave `{model}`).", field="model")
        return self.workflows[model]


def is_hidden_parameter(prop: Any) -> bool:
    """A parameter only buttons and plugins set (``"x-discord": {"hidden": true}``, e.g. the
    image a Vary button varies): validated like any other, never a slash-command option."""
    return isinstance(prop, dict) and bool((prop.get("x-discord") or {}).get("hidden"))


def _option(name: str, prop: dict[str, Any], required: bool, models: tuple[str, ...]) -> OptionSpec:
    extra = prop.get("x-discord") or {}
    t = prop.get("type")
    t = next((x for x in t if x != "null"), "string") if isinstance(t, list) else t
    kind = "attachment" if is_image_parameter(prop) else _DISCORD_TYPES.get(t, "string")
    return OptionSpec(name=name, type=kind, description=str(prop.get("description") or name)[:100],
                      required=required, choices=tuple(prop["enum"]) if "enum" in prop else None,
                      min_value=prop.get("minimum"), max_value=prop.get("maximum"),
                      max_length=prop.get("maxLength"), autocomplete=bool(extra.get("autocomplete")),
                      models=models)


def group_commands(specs: list[WorkflowSpec]) -> dict[str, CommandSpec]:
    """Group workflows by command and merge their options (required only when every model
    requires it; the first model declaring an option provides its description and limits)."""
    commands: dict[str, CommandSpec] = {}
    for spec in specs:
        cmd = commands.setdefault(spec.command, CommandSpec(spec.command, spec.description))
        cmd.workflows.setdefault(spec.model, spec)
    for cmd in commands.values():
        first_seen: dict[str, tuple[dict[str, Any], bool]] = {}
        owners: dict[str, list[str]] = {}
        for model, spec in cmd.workflows.items():
            for name, prop in spec.parameters.items():
                if is_hidden_parameter(prop):
                    continue
                first_seen.setdefault(name, (prop, True))
                owners.setdefault(name, []).append(model)
        for name, (prop, _) in first_seen.items():
            everywhere = len(owners[name]) == len(cmd.workflows)
            required = everywhere and all(name in s.required_parameters for s in cmd.workflows.values())
            cmd.options.append(_option(name, prop, required, tuple(owners[name])))
        cmd.options.sort(key=lambda o: not o.required)  # Discord wants required options first
    return commands
