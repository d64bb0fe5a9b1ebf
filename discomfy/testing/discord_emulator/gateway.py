"""The emulated gateway WebSocket: HELLO, heartbeats, IDENTIFY, READY, GUILD_CREATE, RESUME, shards.

Frames are sent as JSON text; discord.py only decompresses binary frames, so the
``compress=zlib-stream`` it asks for needs nothing here. Every IDENTIFY starts a session
(:mod:`.sessions`) on a shard (:mod:`.shards`); a dispatch goes to each session whose shard owns
its guild (DMs: shard 0), numbered per session and kept so a RESUME replays what the bot missed.
"""

from __future__ import annotations

import asyncio
import json
import logging
from typing import Any, Callable, Iterable

from aiohttp import WSMsgType, web

from .recording import Violation
from .sessions import GatewaySession
from .shards import ShardPolicy, ShardRefused, parse_shard

# The emulator is handed to this part, not imported: server.py assembles the parts.
DiscordEmulator = Any

log = logging.getLogger(__name__)

HEARTBEAT, IDENTIFY, RESUME, RECONNECT, REQUEST_MEMBERS, INVALID_SESSION, HELLO, HEARTBEAT_ACK = (
    1, 2, 6, 7, 8, 9, 10, 11)
HEARTBEAT_INTERVAL_MS = 41250
PRIVILEGED_INTENTS = {1 << 1: "GUILD_MEMBERS", 1 << 8: "GUILD_PRESENCES", 1 << 15: "MESSAGE_CONTENT"}
CLOSE_AUTHENTICATION_FAILED, CLOSE_DISALLOWED_INTENTS = 4004, 4014
GUILD_OBJECT_EVENTS = {"GUILD_CREATE", "GUILD_UPDATE", "GUILD_DELETE"}  # their ``id`` is the guild's

Shard = tuple[int, int] | None


