"""Routing WebSocket messages to the job they belong to.

One socket carries every job of this client, so each message is filed under its
``prompt_id`` in a :class:`JobChannel`. Channels are created on first sight, which is how
events that arrive before anyone calls ``follow()`` (even before ``POST /prompt`` has
answered) are kept instead of lost. The router is synchronous and does no I/O: the one
step that needs HTTP (fetching outputs from ``/history`` when a prompt completes) is handed
to the ``on_complete`` callback.
"""

from __future__ import annotations

import asyncio
import time
from collections import OrderedDict
from collections.abc import Callable
from typing import Any

from discomfy.core.comfyui.error_text import generation_error_from_execution_error
from discomfy.core.comfyui.events import (
    Failed,
    Interrupted,
    JobEvent,
    NodeExecuted,
    NodeStarted,
    Preview,
    Progress,
    Started,
)
from discomfy.core.comfyui.frames import decode_binary

#: Channels nobody registered or followed are dropped beyond this many (oldest first), so
#: a socket shared with prompts we never follow cannot grow memory without bound.
MAX_UNCLAIMED = 2048


class JobChannel:
    """The buffered event stream of one prompt."""

    def __init__(self, prompt_id: str) -> None:
        self.prompt_id = prompt_id
        self.queue: asyncio.Queue[JobEvent] = asyncio.Queue()
        self.created = time.monotonic()
        self.claimed = False  # registered by queue_prompt or being followed
        self.done = False  # terminal event queued
        self.completing = False  # completion seen, outputs being fetched
        self.node_types: dict[str, str] = {}

    def push(self, event: JobEvent) -> None:
        if self.done:
            return
        if event.terminal:
            self.done = True
        self.queue.put_nowait(event)


class EventRouter:
    """Turns raw socket messages into :mod:`events` and files them per prompt."""

    def __init__(self, on_complete: Callable[[JobChannel], None]) -> None:
        self._on_complete = on_complete
        self.channels: OrderedDict[str, JobChannel] = OrderedDict()
        self.current_prompt: str | None = None  # for legacy previews, which carry no id
        self.queue_remaining: int | None = None

    def channel(self, prompt_id: str, *, claim: bool = False) -> JobChannel:
        ch = self.channels.get(prompt_id)
        if ch is None:
            ch = self.channels[prompt_id] = JobChannel(prompt_id)
            self._evict()
        if claim:
            ch.claimed = True
        return ch

    def forget(self, prompt_id: str) -> None:
        self.channels.pop(prompt_id, None)

    def open_channels(self) -> list[JobChannel]:
        """Claimed jobs still waiting for their terminal event (what a reconnect reconciles)."""
        return [ch for ch in self.channels.values() if ch.claimed and not ch.done]

    def _evict(self) -> None:
        unclaimed = [pid for pid, ch in self.channels.items() if not ch.claimed]
        for pid in unclaimed[: max(0, len(unclaimed) - MAX_UNCLAIMED)]:
            del self.channels[pid]

    def feed_text(self, message: dict[str, Any]) -> None:
        kind = message.get("type")
        data = message.get("data")
        if not isinstance(data, dict):
            return
        if kind == "status":
            info = (data.get("status") or {}).get("exec_info") or {}
            self.queue_remaining = info.get("queue_remaining", self.queue_remaining)
            return
        prompt_id = data.get("prompt_id")
        if not isinstance(prompt_id, str) or kind not in _ROUTED:
            return  # feature_flags, the reconnect hint, progress_state, custom types: nothing to route
        ch = self.channel(prompt_id)
        if kind == "execution_start":
            self.current_prompt = prompt_id
            ch.push(Started(prompt_id))
        elif kind == "executing":
            node = data.get("node")
            if node is None:
                if self.current_prompt == prompt_id:
                    self.current_prompt = None
                self._complete(ch)
            else:
                self.current_prompt = prompt_id
                ch.push(NodeStarted(prompt_id, str(node), ch.node_types.get(str(node))))
        elif kind == "progress":
            ch.push(
                Progress(prompt_id, float(data.get("value", 0)), float(data.get("max", 0) or 0),
                         _opt_str(data.get("node")))
            )
        elif kind == "executed":
            ch.push(NodeExecuted(prompt_id, str(data.get("node")), data.get("output") or {}))
        elif kind == "execution_error":
            ch.push(Failed(prompt_id, generation_error_from_execution_error(data)))
        elif kind == "execution_interrupted":
            ch.push(Interrupted(prompt_id, _opt_str(data.get("node_id")), data.get("node_type")))

    def feed_binary(self, frame: bytes) -> None:
        decoded = decode_binary(frame)
        if decoded.kind != "preview":
            return
        prompt_id = decoded.prompt_id or self.current_prompt
        if prompt_id is None:
            return
        self.channel(prompt_id).push(Preview(prompt_id, decoded.data, decoded.mime, decoded.node))

    def _complete(self, ch: JobChannel) -> None:
        if ch.done or ch.completing:
            return
        ch.completing = True
        self._on_complete(ch)


#: Message kinds that become events. ``execution_success`` is not one: history is written
#: only after it, so completion waits for ``executing`` with node None.
_ROUTED = {"execution_start", "executing", "progress", "executed", "execution_error",
           "execution_interrupted"}


def _opt_str(value: Any) -> str | None:
    return None if value is None else str(value)
