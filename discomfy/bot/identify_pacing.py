"""How fast a process may IDENTIFY its shards: Discord's ``max_concurrency``, not a flat 5 s.

Discord lets a bot start ``max_concurrency`` sessions per 5 seconds: shard ``i`` is in rate-limit
bucket ``i % max_concurrency``, and each bucket IDENTIFYs at most once per 5 s. discord.py's
default hook sleeps 5 s before every IDENTIFY but the first, whatever the bot's concurrency, so
three shards take 10 s to connect even where Discord allows all three at once. This paces by
bucket instead, with ``max_concurrency`` read once from ``GET /gateway/bot``. It paces this
process only: processes started together share Discord's budget, so start them per bucket.
"""

from __future__ import annotations

import asyncio
import logging
import time
from typing import Awaitable, Callable

log = logging.getLogger(__name__)

IDENTIFY_WINDOW = 5.0  # seconds one bucket waits between two IDENTIFYs


class IdentifyPacing:
    """``before_identify(shard_id)`` returns once that shard may IDENTIFY."""

    def __init__(self, fetch_max_concurrency: Callable[[], Awaitable[int]], *,
                 clock: Callable[[], float] = time.monotonic,
                 sleep: Callable[[float], Awaitable[None]] = asyncio.sleep) -> None:
        self._fetch = fetch_max_concurrency
        self._clock = clock
        self._sleep = sleep
        self._concurrency: int | None = None
        self._last: dict[int, float] = {}  # bucket -> when its last IDENTIFY was allowed
        self._lock = asyncio.Lock()  # one shard decides at a time, so a bucket is never used twice

    async def max_concurrency(self) -> int:
        if self._concurrency is None:
            try:
                self._concurrency = max(1, int(await self._fetch()))
            except Exception as exc:  # noqa: BLE001 - pacing must never stop the start; 1 is always safe
                log.warning("could not read max_concurrency from GET /gateway/bot (%s); "
                            "identifying one shard per 5 s", exc)
                self._concurrency = 1
        return self._concurrency

    async def before_identify(self, shard_id: int) -> None:
        async with self._lock:
            bucket = shard_id % await self.max_concurrency()
            last = self._last.get(bucket)
            if last is not None:
                wait = last + IDENTIFY_WINDOW - self._clock()
                if wait > 0:
                    await self._sleep(wait)
            self._last[bucket] = self._clock()
