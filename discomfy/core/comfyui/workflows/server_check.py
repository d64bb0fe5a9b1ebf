"""Comparing workflows with what one ComfyUI server actually has (``/object_info``).

Model, LoRA and sampler names are combo choices that differ per server and change while it
runs, so they are checked here, against a live ``/object_info``, never only against the
template. Messages read "LoRA `x` is not installed on the ComfyUI server", not ComfyUI's
raw "Value not in list".
"""

from __future__ import annotations

import difflib
from collections.abc import Mapping
from typing import Any

from discomfy.exceptions import ValidationError, WorkflowError

from .graph import is_link
from .manifest import KNOWN_MODEL_INPUTS, ModelFile, WorkflowSpec
from .object_info import ObjectInfo, choices, input_spec
from .rendered import RenderedWorkflow
from .strategies import StrategyRegistry, default_registry, parse_target
from .strategies.lora import requested_loras
from .validate import validate_graph

LORA_CLASS, LORA_INPUT = "LoraLoaderModelOnly", "lora_name"


def _suggest(value: str, options: tuple[Any, ...]) -> str:
    close = difflib.get_close_matches(str(value), [str(o) for o in options], n=1, cutoff=0.6)
    return f" Did you mean `{close[0]}`?" if close else ""


def requested_lora_names(values: Mapping[str, Any]) -> list[str]:
    """LoRA file names a job asks for, read as the LoRA strategy reads them."""
    return [name for name, _ in requested_loras(dict(values))]


def missing_model_files(spec: WorkflowSpec, object_info: ObjectInfo) -> list[ModelFile]:
    """Model files the template names that the server does not list (a node class the
    server lacks altogether is reported as such, not file by file)."""
    return [f for f in spec.model_files
            if f.node_class in object_info and f.filename not in (choices(object_info, f.node_class, f.input) or ())]


def server_check(spec: WorkflowSpec, object_info: ObjectInfo, *,
                 registry: StrategyRegistry | None = None) -> list[str]:
    """What ``spec`` needs that the server lacks, one line each, prefixed by the plugin:
    node classes, model files ("editqwen: diffusion model x is not installed"), other choices."""
    registry = registry if registry is not None else default_registry()
    out: list[str] = []
    classes = set(spec.node_classes)
    for name in spec.strategies:
        if name in registry:
            classes.update(getattr(registry.get(name), "inserts", ()))
    missing_classes = sorted(c for c in classes if c not in object_info)
    for cls in missing_classes:
        out.append(f"{spec.plugin}: node class {cls} is not installed (install the custom nodes providing it)")
    model_inputs = {(f.node_id, f.input) for f in spec.model_files}
    out += [f"{spec.plugin}: {f.kind} {f.filename} is not installed ({f.node_class}.{f.input}, node {f.node_id})"
            for f in missing_model_files(spec, object_info)]
    template = spec.template
    for nid, node in template.items():
        cls = node.get("class_type")
        if cls in missing_classes:
            continue
        for name, value in (node.get("inputs") or {}).items():
            if (nid, name) in model_inputs or is_link(value) or cls == "LoadImage":
                continue
            ispec = input_spec(object_info, cls, name)
            if ispec and ispec.type == "COMBO" and ispec.choices and value not in ispec.choices:
                out.append(f"{spec.plugin}: node {nid} ({cls}) input `{name}`: {value!r} is not "
                           f"available on the server{_suggest(value, ispec.choices)}")
    if not missing_classes:
        out += [f"{spec.plugin}: {msg}" for msg in validate_graph(template, object_info)]
    return out


def _bound_combo(spec: WorkflowSpec, param: str, object_info: ObjectInfo):
    for target in spec.bindings.get(param, ()):
        node, inp, by_title = parse_target(target)
        if by_title:
            continue
        cls = spec.class_of(node)
        ispec = input_spec(object_info, cls, inp) if cls else None
        if ispec and ispec.type == "COMBO":
            return cls, inp, ispec.choices or ()
    return None


def check_choices_before_queue(spec: WorkflowSpec, params: Mapping[str, Any] | RenderedWorkflow,
                               object_info: ObjectInfo) -> None:
    """Refuse, before queueing, values the server does not have.

    ``params`` are the validated values (or a ``RenderedWorkflow``, whose parameters are
    used). LoRAs (``lora``/``loras``) and any parameter bound to a combo input (sampler,
    scheduler, model) must be among the server's current choices: a ``ValidationError``
    names the value and suggests a close match. A model file of the template that is missing
    is the owner's problem, not the user's: that raises ``WorkflowError``.
    """
    values = params.parameters if isinstance(params, RenderedWorkflow) else dict(params)
    loras = choices(object_info, LORA_CLASS, LORA_INPUT) or ()
    for name in requested_lora_names(values):
        if name not in loras:
            raise ValidationError(f"LoRA `{name}` is not installed on the ComfyUI server.{_suggest(name, loras)} "
                                  "Use /loras to see the installed ones.", field="lora")
    # An attached image is uploaded right before queueing, so its server-side name cannot be
    # among the server's input files yet; it was validated as an image instead.
    uploads = set(spec.image_parameters)
    for param, value in values.items():
        if param in uploads:
            continue
        found = _bound_combo(spec, param, object_info)
        if found and value not in found[2]:
            cls, inp, options = found
            kind = KNOWN_MODEL_INPUTS.get(f"{cls}.{inp}")
            if kind:
                raise ValidationError(f"{kind[0].upper()}{kind[1:]} `{value}` is not installed on the "
                                      f"ComfyUI server.{_suggest(value, options)}", field=param)
            shown = ", ".join(f"`{o}`" for o in options[:10])
            raise ValidationError(f"`{param}` value `{value}` is not available on the ComfyUI server; "
                                  f"choose one of {shown}.", field=param)
    missing = missing_model_files(spec, object_info)
    if missing:
        named = [f"{f.kind} `{f.filename}`" for f in missing]
        listed = named[0] if len(named) == 1 else ", ".join(named[:-1]) + f" and {named[-1]}"
        verb = "is" if len(named) == 1 else "are"
        raise WorkflowError(f"The {listed} needed by /{spec.command} {verb} not installed on "
                            "the ComfyUI server; please tell the bot owner.",
                            detail="\n".join(f"{spec.plugin}: {f.kind} {f.filename} is not installed "
                                              f"({f.node_class}.{f.input}, node {f.node_id})" for f in missing))
