"""Every message change, pushed to every open page over a WebSocket, as it happens.

The feed subscribes to the emulator's own record of messages (``observe_messages``), so a page
sees exactly what the emulator stored, in order, with no polling. A page's socket first
receives the whole state (channels, users, messages), then each change: its queue is
registered before the snapshot is taken, so nothing falls between the two.
"""

from __future__ import annotations

import asyncio
import logging
from typing import TYPE_CHECKING, Any, Callable

from aiohttp import WSMsgType, web

from .messages import message_json

if TYPE_CHECKING:
    from discomfy.testing.discord_emulator import DiscordEmulator, StoredMessage

log = logging.getLogger(__name__)


class EventFeed:
    def __init__(self, emu: "DiscordEmulator", state: Callable[[], dict[str, Any]]) -> None:
        self.emu = emu
        self._state = state  # the snapshot a page starts from
        self._queues: set[asyncio.Queue[dict[str, Any]]] = set()
        self._unsubscribe = emu.observe_messages(self._on_message)

    def close(self) -> None:
        self._unsubscribe()
        for queue in self._queues:
            queue.put_nowait({"type": "closing"})

    @property
    def pages(self) -> int:
        return len(self._queues)

    def publish(self, event: dict[str, Any]) -> None:
        for queue in self._queues:
            queue.put_nowait(event)

    def _on_message(self, msg: "StoredMessage", created: bool) -> None:
        self.publish({"type": "message", "message": message_json(self.emu, msg)})

    async def handle(self, request: web.Request) -> web.WebSocketResponse:
        ws = web.WebSocketResponse(heartbeat=30)
        await ws.prepare(request)
        queue: asyncio.Queue[dict[str, Any]] = asyncio.Queue()
        self._queues.add(queue)
        reader = asyncio.create_task(self._drain(ws))
        try:
            await ws.send_json({"type": "state", **self._state()})
            while not ws.closed:
                getter = asyncio.create_task(queue.get())
                done, _ = await asyncio.wait({getter, reader}, return_when=asyncio.FIRST_COMPLETED)
                if getter not in done:
                    getter.cancel()
                    break
                event = getter.result()
                if event["type"] == "closing":
                    break
                await ws.send_json(event)
        except (ConnectionResetError, RuntimeError) as exc:  # the page went away mid-send
            log.debug("page socket closed: %s", exc)
        finally:
            self._queues.discard(queue)
            reader.cancel()
            await ws.close()
        return ws

    @staticmethod
    async def _drain(ws: web.WebSocketResponse) -> None:
        """Pages send nothing on the socket (actions are HTTP requests); wait for it to close."""
        async for message in ws:
            if message.type == WSMsgType.ERROR:
                break
