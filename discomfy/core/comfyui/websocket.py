"""The single WebSocket a client keeps open to its ComfyUI server.

It is read continuously by one task for the client's whole life, so no message waits on a
caller. When the connection drops it reconnects with exponential backoff (capped at
``reconnect_max_delay``) and calls ``on_connect`` after every successful connect: the client
uses that to reconcile open jobs from ``/history`` and ``/queue``, because ComfyUI does not
replay what it sent while the socket was down.
"""

from __future__ import annotations

import asyncio
import json
import logging
import random
import time
from collections.abc import Awaitable, Callable

import aiohttp

from discomfy.core.comfyui.http import HttpTransport
from discomfy.core.comfyui.router import EventRouter
from discomfy.utils.tasks import cancel_and_wait

log = logging.getLogger(__name__)

FEATURE_FLAGS = {"type": "feature_flags", "data": {"supports_preview_metadata": True}}


class SocketListener:
    """Connect, read, reconnect; hands every frame to the router."""

    def __init__(
        self,
        transport: HttpTransport,
        client_id: str,
        router: EventRouter,
        on_connect: Callable[[], Awaitable[None]],
        *,
        reconnect_max_delay: float,
        first_delay: float = 0.05,
    ) -> None:
        self._transport = transport
        self._client_id = client_id
        self._router = router
        self._on_connect = on_connect
        self._max_delay = max(reconnect_max_delay, first_delay)
        self._first_delay = first_delay
        self._task: asyncio.Task[None] | None = None
        self._ws: aiohttp.ClientWebSocketResponse | None = None
        self.connected = asyncio.Event()
        self.first_attempt_done = asyncio.Event()
        self.connect_count = 0
        self.last_error: str | None = None
        # time.monotonic() since when no socket is up (None while connected): how long the
        # server has been unreachable, so followers can give up on a server that never returns
        self.down_since: float | None = time.monotonic()

    @property
    def ws_url(self) -> str:
        base = self._transport.base_url
        scheme = "wss" if base.startswith("https") else "ws"
        return f"{scheme}{base[base.index(':'):]}/ws?clientId={self._client_id}"

    def start(self) -> None:
        if self._task is None or self._task.done():
            self._task = asyncio.create_task(self._run(), name=f"comfyui-ws-{self._client_id}")

    async def stop(self) -> None:
        task, self._task = self._task, None
        if self._ws is not None and not self._ws.closed:
            await self._ws.close()
        await cancel_and_wait(task)
        self.connected.clear()

    async def _run(self) -> None:
        delay = self._first_delay
        while True:
            try:
                await self._connect_and_read()
                delay = self._first_delay  # a session that connected resets the backoff
            except asyncio.CancelledError:
                raise
            except Exception as exc:  # noqa: BLE001 - every failure means "try again later"
                task = asyncio.current_task()
                if task is not None and task.cancelling():
                    # Python 3.11's wait_for can hand back the inner error instead of the
                    # cancellation; swallowing it here would make stop() wait forever
                    raise asyncio.CancelledError from exc
                self.last_error = f"{type(exc).__name__}: {exc}"
                log.debug("ComfyUI socket %s failed: %s", self.ws_url, self.last_error)
            finally:
                if self.connected.is_set() or self.down_since is None:
                    self.down_since = time.monotonic()
                self.connected.clear()
                self.first_attempt_done.set()
            await asyncio.sleep(delay * (0.8 + 0.4 * random.random()))
            delay = min(delay * 2, self._max_delay)

    async def _connect_and_read(self) -> None:
        timeout = aiohttp.ClientWSTimeout(ws_close=self._transport.request_timeout)
        async with asyncio.timeout(self._transport.request_timeout):
            ws = await self._transport.session.ws_connect(
                self.ws_url, heartbeat=30.0, timeout=timeout, max_msg_size=0
            )
        self._ws = ws
        reconcile: asyncio.Task[None] | None = None
        try:
            await ws.send_json(FEATURE_FLAGS)
            self.connect_count += 1
            self.connected.set()
            self.down_since = None
            self.first_attempt_done.set()
            reconcile = asyncio.create_task(self._on_connect())
            async for msg in ws:
                if msg.type == aiohttp.WSMsgType.TEXT:
                    try:
                        message = json.loads(msg.data)
                    except ValueError:
                        continue
                    if isinstance(message, dict):
                        self._router.feed_text(message)
                elif msg.type == aiohttp.WSMsgType.BINARY:
                    self._router.feed_binary(msg.data)
                elif msg.type in (aiohttp.WSMsgType.ERROR, aiohttp.WSMsgType.CLOSE):
                    break
            await reconcile
        finally:
            if reconcile is not None and not reconcile.done():
                reconcile.cancel()
            self._ws = None
            await ws.close()
