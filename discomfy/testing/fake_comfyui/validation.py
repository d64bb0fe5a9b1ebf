"""Prompt validation the way ComfyUI's ``execution.validate_prompt`` does it.

Returns the same shapes the real server answers with: a prompt-level ``error`` for unknown
classes, missing ``class_type`` or no output node, and per-node ``node_errors`` (missing
input, wrong type, out of range, value not in list, bad link, LoadImage file missing). A
prompt where at least one output validates is accepted and only the good outputs run.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from discomfy.testing.fake_comfyui.catalog import IMAGE_INPUT_NODES, NodeCatalog
from discomfy.testing.fake_comfyui.storage import FileStore


@dataclass
class Verdict:
    """``error`` set means HTTP 400; ``outputs`` are the output nodes that will run."""

    error: dict[str, Any] | None = None
    node_errors: dict[str, Any] = field(default_factory=dict)
    outputs: list[str] = field(default_factory=list)


def _prompt_error(kind: str, message: str, details: str = "") -> dict[str, Any]:
    return {"type": kind, "message": message, "details": details, "extra_info": {}}


def _types_match(received: str, wanted: str) -> bool:
    if "*" in (received, wanted):
        return True
    return bool(set(received.split(",")) & set(wanted.split(",")))


class PromptValidator:
    def __init__(self, catalog: NodeCatalog, files: FileStore) -> None:
        self.catalog = catalog
        self.files = files

    def validate(self, prompt: Any) -> Verdict:
        if not isinstance(prompt, dict):
            return Verdict(_prompt_error("invalid_prompt", "Prompt is not a JSON object"))
        for node_id, node in prompt.items():
            class_type = node.get("class_type") if isinstance(node, dict) else None
            if class_type is None:
                return Verdict(_prompt_error(
                    "invalid_prompt", "Cannot execute because a node is missing the class_type property.",
                    f"Node ID '#{node_id}'"))
            if class_type not in self.catalog:
                return Verdict(_prompt_error(
                    "invalid_prompt", f"Cannot execute because node {class_type} does not exist.",
                    f"Node ID '#{node_id}'"))
        outputs = [nid for nid, node in prompt.items()
                   if self.catalog.info(node["class_type"]).get("output_node")]
        if not outputs:
            return Verdict(_prompt_error("prompt_no_outputs", "Prompt has no outputs"))

        results: dict[str, tuple[bool, list[dict[str, Any]]]] = {}
        good: list[str] = []
        failed_reasons: list[str] = []
        node_errors: dict[str, Any] = {}
        for out in outputs:
            ok, reasons = self._node(prompt, out, results)
            if ok:
                good.append(out)
            else:
                failed_reasons += [f"{r['message']}: {r['details']}" for r in reasons]
        for node_id, (ok, reasons) in results.items():
            if not ok and reasons:
                dependents = [o for o in outputs if o not in good and self._depends(prompt, o, node_id)]
                node_errors[node_id] = {"errors": reasons, "dependent_outputs": dependents,
                                        "class_type": prompt[node_id]["class_type"]}
        if not good:
            return Verdict(_prompt_error("prompt_outputs_failed_validation",
                                         "Prompt outputs failed validation", "\n".join(failed_reasons)),
                           node_errors)
        return Verdict(None, node_errors, good)

    def _depends(self, prompt: dict[str, Any], node_id: str, target: str, seen: set | None = None) -> bool:
        if node_id == target:
            return True
        seen = seen if seen is not None else set()
        if node_id in seen or node_id not in prompt:
            return False
        seen.add(node_id)
        return any(isinstance(v, list) and len(v) == 2 and self._depends(prompt, str(v[0]), target, seen)
                   for v in prompt[node_id].get("inputs", {}).values())

    def _node(self, prompt: dict[str, Any], node_id: str,
              results: dict[str, tuple[bool, list[dict[str, Any]]]]) -> tuple[bool, list[dict[str, Any]]]:
        if node_id in results:
            return results[node_id]
        results[node_id] = (True, [])  # guards against cycles while recursing
        node = prompt[node_id]
        class_type = node["class_type"]
        info = self.catalog.info(class_type)
        inputs = node.get("inputs") or {}
        sections = info.get("input") or {}
        errors: list[dict[str, Any]] = []
        upstream_ok = True
        specs = {**(sections.get("optional") or {}), **(sections.get("required") or {})}
        for name, spec in specs.items():
            if name not in inputs:
                if name in (sections.get("required") or {}):
                    errors.append({"type": "required_input_missing", "message": "Required input is missing",
                                   "details": name, "extra_info": {"input_name": name}})
                continue
            value = inputs[name]
            wanted = spec[0] if isinstance(spec, list) and spec else "*"
            if isinstance(value, list):
                err, linked_ok = self._link(prompt, name, spec, value, results)
                upstream_ok &= linked_ok
                if err:
                    errors.append(err)
                continue
            err = self._literal(class_type, name, spec, wanted, value)
            if err:
                errors.append(err)
        ok = upstream_ok and not errors
        results[node_id] = (ok, errors)
        return results[node_id]

    def _link(self, prompt, name, spec, value, results):
        if len(value) != 2 or str(value[0]) not in prompt or not isinstance(value[1], int):
            return ({"type": "bad_linked_input", "message": "Bad linked input, must be a length-2 list of [string, int]",
                     "details": f"{name}", "extra_info": {"input_name": name, "input_config": spec,
                                                          "received_value": value}}, True)
        source_id = str(value[0])
        source = self.catalog.info(prompt[source_id]["class_type"])
        outputs = source.get("output") or []
        wanted = spec[0] if isinstance(spec, list) and spec else "*"
        received = outputs[value[1]] if value[1] < len(outputs) else None
        if received is None or (isinstance(wanted, str) and isinstance(received, str)
                                and not _types_match(received, wanted)):
            details = f"{name}, received_type({received}) mismatch input_type({wanted})"
            return ({"type": "return_type_mismatch", "message": "Return type mismatch between linked nodes",
                     "details": details, "extra_info": {"input_name": name, "input_config": spec,
                                                        "received_type": received, "linked_node": value}}, True)
        ok, _ = self._node(prompt, source_id, results)
        return None, ok

    def _literal(self, class_type, name, spec, wanted, value):
        opts = spec[1] if isinstance(spec, list) and len(spec) > 1 and isinstance(spec[1], dict) else {}
        base = {"input_name": name, "input_config": spec}
        if (class_type, name) in IMAGE_INPUT_NODES:
            if not self.files.has_input_image(str(value)):
                return {"type": "custom_validation_failed", "message": "Custom validation failed for node",
                        "details": f"{name} - Invalid image file: {value}", "extra_info": {"input_name": name}}
            return None
        choices = wanted if isinstance(wanted, list) else opts.get("options") if wanted == "COMBO" else None
        if choices is not None:
            if value not in choices:
                return {"type": "value_not_in_list", "message": "Value not in list",
                        "details": f"{name}: '{value}' not in {choices!r}",
                        "extra_info": {**base, "received_value": value}}
            return None
        convert = {"INT": int, "FLOAT": float, "STRING": str, "BOOLEAN": bool}.get(wanted)
        if convert is None:
            return None
        try:
            converted = convert(value)
        except (TypeError, ValueError) as exc:
            return {"type": "invalid_input_type",
                    "message": f"Failed to convert an input value to a {wanted} value",
                    "details": f"{name}, {value}, {exc}",
                    "extra_info": {**base, "received_value": value, "exception_message": str(exc)}}
        if wanted in ("INT", "FLOAT"):
            if "min" in opts and converted < opts["min"]:
                return {"type": "value_smaller_than_min",
                        "message": f"Value {converted} smaller than min of {opts['min']}",
                        "details": name, "extra_info": {**base, "received_value": converted}}
            if "max" in opts and converted > opts["max"]:
                return {"type": "value_bigger_than_max",
                        "message": f"Value {converted} bigger than max of {opts['max']}",
                        "details": name, "extra_info": {**base, "received_value": converted}}
        return None
