"""What a follower's quiet wait means: the job's deadline passed, its server is lost, its
server just became unreachable, or nothing yet.

ComfyUI sends nothing while a server is stopped, so ``ComfyUIClient.follow`` wakes up every
``LOST_POLL`` seconds and asks here. A dropped socket is reported once per outage as the
non-terminal ``ServerUnreachable`` (the socket is reconnecting; the job may still finish);
after ``server_lost_after`` seconds without a reconnect the follower ends with a ``Failed``
whose ``ComfyUIError`` names the server, instead of waiting for ``job_deadline``.
"""

from __future__ import annotations

import time
from typing import Any

from discomfy.core.comfyui.events import Failed, JobEvent, ServerUnreachable
from discomfy.exceptions import ComfyUIError, GenerationError

#: How often a quiet follower looks whether the socket dropped (seconds).
LOST_POLL = 0.5


def quiet_wait_event(client: Any, prompt_id: str, limit: float, deadline: float | None,
                     told_down: bool) -> JobEvent | None:
    """The event to yield after a quiet wait of ``client.follow`` (None: keep waiting)."""
    now = time.monotonic()
    if now >= limit:
        seconds = client.job_deadline if deadline is None else deadline
        return Failed(prompt_id, GenerationError(
            f"The job did not finish within {seconds:g} seconds.",
            detail=f"prompt {prompt_id} on {client.base_url} passed its {seconds:g} s deadline"))
    down_since = client.socket.down_since
    if down_since is None:
        return None
    down_for = now - down_since
    if down_for >= client.server_lost_after:
        return Failed(prompt_id, ComfyUIError(
            f"The image server `{client.name}` stopped answering while running your job. Please try again.",
            detail=f"ComfyUI server {client.name} ({client.base_url}) unreachable for {down_for:.0f} s "
            f"(comfyui.server_lost_after = {client.server_lost_after:g}); prompt {prompt_id} given up"))
    if told_down:
        return None
    return ServerUnreachable(prompt_id, server=client.name, down_for=down_for)


__all__ = ["LOST_POLL", "quiet_wait_event"]
