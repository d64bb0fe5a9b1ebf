"""Health of one ComfyUI server, found out with one cheap request, and who hears about it.

``GET /queue`` is the probe: it is small, it proves the HTTP side answers, and its length is
what routing wants anyway (a server busy with someone else's prompts is a worse choice). One
failed probe is retried once straight away, so a single dropped connection does not fail
over a whole server; two in a row mark it down. A server that comes back has its
``/object_info`` read again before it is called healthy: its models may have changed while
it was down, and routing must not send jobs to it on stale lists.
"""

from __future__ import annotations

import asyncio
import inspect
import logging
import time
from collections.abc import Callable
from typing import Any, Literal

from discomfy.core.servers.server import Server
from discomfy.exceptions import ComfyUIError

log = logging.getLogger(__name__)

#: Called with the server whose state changed; may be a coroutine function.
HealthListener = Callable[[Server], Any]
Change = Literal["down", "up"]

#: How long one listener may take before the watcher gives up on it (never a hang).
LISTENER_TIMEOUT = 60.0
#: Pause before the one immediate re-probe of a server that failed a probe.
REPROBE_DELAY = 0.05


def _error_text(exc: BaseException) -> str:
    if isinstance(exc, ComfyUIError):
        return exc.detail or exc.user_message
    if isinstance(exc, asyncio.TimeoutError):
        return "no answer in time"
    return f"{type(exc).__name__}: {exc}"


async def _probe(server: Server, timeout: float) -> str | None:
    """Read the server's queue; return what went wrong, or None when it answered."""
    try:
        async with asyncio.timeout(timeout):
            snapshot = await server.client.get_queue()
    except (ComfyUIError, asyncio.TimeoutError, OSError) as exc:
        return _error_text(exc)
    server.comfy_running = len(snapshot.running)
    server.comfy_pending = len(snapshot.pending)
    return None


async def load_object_info(server: Server, timeout: float) -> str | None:
    """Fetch ``/object_info`` afresh into ``server.object_info``; return an error or None."""
    try:
        async with asyncio.timeout(timeout):
            info = await server.client.get_object_info(refresh=True)
    except (ComfyUIError, asyncio.TimeoutError, OSError) as exc:
        return _error_text(exc)
    server.object_info = info
    server.object_info_at = time.monotonic()
    return None


async def reread_classes(server: Server, classes: list[str], timeout: float) -> str | None:
    """Re-read only these node definitions (a LoRA or model added since the last full read
    shows up without fetching all of ``/object_info``); return an error or None."""
    try:
        async with asyncio.timeout(timeout):
            found = await asyncio.gather(
                *(server.client.get_object_info(cls, refresh=True) for cls in classes),
                return_exceptions=True)
    except asyncio.TimeoutError as exc:
        return _error_text(exc)
    for result in found:
        if isinstance(result, ComfyUIError):
            return _error_text(result)
        if isinstance(result, BaseException):
            raise result
    info = server.object_info if server.object_info is not None else {}
    for cls, one in zip(classes, found):
        if cls in one:
            info[cls] = one[cls]
        else:
            info.pop(cls, None)
    server.object_info = info
    return None


async def check_server(server: Server, timeout: float) -> Change | None:
    """Probe ``server``, update its fields, and say whether it just went down or came up."""
    error = await _probe(server, timeout)
    if error is not None:
        await asyncio.sleep(REPROBE_DELAY)
        error = await _probe(server, timeout)
    if error is None and (not server.healthy or server.object_info is None):
        error = await load_object_info(server, timeout)
    server.checked_at = time.time()
    if error is not None:
        server.last_error = error
        if server.healthy:
            server.healthy = False
            server.down_since = server.checked_at
            log.warning("ComfyUI server %s (%s) is down: %s", server.name, server.url, error)
            return "down"
        return None
    if not server.healthy:
        server.healthy = True
        server.down_since = None
        log.info("ComfyUI server %s (%s) is back", server.name, server.url)
        return "up"
    return None


class HealthListeners:
    """``on_down``/``on_up`` callbacks, called in the order they were added."""

    def __init__(self) -> None:
        self._listeners: list[tuple[HealthListener | None, HealthListener | None]] = []

    def add(self, on_down: HealthListener | None = None, on_up: HealthListener | None = None) -> Callable[[], None]:
        entry = (on_down, on_up)
        self._listeners.append(entry)

        def remove() -> None:
            if entry in self._listeners:
                self._listeners.remove(entry)
        return remove

    async def notify(self, change: Change, server: Server) -> None:
        """Call every listener for ``change``; a failing or stuck one is logged, not fatal."""
        for on_down, on_up in list(self._listeners):
            callback = on_down if change == "down" else on_up
            if callback is None:
                continue
            try:
                result = callback(server)
                if inspect.isawaitable(result):
                    async with asyncio.timeout(LISTENER_TIMEOUT):
                        await result
            except Exception:  # noqa: BLE001 - one broken listener must not stop health checks
                log.exception("server %s listener %r failed for %s", change, callback, server.name)


__all__ = ["HealthListener", "HealthListeners", "check_server", "load_object_info", "reread_classes"]
