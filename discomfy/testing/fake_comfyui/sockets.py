"""One WebSocket connection of the fake and its ordered outbox."""

from __future__ import annotations

import asyncio
from typing import Any

from aiohttp import web


class SocketConn:
    """One client socket and its outbox: a single sender task keeps frames in order."""

    def __init__(self, ws: web.WebSocketResponse) -> None:
        self.ws = ws
        self.flags: dict[str, Any] = {}
        self.outbox: asyncio.Queue[Any] = asyncio.Queue()

    async def pump(self) -> None:
        try:
            while True:
                item = await self.outbox.get()
                if isinstance(item, bytes):
                    await self.ws.send_bytes(item)
                else:
                    await self.ws.send_json(item)
        except (ConnectionError, RuntimeError):
            pass  # the socket closed while we were sending, as on the real server
