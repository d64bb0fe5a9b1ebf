"""Finishing jobs from ``/history``: on completion, and after every (re)connect.

The socket says *that* a prompt completed; the authoritative outputs (and, after a
reconnect, the outcome itself) live in ``/history/{id}``. After a reconnect each open job is
looked up there; one that has no history and is not in ``/queue`` either vanished (queue
cleared, server restarted) and is failed with a message saying so.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable
from typing import Any

from discomfy.core.comfyui.error_text import generation_error_from_execution_error
from discomfy.core.comfyui.events import (
    Failed,
    Interrupted,
    JobEvent,
    QueueSnapshot,
    Succeeded,
    output_files,
)
from discomfy.core.comfyui.http import HttpTransport
from discomfy.core.comfyui.router import JobChannel
from discomfy.exceptions import ComfyUIError, GenerationError

log = logging.getLogger(__name__)

#: Pauses between attempts to read a finished prompt's history (a blip in HTTP must not
#: turn a finished job into a failed one).
RETRY_PAUSES = (0.1, 0.5, 2.0, 0.0)


def terminal_from_history(prompt_id: str, entry: dict[str, Any]) -> JobEvent:
    """The terminal event a history entry describes."""
    status = entry.get("status") or {}
    outputs = entry.get("outputs") or {}
    if status.get("status_str", "success") == "success" and status.get("completed", True):
        return Succeeded(prompt_id, outputs, output_files(outputs))
    messages = status.get("messages") or []
    last_kind, last_data = (messages[-1] if messages else ("", {})) or ("", {})
    if last_kind == "execution_interrupted":
        return Interrupted(prompt_id, last_data.get("node_id"), last_data.get("node_type"))
    if last_kind == "execution_error":
        return Failed(prompt_id, generation_error_from_execution_error(last_data))
    return Failed(prompt_id, GenerationError(
        detail=f"prompt {prompt_id} ended with status {status.get('status_str')!r}"))


class JobFinisher:
    """Fetches history for completed or possibly-missed jobs and pushes their terminal event."""

    def __init__(self, http: HttpTransport) -> None:
        self._http = http
        self._tasks: set[asyncio.Task[None]] = set()

    async def history(self, prompt_id: str) -> dict[str, Any]:
        _, body = await self._http.request(
            "GET", f"/history/{prompt_id}", what=f"read the history of prompt {prompt_id}"
        )
        return body if isinstance(body, dict) else {}

    def complete(self, channel: JobChannel) -> None:
        """Called by the router when ``executing`` with node None arrives."""
        self.spawn(self._finish(channel))

    def spawn(self, coro: Awaitable[None]) -> None:
        """Run in the background; a ComfyUIError is logged (the job's deadline still holds)."""

        async def guarded() -> None:
            try:
                await coro
            except ComfyUIError as exc:
                log.warning("could not settle a job: %s", exc.detail)

        task = asyncio.create_task(guarded())
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)

    async def _finish(self, channel: JobChannel) -> None:
        pid = channel.prompt_id
        for attempt, pause in enumerate(RETRY_PAUSES):
            try:
                entry = (await self.history(pid)).get(pid)
                break
            except ComfyUIError as exc:
                if attempt == len(RETRY_PAUSES) - 1:
                    channel.push(Failed(pid, exc))
                    return
                await asyncio.sleep(pause)
        if entry is None:
            channel.push(Failed(pid, GenerationError(
                "The server finished the job but kept no record of its result.",
                detail=f"prompt {pid} completed but /history/{pid} is empty")))
            return
        channel.push(terminal_from_history(pid, entry))

    async def reconcile(
        self, channels: list[JobChannel], get_queue: Callable[[], Awaitable[QueueSnapshot]]
    ) -> None:
        """After a connect: finish what finished unseen, fail what vanished."""
        unresolved: list[JobChannel] = []
        for ch in channels:
            if ch.done or ch.completing:
                continue
            entry = (await self.history(ch.prompt_id)).get(ch.prompt_id)
            if entry is not None:
                ch.push(terminal_from_history(ch.prompt_id, entry))
            else:
                unresolved.append(ch)
        if not unresolved:
            return
        snapshot = await get_queue()
        for ch in unresolved:
            if ch.done or snapshot.position(ch.prompt_id) is not None:
                continue
            # It may have finished between the two reads: look once more before failing it.
            entry = (await self.history(ch.prompt_id)).get(ch.prompt_id)
            if entry is not None:
                ch.push(terminal_from_history(ch.prompt_id, entry))
                continue
            log.warning("prompt %s vanished from %s", ch.prompt_id, self._http.base_url)
            ch.push(Failed(ch.prompt_id, GenerationError(
                "The image server lost this job (it was restarted or its queue was cleared). "
                "Please try again.",
                detail=f"prompt {ch.prompt_id} is neither in /history nor in /queue of "
                f"{self._http.base_url} after a reconnect")))

    async def close(self) -> None:
        for task in list(self._tasks):
            task.cancel()
        if self._tasks:
            await asyncio.gather(*self._tasks, return_exceptions=True)
