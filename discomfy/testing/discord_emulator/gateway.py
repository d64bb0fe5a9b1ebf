"""The emulated gateway WebSocket: HELLO, heartbeats, IDENTIFY, READY, GUILD_CREATE, RESUME.

Frames are sent as JSON text; discord.py only decompresses binary frames, so the
``compress=zlib-stream`` it asks for needs nothing here. Dispatches are numbered and kept so a
RESUME after a reconnect replays what the bot missed, as Discord does.
"""

from __future__ import annotations

import asyncio
import collections
import json
import logging
from typing import Any

from aiohttp import WSMsgType, web

from .recording import Violation

# The emulator is handed to this part, not imported: server.py assembles the parts.
DiscordEmulator = Any

log = logging.getLogger(__name__)

DISPATCH, HEARTBEAT, IDENTIFY, RESUME, RECONNECT, REQUEST_MEMBERS, INVALID_SESSION, HELLO, HEARTBEAT_ACK = (
    0, 1, 2, 6, 7, 8, 9, 10, 11)
HEARTBEAT_INTERVAL_MS = 41250
PRIVILEGED_INTENTS = {1 << 1: "GUILD_MEMBERS", 1 << 8: "GUILD_PRESENCES", 1 << 15: "MESSAGE_CONTENT"}
CLOSE_AUTHENTICATION_FAILED, CLOSE_DISALLOWED_INTENTS = 4004, 4014


