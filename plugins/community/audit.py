"""The audit channel: what moderation did in a server, posted to that server's audit channel.

Refusals, strikes, bans, withheld results and settings changes are recorded from hooks, which
must never wait on Discord, and posted later in batches. One message per entry would let a flood
of refusals (a raid, a script resubmitting a banned prompt) run the bot into Discord's rate
limits, delaying every other message it sends. So a server's entries wait ``batch_seconds`` and
then go out in as few messages as Discord's limits allow; what waits is bounded, the oldest of a
flood being counted in one summary line rather than kept.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
from collections import Counter, deque
from dataclasses import dataclass, field
from typing import Awaitable, Callable

import aiohttp
import discord

log = logging.getLogger(__name__)

MESSAGE_LIMIT = 2000  # Discord's content limit, in characters

# How the summary line names the entries of each kind it stands for ("… and 137 more refusals").
PLURALS = {"refused": "refusals", "stripped": "stripped prompts", "strike": "strikes",
           "blocked": "blocks", "banned": "bans", "unbanned": "unbans",
           "withheld": "withheld results", "spoilered": "spoilered results",
           "settings": "settings changes", "quota": "quota refusals"}

Send = Callable[[int, str], Awaitable[None]]


@dataclass(frozen=True)
class AuditEntry:
    """One thing moderation did in a server.

    ``kind`` is one of PLURALS' keys; ``text`` one line of plain words naming who (``<@id>``
    mention text, which never pings: see ``channel_sender``), what and why (e.g. the job id of a
    withheld result). ``at`` is when it happened, by the caller's clock.
    """

    guild_id: int
    kind: str
    text: str
    at: float


@dataclass
class _Pending:
    """A server's entries waiting for its next batch."""

    since: float  # clock() when the first of them arrived: the batch is due batch_seconds later
    entries: deque[AuditEntry] = field(default_factory=deque)
    summarised: Counter[str] = field(default_factory=Counter)  # kind -> oldest entries only counted


