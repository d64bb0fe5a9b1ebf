"""One ComfyUI server as the bot knows it: its client and what the last checks found."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from discomfy.core.comfyui.client import ComfyUIClient


@dataclass(eq=False)
class Server:
    """One ComfyUI server and what the pool last learnt about it."""

    name: str
    url: str
    client: ComfyUIClient
    healthy: bool = True
    last_error: str | None = None
    comfy_running: int = 0  # prompts ComfyUI runs (anyone's), from the last health check
    comfy_pending: int = 0
    checked_at: float | None = None  # wall clock of the last health check
    down_since: float | None = None
    object_info: dict[str, Any] | None = field(default=None, repr=False)
    object_info_at: float = 0.0  # monotonic