class Gateway:
    def __init__(self, emu: "DiscordEmulator", enabled_privileged_intents: int) -> None:
        self._emu = emu
        self._enabled_privileged = enabled_privileged_intents
        self.session_id: str | None = None
        self.intents: int | None = None
        self.sequence = 0
        self.sent: list[dict[str, Any]] = []  # every dispatch, for RESUME replay
        self.ws: web.WebSocketResponse | None = None
        self.guild_sent = asyncio.Event()
        self.connections = 0
        self.resumes = 0
        self._resumed = asyncio.Condition()
        self._sockets: set[web.WebSocketResponse] = set()
        self._outbox: collections.deque[dict[str, Any]] = collections.deque()  # numbered, not yet sent
        self._send_lock = asyncio.Lock()  # one sender at a time, so frames leave in sequence order
        self._drains: set[asyncio.Task[None]] = set()

    async def handle(self, request: web.Request) -> web.WebSocketResponse:
        ws = web.WebSocketResponse(autoping=True)
        await ws.prepare(request)
        self.connections += 1
        self._sockets.add(ws)
        try:
            await ws.send_json({"op": HELLO, "d": {"heartbeat_interval": HEARTBEAT_INTERVAL_MS}, "s": None, "t": None})
            async for frame in ws:
                if frame.type != WSMsgType.TEXT:
                    continue
                await self._on_frame(ws, json.loads(frame.data))
        finally:
            self._sockets.discard(ws)
            if self.ws is ws:
                self.ws = None
        return ws

    async def _on_frame(self, ws: web.WebSocketResponse, msg: dict[str, Any]) -> None:
        op, data = msg.get("op"), msg.get("d")
        if op == HEARTBEAT:
            await ws.send_json({"op": HEARTBEAT_ACK, "d": None, "s": None, "t": None})
        elif op == IDENTIFY:
            await self._identify(ws, data)
        elif op == RESUME:
            await self._resume(ws, data)
        elif op == REQUEST_MEMBERS:  # guild chunking at startup when the members intent is on
            members = self._emu._guild_payload()["members"]
            await self.dispatch("GUILD_MEMBERS_CHUNK", {"guild_id": self._emu.guild_id, "members": members,
                                                        "chunk_index": 0, "chunk_count": 1,
                                                        "nonce": data.get("nonce"), "not_found": []})
        else:
            log.debug("emulated gateway ignored op %s", op)

    async def _identify(self, ws: web.WebSocketResponse, data: dict[str, Any]) -> None:
        if data.get("token") != self._emu.token:
            await ws.close(code=CLOSE_AUTHENTICATION_FAILED, message=b"Authentication failed.")
            return
        intents = int(data.get("intents") or 0)
        missing = [name for bit, name in PRIVILEGED_INTENTS.items() if intents & bit and not self._enabled_privileged & bit]
        if missing:
            self._emu.violations.append(_intent_violation(missing))
            await ws.close(code=CLOSE_DISALLOWED_INTENTS, message=b"Disallowed intent(s).")
            return
        self.intents = intents
        self.session_id = self._emu.snowflakes.next()
        self.sequence = 0
        self.sent.clear()
        self._outbox.clear()  # a new session: nothing of the old one is owed to the bot
        self.ws = ws
        emu = self._emu
        await self.dispatch("READY", {
            "v": 10, "user": emu.bot_user, "session_id": self.session_id,
            "resume_gateway_url": emu.gateway_url, "guilds": [{"id": emu.guild_id, "unavailable": True}],
            "application": {"id": emu.application_id, "flags": 0}, "private_channels": [],
            "relationships": [], "user_settings": {}, "presences": [], "shard": [0, 1]})
        await self.dispatch("GUILD_CREATE", emu._guild_payload())
        self.guild_sent.set()

    async def _resume(self, ws: web.WebSocketResponse, data: dict[str, Any]) -> None:
        if data.get("token") != self._emu.token or data.get("session_id") != self.session_id:
            await ws.send_json({"op": INVALID_SESSION, "d": False, "s": None, "t": None})
            return
        self.ws = ws
        last = int(data.get("seq") or 0)
        async with self._send_lock:
            self._outbox.clear()  # every numbered frame is in ``sent``: the replay carries them
            for event in [e for e in self.sent if e["s"] > last]:
                await ws.send_json(event)
        await self.dispatch("RESUMED", {})
        async with self._resumed:
            self.resumes += 1
            self._resumed.notify_all()

    async def dispatch(self, event: str, data: dict[str, Any]) -> None:
        """Send a dispatch now, or keep it for the RESUME replay if the bot is reconnecting."""
        self._number(event, data)
        await self._drain()

    def dispatch_soon(self, event: str, data: dict[str, Any]) -> None:
        """A dispatch from synchronous code (``emu.add_role`` once the bot is connected).

        It is numbered at once, so it reaches the bot before any later dispatch (an interaction
        naming the new role must not overtake GUILD_ROLE_CREATE), and sent on the loop's next
        turn if no other dispatch carries it out first. Needs a running event loop.
        """
        self._number(event, data)
        task = asyncio.get_running_loop().create_task(self._drain())
        self._drains.add(task)
        task.add_done_callback(self._drains.discard)

    def _number(self, event: str, data: dict[str, Any]) -> None:
        self.sequence += 1
        frame = {"op": DISPATCH, "t": event, "s": self.sequence, "d": data}
        self.sent.append(frame)
        self._outbox.append(frame)

    async def _drain(self) -> None:
        async with self._send_lock:
            while self._outbox:
                frame = self._outbox.popleft()
                if self.ws is not None and not self.ws.closed:
                    await self.ws.send_json(frame)

    async def request_reconnect(self, timeout: float) -> None:
        """Send op 7 RECONNECT and wait until the bot has resumed its session."""
        if self.ws is None:
            raise AssertionError("no bot is connected to the emulated gateway")
        async with self._resumed:
            target = self.resumes + 1
            await self.ws.send_json({"op": RECONNECT, "d": None, "s": None, "t": None})
            try:
                await asyncio.wait_for(self._resumed.wait_for(lambda: self.resumes >= target), timeout)
            except asyncio.TimeoutError:
                raise AssertionError(f"the bot did not RESUME within {timeout} s after op 7 RECONNECT") from None

    async def close_all(self) -> None:
        for ws in list(self._sockets):
            await ws.close(code=1001, message=b"emulator stopping")


def _intent_violation(missing: list[str]) -> Violation:
    return Violation("GATEWAY", "IDENTIFY", 4014, 4014,
                     f"Disallowed intent(s): {', '.join(missing)} not enabled for this application")