class AuditLog:
    """Collects audit entries and posts each server's in batches to its audit channel.

    ``send(channel_id, content)`` posts one message. It receives the content only, so it must post
    with ``allowed_mentions=discord.AllowedMentions.none()`` (as ``channel_sender`` does): entries
    name users with mentions and may quote what users typed ("@everyone"), and an audit log that
    pings would be a way to spam a server. ``channel_for(guild_id)`` is the server's audit channel
    id, or None when it has none (its entries are then dropped); it is asked at each batch, so a
    newly chosen channel receives the very settings change that chose it.
    """

    def __init__(self, send: Send, channel_for: Callable[[int], int | None], *,
                 batch_seconds: float = 5.0, clock: Callable[[], float] = time.monotonic,
                 max_lines_per_message: int = 20, max_pending: int = 500,
                 sleep: Callable[[float], Awaitable[None]] = asyncio.sleep) -> None:
        self._send = send
        self._channel_for = channel_for
        self._batch_seconds = batch_seconds
        self._clock = clock
        self._sleep = sleep  # injectable, so tests drive the batching without waiting
        self._max_lines = max_lines_per_message
        self._max_pending = max_pending
        self._pending: dict[int, _Pending] = {}
        self._wake = asyncio.Event()  # set when a server starts waiting: the task has work
        self._posting = asyncio.Lock()  # one batch at a time: flush() waits for one in flight
        self._task: asyncio.Task[None] | None = None

    def record(self, entry: AuditEntry) -> None:
        """Queue ``entry`` for its server's next batch. Never waits and never raises, because it
        is called from moderation hooks whose decision must not depend on the audit channel."""
        try:
            pending = self._pending.get(entry.guild_id)
            if pending is None:
                pending = self._pending[entry.guild_id] = _Pending(self._clock())
                self._wake.set()
            pending.entries.append(entry)
            self._bound(pending)
        except Exception:
            log.exception("audit entry lost: %r", entry)

    async def flush(self) -> None:
        """Post everything pending now, whatever the batch windows (at stop, and in tests). A
        batch the background task is posting at that moment is waited for first: it was taken
        off the pending list, so without the wait flush() could return before it is posted."""
        async with self._posting:
            for guild_id in list(self._pending):
                await self._post(guild_id)

    async def start(self) -> None:
        """Start posting batches in the background."""
        if self._task is None or self._task.done():
            self._task = asyncio.create_task(self._run(), name="community-audit")

    async def stop(self) -> None:
        """Stop the background task and post what is left. Call it before the bot closes its
        HTTP session, or the last batch cannot be posted."""
        if self._task is not None:
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._task
            self._task = None
        await self.flush()

    async def _run(self) -> None:
        """Post each server's batch once it is due: ``batch_seconds`` after its first entry, so a
        server gets at most one batch per window however many entries arrive in it."""
        while True:
            if not self._pending:
                self._wake.clear()
                await self._wake.wait()
                continue
            now = self._clock()
            due = {guild_id: p.since + self._batch_seconds for guild_id, p in self._pending.items()}
            ready = [guild_id for guild_id, at in due.items() if at <= now]
            if not ready:
                await self._sleep(min(due.values()) - now)
            for guild_id in ready:
                await self._flush_guild(guild_id)

    async def _flush_guild(self, guild_id: int) -> None:
        async with self._posting:
            await self._post(guild_id)

    async def _post(self, guild_id: int) -> None:
        """Post one server's pending entries. A failure is logged, never raised, so the task lives
        on: on a transient one the unposted entries wait for the next window, on a permanent one
        (no access, channel deleted) they are dropped, since posting them again would fail again."""
        pending = self._pending.pop(guild_id, None)
        if pending is None:
            return
        lines = ([_summary(pending.summarised)] if pending.summarised else []) + \
            [_line(entry) for entry in pending.entries]
        posted = 0
        try:
            channel_id = self._channel_for(guild_id)
            if channel_id is None:
                log.debug("guild %s has no audit channel: %d audit lines dropped", guild_id, len(lines))
                posted = len(lines)
                return
            for content in pack(lines, self._max_lines):
                await self._send(channel_id, content)
                posted += content.count("\n") + 1
        except Exception as exc:
            if transient(exc):
                log.warning("audit channel of guild %s unreachable (%s): %d lines kept for the next batch",
                            guild_id, exc, len(lines) - posted)
            else:
                log.error("audit channel of guild %s refused the post (%s): %d lines dropped",
                          guild_id, exc, len(lines) - posted,
                          exc_info=not isinstance(exc, discord.HTTPException))
                posted = len(lines)
        finally:  # also when cancelled mid-batch by stop(), which then posts the rest
            if posted < len(lines):
                self._requeue(guild_id, pending, posted)

    def _requeue(self, guild_id: int, pending: _Pending, posted: int) -> None:
        """Put back what was not posted, ahead of what arrived meanwhile, due one window from now."""
        has_summary = bool(pending.summarised)
        back = _Pending(self._clock(), deque(list(pending.entries)[max(0, posted - has_summary):]),
                        pending.summarised if posted == 0 else Counter())
        newer = self._pending.get(guild_id)
        if newer is not None:
            back.entries.extend(newer.entries)
            back.summarised.update(newer.summarised)
        self._bound(back)
        self._pending[guild_id] = back
        self._wake.set()

    def _bound(self, pending: _Pending) -> None:
        """Count the oldest entries beyond ``max_pending`` instead of keeping them, so a flood
        cannot grow memory (nor the batch) without limit."""
        while len(pending.entries) > self._max_pending:
            pending.summarised[pending.entries.popleft().kind] += 1


def transient(exc: Exception) -> bool:
    """Whether posting again later may succeed: Discord overloaded or rate limiting, or the
    network failing (OSError covers timeouts), as opposed to missing access or a deleted channel."""
    if isinstance(exc, discord.HTTPException):
        return exc.status == 429 or exc.status >= 500
    return isinstance(exc, (OSError, aiohttp.ClientError))


def pack(lines: list[str], max_lines: int) -> list[str]:
    """Join ``lines`` in order into as few messages as fit Discord's content limit and
    ``max_lines`` lines each (greedy filling is optimal when the order is kept)."""
    messages: list[str] = []
    current: list[str] = []
    size = 0
    for line in lines:
        if current and (len(current) == max_lines or size + 1 + len(line) > MESSAGE_LIMIT):
            messages.append("\n".join(current))
            current, size = [], 0
        size += len(line) + (1 if current else 0)
        current.append(line)
    if current:
        messages.append("\n".join(current))
    return messages


def _line(entry: AuditEntry) -> str:
    """The entry as one line that fits a message alone: a newline inside ``text`` would break
    the one-entry-per-line layout (and the line counting of ``pack``)."""
    line = f"{entry.kind}: {' '.join(entry.text.split())}"
    return line if len(line) <= MESSAGE_LIMIT else line[:MESSAGE_LIMIT - 1] + "…"


def _summary(counts: Counter[str]) -> str:
    """The line standing for the entries a flood pushed out, most numerous kind first."""
    parts = [f"{n} more {PLURALS.get(kind, kind + ' entries')}" for kind, n in counts.most_common()]
    return "… and " + ", ".join(parts)


def channel_sender(bot: discord.Client) -> Send:
    """The ``send`` for a real bot: posts to the channel by id, pinging no one."""
    async def send(channel_id: int, content: str) -> None:
        await bot.get_partial_messageable(channel_id).send(
            content, allowed_mentions=discord.AllowedMentions.none())
    return send
