"""Strikes, blocks and bans: who may not use the bot in a server right now, and why.

A member refused ``count`` times within a server's strike window is blocked there for its
block time; an admin can ban a member (for a while or for good) and unban them. Every refusal
is answered from memory inside Discord's 3-second window, so the state lives here and is
written to ``bot.jobs.guild_preferences`` in the background (one value per member), read back when
the bot starts: a block or a ban survives a restart.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Any

from .rules import StrikeRules

log = logging.getLogger(__name__)

NAMESPACE = "community-moderation"


@dataclass(frozen=True)
class Block:
    """Why and until when a member may not use the bot here (``until`` None: a ban for good)."""

    kind: str  # "blocked" (too many refusals) or "banned" (by an admin)
    reason: str
    until: float | None
    by: int | None = None  # the admin who banned

    def active(self, now: float) -> bool:
        return self.until is None or now < self.until

    def as_value(self) -> dict[str, Any]:
        return {"kind": self.kind, "reason": self.reason, "until": self.until, "by": self.by}


Key = tuple[int, int]  # (guild id, user id)
Writer = Callable[[int, str, Any], Awaitable[None]]  # (guild id, name, value or None to delete)


class Moderation:
    """Strikes within their window, blocks and bans, per server and member."""

    def __init__(self, write: Writer) -> None:
        self._write = write
        self._strikes: dict[Key, list[float]] = {}
        self._blocks: dict[Key, Block] = {}
        self._writes: set[asyncio.Task[None]] = set()

    def load(self, values: dict[int, dict[str, Any]]) -> None:
        """``{guild id: {name: value}}`` as ``bot.jobs.guild_preferences`` holds this namespace."""
        for guild_id, names in values.items():
            for name, value in names.items():
                kind, _, user = name.partition(":")
                if kind == "strikes":
                    self._strikes[(guild_id, int(user))] = [float(t) for t in value]
                elif kind == "block" and value:
                    self._blocks[(guild_id, int(user))] = Block(**value)

    # --- reading ------------------------------------------------------------------------

    def block_of(self, guild_id: int, user_id: int, now: float) -> Block | None:
        block = self._blocks.get((guild_id, user_id))
        return block if block is not None and block.active(now) else None

    def blocked(self, guild_id: int, now: float) -> list[tuple[int, Block]]:
        """Every member blocked or banned in this server now, for admins."""
        return sorted(((user, b) for (guild, user), b in self._blocks.items() if guild == guild_id and b.active(now)),
                      key=lambda item: (item[1].kind, item[0]))

    def strikes_of(self, guild_id: int, user_id: int, rules: StrikeRules, now: float) -> int:
        return len([t for t in self._strikes.get((guild_id, user_id), []) if now - t < rules.window_seconds])

    # --- changing -----------------------------------------------------------------------

    def strike(self, guild_id: int, user_id: int, rule: str, rules: StrikeRules, now: float) -> Block | None:
        """Count one refusal; returns the block it caused, if it was the last one allowed."""
        if rules.count <= 0:
            return None
        recent = [t for t in self._strikes.get((guild_id, user_id), []) if now - t < rules.window_seconds]
        recent.append(now)
        if len(recent) < rules.count:
            self._strikes[(guild_id, user_id)] = recent
            self._save(guild_id, f"strikes:{user_id}", recent)
            return None
        self._strikes.pop((guild_id, user_id), None)
        self._save(guild_id, f"strikes:{user_id}", None)
        block = Block("blocked", f"{rules.count} refused requests within {rules.window_seconds / 60:g} minutes "
                                 f"(the last one: {rule})", now + rules.block_seconds)
        self._set_block(guild_id, user_id, block)
        return block

    def ban(self, guild_id: int, user_id: int, by: int, reason: str, until: float | None) -> Block:
        block = Block("banned", reason, until, by)
        self._set_block(guild_id, user_id, block)
        return block

    def unban(self, guild_id: int, user_id: int) -> Block | None:
        """Lift a ban or a block (and forget strikes); returns what was lifted."""
        lifted = self._blocks.pop((guild_id, user_id), None)
        self._strikes.pop((guild_id, user_id), None)
        self._save(guild_id, f"block:{user_id}", None)
        self._save(guild_id, f"strikes:{user_id}", None)
        return lifted

    def _set_block(self, guild_id: int, user_id: int, block: Block) -> None:
        self._blocks[(guild_id, user_id)] = block
        self._save(guild_id, f"block:{user_id}", block.as_value())

    def _save(self, guild_id: int, name: str, value: Any) -> None:
        task = asyncio.get_running_loop().create_task(self._persist(guild_id, name, value))
        self._writes.add(task)
        task.add_done_callback(self._writes.discard)

    async def _persist(self, guild_id: int, name: str, value: Any) -> None:
        try:
            await self._write(guild_id, name, value)
        except Exception:  # memory still holds it; only a restart before the next write loses it
            log.exception("could not save %s of server %s", name, guild_id)

    async def settle(self) -> None:
        """Wait for the background writes (at stop, and in tests before a restart)."""
        while self._writes:
            await asyncio.gather(*list(self._writes))


__all__ = ["Block", "Moderation", "NAMESPACE"]