class Gateway:
    """Every session the bots opened; ``session_id``, ``ws`` and ``intents`` are the latest one's."""

    def __init__(self, emu: "DiscordEmulator", enabled_privileged_intents: int,
                 policy: ShardPolicy | None = None) -> None:
        self._emu = emu
        self._enabled_privileged = enabled_privileged_intents
        self.policy = policy or ShardPolicy()
        self.sessions: list[GatewaySession] = []  # oldest first; a dead one stays until replaced
        self.sent: list[dict[str, Any]] = []  # every dispatch frame, to whichever session
        self.undelivered: list[tuple[str, str | None]] = []  # (event, guild_id) no session was owed
        self.guild_sent = asyncio.Event()
        self.connections = 0
        self.resumes = 0
        self._resumed = asyncio.Condition()
        self._identified = asyncio.Condition()
        self._sockets: set[web.WebSocketResponse] = set()
        self._drains: set[asyncio.Task[None]] = set()

    # ---- the latest session, for single-bot tests --------------------------------------------
    @property
    def latest(self) -> GatewaySession | None:
        return self.sessions[-1] if self.sessions else None

    @property
    def session_id(self) -> str | None:
        return self.latest.session_id if self.latest else None

    @property
    def intents(self) -> int | None:
        return self.latest.intents if self.latest else None

    @property
    def ws(self) -> web.WebSocketResponse | None:
        return self.latest.ws if self.latest and self.latest.live else None

    # ---- the socket -------------------------------------------------------------------------
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
            await self._chunk(ws, data)
        else:
            log.debug("emulated gateway ignored op %s", op)

    async def _identify(self, ws: web.WebSocketResponse, data: dict[str, Any]) -> None:
        emu = self._emu
        if data.get("token") != emu.token:
            await ws.close(code=CLOSE_AUTHENTICATION_FAILED, message=b"Authentication failed.")
            return
        intents = int(data.get("intents") or 0)
        missing = [name for bit, name in PRIVILEGED_INTENTS.items() if intents & bit and not self._enabled_privileged & bit]
        if missing:
            emu.violations.append(_intent_violation(missing))
            await ws.close(code=CLOSE_DISALLOWED_INTENTS, message=b"Disallowed intent(s).")
            return
        try:
            shard = parse_shard(data.get("shard"))
            held = self.policy.check(shard, emu.guilds)
        except ShardRefused as refused:
            emu.violations.append(Violation("GATEWAY", "IDENTIFY", refused.code, refused.code, refused.reason))
            await ws.close(code=refused.code, message=refused.reason.encode())
            return
        # a new IDENTIFY replaces a dead session on its shard; a live one keeps running beside it
        self.sessions = [s for s in self.sessions if s.live or s.shard != shard]
        session = GatewaySession(emu.snowflakes.next(), shard, intents, ws)
        self.sessions.append(session)
        await self._send(session, "READY", {
            "v": 10, "user": emu.bot_user, "session_id": session.session_id,
            "resume_gateway_url": emu.gateway_url, "guilds": [{"id": g, "unavailable": True} for g in held],
            "application": {"id": emu.application_id, "flags": 0}, "private_channels": [],
            "relationships": [], "user_settings": {}, "presences": [], "shard": list(shard or (0, 1))})
        for guild_id in held:
            await self._send(session, "GUILD_CREATE", emu._guild_payload(guild_id))
        self.guild_sent.set()
        async with self._identified:
            self._identified.notify_all()

    async def _resume(self, ws: web.WebSocketResponse, data: dict[str, Any]) -> None:
        session = next((s for s in self.sessions if s.session_id == data.get("session_id")), None)
        if data.get("token") != self._emu.token or session is None:
            await ws.send_json({"op": INVALID_SESSION, "d": False, "s": None, "t": None})
            return
        await session.resume(ws, int(data.get("seq") or 0))
        await self._send(session, "RESUMED", {})
        async with self._resumed:
            self.resumes += 1
            self._resumed.notify_all()

    async def _chunk(self, ws: web.WebSocketResponse, data: dict[str, Any]) -> None:
        session = next((s for s in self.sessions if s.ws is ws), None)
        requested = data.get("guild_id")
        for guild_id in requested if isinstance(requested, list) else [requested]:
            if session is not None and str(guild_id) in self._emu.guilds:
                members = self._emu._guild_payload(str(guild_id))["members"]
                await self._send(session, "GUILD_MEMBERS_CHUNK", {
                    "guild_id": str(guild_id), "members": members, "chunk_index": 0, "chunk_count": 1,
                    "nonce": data.get("nonce"), "not_found": []})

    # ---- dispatching ------------------------------------------------------------------------
    async def dispatch(self, event: str, data: dict[str, Any]) -> None:
        """Send a dispatch to every session that owns its guild (kept for a RESUME meanwhile)."""
        await self.dispatch_shaped(event, _guild_of(event, data), lambda session: data)

    async def dispatch_shaped(self, event: str, guild_id: str | None,
                              shape: Callable[[GatewaySession], dict[str, Any] | None]) -> None:
        """Like ``dispatch``, the payload built per session by ``shape`` (None: not for that
        session, e.g. a message event without the GUILD_MESSAGES intent)."""
        targets = self._number(event, guild_id, shape)
        for session in targets:
            await session.drain()

    def dispatch_soon(self, event: str, data: dict[str, Any]) -> None:
        """A dispatch from synchronous code (``emu.add_role`` once the bot is connected).

        It is numbered at once, so it reaches the bot before any later dispatch (an interaction
        naming the new role must not overtake GUILD_ROLE_CREATE), and sent on the loop's next
        turn if no other dispatch carries it out first. Needs a running event loop.
        """
        for session in self._number(event, _guild_of(event, data), lambda session: data):
            task = asyncio.get_running_loop().create_task(session.drain())
            self._drains.add(task)
            task.add_done_callback(self._drains.discard)

    def _number(self, event: str, guild_id: str | None,
                shape: Callable[[GatewaySession], dict[str, Any] | None]) -> list[GatewaySession]:
        targets = []
        for session in self.sessions:
            payload = shape(session) if session.owns(guild_id) else None
            if payload is not None:
                self.sent.append(session.number(event, payload))
                targets.append(session)
        if not targets:
            self.undelivered.append((event, guild_id))
        return targets

    async def _send(self, session: GatewaySession, event: str, data: dict[str, Any]) -> None:
        self.sent.append(session.number(event, data))
        await session.drain()

    # ---- waiting for bots -------------------------------------------------------------------
    def connected(self, shards: Iterable[Shard]) -> bool:
        """Whether each of ``shards`` has a live session that was sent its guilds."""
        live = {s.shard for s in self.sessions if s.live}
        return all(shard in live for shard in shards)

    async def wait_for_shards(self, shards: Iterable[Shard], timeout: float) -> None:
        """Until each of ``shards`` (``(id, count)``, or None for an unsharded bot) is connected."""
        wanted = list(shards)
        async with self._identified:
            async with asyncio.timeout(timeout):
                await self._identified.wait_for(lambda: self.connected(wanted))

    async def request_reconnect(self, timeout: float) -> None:
        """Send op 7 RECONNECT on the latest session and wait until the bot has resumed it."""
        if self.ws is None:
            raise AssertionError("no bot is connected to the emulated gateway")
        async with self._resumed:
            target = self.resumes + 1
            await self.ws.send_json({"op": RECONNECT, "d": None, "s": None, "t": None})
            try:
                async with asyncio.timeout(timeout):
                    await self._resumed.wait_for(lambda: self.resumes >= target)
            except asyncio.TimeoutError:
                raise AssertionError(f"the bot did not RESUME within {timeout} s after op 7 RECONNECT") from None

    async def close_all(self) -> None:
        for ws in list(self._sockets):
            await ws.close(code=1001, message=b"emulator stopping")


def _guild_of(event: str, data: dict[str, Any]) -> str | None:
    """The guild whose shard receives this event; None for DMs and other guildless events."""
    guild_id = data.get("id") if event in GUILD_OBJECT_EVENTS else data.get("guild_id")
    return None if guild_id is None else str(guild_id)


def _intent_violation(missing: list[str]) -> Violation:
    return Violation("GATEWAY", "IDENTIFY", 4014, 4014,
                     f"Disallowed intent(s): {', '.join(missing)} not enabled for this application")
