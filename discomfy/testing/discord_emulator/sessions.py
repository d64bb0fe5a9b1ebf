"""One gateway session: what one IDENTIFY started, numbered and kept for its RESUME.

Each session numbers its own dispatches (``s``), as Discord does per session, and keeps them so
a RESUME after a dropped socket replays what the bot missed. A session outlives its socket
until the bot RESUMEs it or a new IDENTIFY on the same shard replaces it.
"""

from __future__ import annotations

import asyncio
import collections
from typing import Any

from aiohttp import web

from .shards import owns

DISPATCH = 0
GUILD_MESSAGES_INTENT, MESSAGE_CONTENT_INTENT = 1 << 9, 1 << 15


class GatewaySession:
    def __init__(self, session_id: str, shard: tuple[int, int] | None, intents: int,
                 ws: web.WebSocketResponse) -> None:
        self.session_id = session_id
        self.shard = shard  # (shard_id, shard_count), or None for an unsharded session
        self.intents = intents
        self.ws: web.WebSocketResponse | None = ws
        self.sequence = 0
        self.sent: list[dict[str, Any]] = []  # every dispatch of this session, for RESUME replay
        self._outbox: collections.deque[dict[str, Any]] = collections.deque()  # numbered, not yet sent
        self._send_lock = asyncio.Lock()  # one sender at a time, so frames leave in sequence order

    @property
    def live(self) -> bool:
        return self.ws is not None and not self.ws.closed

    @property
    def shard_id(self) -> int:
        return 0 if self.shard is None else self.shard[0]

    def owns(self, guild_id: str | None) -> bool:
        """Whether this session receives the events of ``guild_id`` (None: a DM)."""
        return owns(self.shard, guild_id)

    def number(self, event: str, data: dict[str, Any]) -> dict[str, Any]:
        """Give the dispatch this session's next sequence number and queue it for sending."""
        self.sequence += 1
        frame = {"op": DISPATCH, "t": event, "s": self.sequence, "d": data}
        self.sent.append(frame)
        self._outbox.append(frame)
        return frame

    async def drain(self) -> None:
        """Send what is queued; while the socket is gone it stays in ``sent`` for the RESUME.

        A socket that is closing but not closed yet (a bot starved of CPU missing heartbeats)
        refuses the write: that is the socket gone, not a failure of whatever caused the
        dispatch (a REST edit must still succeed, as on Discord)."""
        async with self._send_lock:
            while self._outbox:
                frame = self._outbox.popleft()
                if self.live:
                    try:
                        await self.ws.send_json(frame)  # type: ignore[union-attr]
                    except ConnectionResetError:
                        self.ws = None

    async def resume(self, ws: web.WebSocketResponse, last: int) -> None:
        """Attach ``ws`` and replay every dispatch after sequence ``last``."""
        self.ws = ws
        async with self._send_lock:
            self._outbox.clear()  # every numbered frame is in ``sent``: the replay carries them
            try:
                for frame in [f for f in self.sent if f["s"] > last]:
                    await ws.send_json(frame)
            except ConnectionResetError:  # gone again mid-replay: the next RESUME replays it all
                self.ws = None


def message_for(session: GatewaySession, payload: dict[str, Any], *,
                content_needs_intent: bool = False) -> dict[str, Any] | None:
    """A message event as ``session`` receives it: nothing without GUILD_MESSAGES, and a user's
    message not mentioning the bot blank without MESSAGE_CONTENT (Discord's privileged intent)."""
    if not session.intents & GUILD_MESSAGES_INTENT:
        return None
    if content_needs_intent and not session.intents & MESSAGE_CONTENT_INTENT:
        return {**payload, "content": "", "embeds": [], "attachments": [], "components": []}
    return payload
