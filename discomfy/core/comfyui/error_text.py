"""ComfyUI's error payloads turned into plain words.

Two shapes exist: a 400 from ``POST /prompt`` (``error`` + ``node_errors``, where
``error.details`` is often empty and the useful text sits per node) and the
``execution_error`` WebSocket message (also the last entry of history ``status.messages``).
"""

from __future__ import annotations

from typing import Any

from discomfy.exceptions import GenerationError, WorkflowError


def _choices(extra: dict[str, Any]) -> list[str] | None:
    config = extra.get("input_config")
    if isinstance(config, list) and config:
        if isinstance(config[0], list):
            return [str(c) for c in config[0]]
        if config[0] == "COMBO" and len(config) > 1 and isinstance(config[1], dict):
            return [str(c) for c in config[1].get("options", [])]
    return None


def describe_node_error(node_id: str, class_type: str, err: dict[str, Any]) -> str:
    """One sentence for one input error, e.g. node 10 (LoraLoader) input lora_name: ..."""
    extra = err.get("extra_info") or {}
    input_name = extra.get("input_name")
    where = f"node {node_id} ({class_type})" + (f", input '{input_name}'" if input_name else "")
    said = err.get("message") or err.get("type") or "error"
    details = err.get("details")
    choices = _choices(extra)
    if err.get("type") == "value_not_in_list" and choices is not None:
        shown = ", ".join(choices[:20]) + (" ..." if len(choices) > 20 else "")
        return (f"{where}: '{extra.get('received_value')}' is not available on the server; "
                f"available choices: {shown or 'none'}")
    return f"{where}: {said}" + (f" ({details})" if details else "")


def workflow_error_from_400(body: Any, server: str) -> WorkflowError:
    """The ``WorkflowError`` for a refused prompt, listing every node error."""
    body = body if isinstance(body, dict) else {}
    error = body.get("error") if isinstance(body.get("error"), dict) else {}
    node_errors = body.get("node_errors") if isinstance(body.get("node_errors"), dict) else {}
    flat: list[dict[str, Any]] = []
    lines: list[str] = []
    for node_id, entry in node_errors.items():
        class_type = str(entry.get("class_type", "?"))
        for err in entry.get("errors", []):
            extra = err.get("extra_info") or {}
            flat.append(
                {
                    "node_id": str(node_id),
                    "class_type": class_type,
                    "input": extra.get("input_name"),
                    "type": err.get("type"),
                    "message": err.get("message"),
                    "details": err.get("details"),
                    "choices": _choices(extra),
                    "received": extra.get("received_value"),
                }
            )
            lines.append(describe_node_error(str(node_id), class_type, err))
    headline = error.get("message") or "ComfyUI refused the prompt"
    if error.get("details"):
        headline += f" ({error['details']})"
    detail = f"ComfyUI at {server} refused the prompt: {headline}"
    if lines:
        detail += "\n" + "\n".join(f"- {line}" for line in lines)
    user = "ComfyUI refused this workflow: " + ("; ".join(lines) if lines else headline)
    return WorkflowError(user, detail=detail, node_errors=flat)


def generation_error_from_execution_error(data: dict[str, Any]) -> GenerationError:
    """The ``GenerationError`` for an ``execution_error`` message (node, class, message)."""
    node_id = data.get("node_id")
    node_type = data.get("node_type")
    message = str(data.get("exception_message", "")).strip() or "unknown error"
    exc_type = data.get("exception_type") or "error"
    user = f"Generation failed at node {node_id} ({node_type}): {message}"
    traceback = "".join(data.get("traceback") or [])
    detail = f"{user} [{exc_type}]" + (f"\n{traceback}" if traceback else "")
    return GenerationError(user, detail=detail, node_id=node_id, node_type=node_type)
