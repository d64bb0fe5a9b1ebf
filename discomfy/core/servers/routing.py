"""Which ComfyUI servers can run a job, and in plain words why none can.

A job can only go to a server whose ``/object_info`` lists every node class its workflow
uses, every model file the template names, the LoRAs the user picked and every other choice
the user made (sampler, scheduler...). Checking this before queueing means a missing model
reads "The diffusion model `flux1-dev.safetensors` is not installed on any image server" instead of
ComfyUI's raw "value not in list" after the user waited in the queue.

Pure functions over already-fetched ``/object_info`` dicts: no I/O, easy to test.
"""

from __future__ import annotations

import difflib
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from discomfy.core.comfyui.workflows.object_info import choices
from discomfy.core.comfyui.workflows.rendered import RenderedWorkflow
from discomfy.core.comfyui.workflows.server_check import (
    LORA_CLASS,
    LORA_INPUT,
    check_choices_before_queue,
    missing_model_files,
    requested_lora_names,
)
from discomfy.exceptions import ComfyUIError, DisComfyError, ValidationError, WorkflowError


@dataclass(frozen=True)
class Missing:
    """One thing a server lacks for a job. ``kind`` is the word users read ("node",
    "diffusion model", "LoRA", "choice"); ``error`` keeps the original refusal for choices
    (its message already names the parameter and suggests a close match)."""

    kind: str
    name: str
    field: str | None = None
    error: DisComfyError | None = None
    node_class: str | None = None  # whose definition to re-read before believing this

    @property
    def key(self) -> tuple[str, str]:
        return (self.kind, self.name)

    def phrase(self) -> str:
        if self.kind == "choice":
            return f"`{self.field}` = `{self.name}`"
        return f"the {self.kind} `{self.name}`"


def _values(params: Mapping[str, Any] | RenderedWorkflow) -> dict[str, Any]:
    return dict(params.parameters) if isinstance(params, RenderedWorkflow) else dict(params)


def missing_on_server(spec: Any, params: Mapping[str, Any] | RenderedWorkflow,
                      object_info: Mapping[str, Any]) -> list[Missing]:
    """Everything ``object_info`` lacks to run ``spec`` with ``params``; empty = eligible."""
    values = _values(params)
    loras = requested_lora_names(values)
    out: list[Missing] = []
    classes = set(spec.node_classes) | ({LORA_CLASS} if loras else set())
    missing_classes = {c for c in classes if c not in object_info}
    out += [Missing("node", c, node_class=c) for c in sorted(missing_classes)]
    out += [Missing(f.kind, f.filename, node_class=f.node_class) for f in missing_model_files(spec, object_info)]
    if LORA_CLASS not in missing_classes:
        installed = choices(object_info, LORA_CLASS, LORA_INPUT) or ()
        out += [Missing("LoRA", n, field="lora", node_class=LORA_CLASS) for n in loras if n not in installed]
    if not out:  # other combo choices (sampler, scheduler, model names bound to parameters)
        try:
            check_choices_before_queue(spec, values, object_info)
        except ValidationError as exc:
            value = values.get(exc.field) if exc.field else None
            out.append(Missing("choice", str(value), field=exc.field, error=exc))
        except WorkflowError as exc:
            out.append(Missing("model", exc.user_message, error=exc))
    return out


def _suggest(name: str, object_infos: Sequence[Mapping[str, Any]]) -> str:
    options: set[str] = set()
    for info in object_infos:
        options.update(str(o) for o in choices(info, LORA_CLASS, LORA_INPUT) or ())
    close = difflib.get_close_matches(name, sorted(options), n=1, cutoff=0.6)
    return f" Did you mean `{close[0]}`?" if close else ""


def _for_all(item: Missing, command: str, down_note: str,
             object_infos: Sequence[Mapping[str, Any]]) -> DisComfyError:
    """The refusal for something no reachable server has."""
    where = "any image server" if not down_note else "any image server that is up"
    if item.kind == "LoRA":
        return ValidationError(f"The LoRA `{item.name}` is not installed on {where}.{_suggest(item.name, object_infos)} "
                               f"Use /loras to see the installed ones.{down_note}", field="lora")
    if item.kind == "choice" and item.error is not None:
        if isinstance(item.error, ValidationError):
            return ValidationError(f"{item.error.user_message}{down_note}", field=item.error.field,
                                   detail=item.error.detail)
        return item.error
    if item.error is not None:
        return item.error
    return WorkflowError(f"The {item.kind} `{item.name}` is not installed on {where}; /{command} needs it, "
                         f"so please tell the bot owner.{down_note}",
                         detail=f"no server has {item.kind} {item.name} for /{command}")


def _all_for_owner(items: Sequence[Missing], command: str, down_note: str) -> WorkflowError:
    """Several nodes or model files no server has: every one is named, so the owner installs
    them all at once instead of learning of them one job at a time."""
    where = "any image server" if not down_note else "any image server that is up"
    phrases = [m.phrase() for m in items]
    listed = ", ".join(phrases[:-1]) + f" and {phrases[-1]}"
    text = f"{listed[0].upper()}{listed[1:]} are not installed on {where}; /{command} needs them, so please tell the bot owner."
    return WorkflowError(text + down_note, detail=f"no server has, for /{command}: {listed}")


def no_server_error(spec: Any, missing: Mapping[str, list[Missing]], down: Sequence[str],
                    object_infos: Sequence[Mapping[str, Any]]) -> DisComfyError:
    """The refusal when no server can take the job.

    ``missing`` maps each reachable server's name to what it lacks; ``down`` names the
    servers that could not be asked. Something every reachable server lacks is named alone
    ("The LoRA `x` is not installed on any image server"); otherwise each server's gap is listed.
    """
    command = getattr(spec, "command", "this command")
    if not missing:
        names = ", ".join(f"`{n}`" for n in down)
        text = ("All image servers are down; try again in a minute." if len(down) > 1 else
                "The image server is not reachable right now; try again in a minute.")
        return ComfyUIError(text,
                            detail=f"no healthy ComfyUI server for /{command}; down: {names}")
    down_note = f" ({', '.join(f'`{n}`' for n in down)} {'is' if len(down) == 1 else 'are'} down; try again later.)" if down else ""
    lists = list(missing.values())
    common = [m for m in lists[0] if all(m.key in {o.key for o in other} for other in lists[1:])]
    if common:
        first = common[0]
        owners = [m for m in common if m.error is None and m.kind not in ("LoRA", "choice")]
        if len(owners) > 1 and first in owners:
            return _all_for_owner(owners, command, down_note)
        if len(missing) == 1 and not down and first.error is not None:
            return first.error  # one server: keep its established message
        return _for_all(first, command, down_note, object_infos)
    parts = "; ".join(f"`{name}` lacks {items[0].phrase()}" for name, items in missing.items())
    user_choice = any(items[0].field for items in missing.values())
    text = f"No single image server has everything this job needs: {parts}.{down_note}"
    if user_choice:
        field = next(items[0].field for items in missing.values() if items[0].field)
        return ValidationError(text, field=field)
    return WorkflowError(text + " Please tell the bot owner.", detail=f"/{command}: {parts}")


__all__ = ["Missing", "missing_on_server", "no_server_error"]
