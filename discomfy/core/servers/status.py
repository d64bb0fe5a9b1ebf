"""What ``/status`` shows for one server: its health and queue, and how many model files and
LoRAs its ``/object_info`` lists (read from the last copy; no request is made)."""

from __future__ import annotations

from typing import Any

from discomfy.core.comfyui.workflows.manifest import KNOWN_MODEL_INPUTS
from discomfy.core.comfyui.workflows.object_info import choices
from discomfy.core.comfyui.workflows.server_check import LORA_CLASS, LORA_INPUT
from discomfy.core.servers.server import Server


def status_row(server: Server, running_jobs: list[str]) -> dict[str, Any]:
    """What /status shows for one server (see ``ServerPool.status``); no request made."""
    info = server.object_info or {}
    models: set[str] = set()
    for target in KNOWN_MODEL_INPUTS:
        cls, _, inp = target.partition(".")
        if not cls.startswith("Lora"):  # files only: VAELoader also lists "pixel_space"
            models.update(str(c) for c in choices(info, cls, inp) or () if "." in str(c).rsplit("/", 1)[-1])
    known = server.object_info is not None
    return {
        "name": server.name,
        "url": server.url,
        "healthy": server.healthy,
        "queue_running": server.comfy_running,
        "queue_pending": server.comfy_pending,
        "queue_length": server.comfy_running + server.comfy_pending,
        "running": len(running_jobs),
        "running_jobs": list(running_jobs),
        "last_error": server.last_error,
        "down_since": server.down_since,
        "checked_at": server.checked_at,
        "models": len(models) if known else None,
        "loras": len(choices(info, LORA_CLASS, LORA_INPUT) or ()) if known else None,
    }
