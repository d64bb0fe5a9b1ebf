"""Emulator-side time and snowflake ids.

Discord's interaction deadlines (3 s to acknowledge, 15 min token lifetime) are measured by
Discord, not by the bot, so the emulator keeps its own clock. Tests move it forward with
``advance()`` instead of sleeping. Snowflakes are derived from the same clock so discord.py's
``created_at`` / ``Interaction.expires_at`` agree with what the emulator enforces.
"""

from __future__ import annotations

import itertools
import time

DISCORD_EPOCH_MS = 1420070400000


class EmulatorClock:
    """Wall-clock time plus an offset that tests can advance."""

    def __init__(self) -> None:
        self._offset = 0.0

    def now(self) -> float:
        """Seconds since the Unix epoch, as Discord sees them."""
        return time.time() + self._offset

    def advance(self, seconds: float) -> None:
        """Move emulator time forward (e.g. past the 3 s or 15 min interaction limits)."""
        if seconds < 0:
            raise ValueError(f"clock.advance() takes a non-negative number of seconds, got {seconds}")
        self._offset += seconds


class SnowflakeFactory:
    """Time-based ids: milliseconds since the Discord epoch shifted left 22 bits plus a counter."""

    def __init__(self, clock: EmulatorClock, worker_id: int = 1) -> None:
        self._clock = clock
        self._worker = worker_id & 0x1F
        self._increment = itertools.count()

    def next(self) -> str:
        return self._at(int(self._clock.now() * 1000) - DISCORD_EPOCH_MS)

    def next_on_shard(self, shard_id: int, shard_count: int) -> str:
        """An id whose events Discord sends to ``shard_id`` of ``shard_count`` (``(id >> 22) %
        shard_count``): the latest millisecond up to now that lands there, so still time-based."""
        if not 0 <= shard_id < shard_count:
            raise ValueError(f"shard {shard_id} is not within 0..{shard_count - 1}")
        ms = int(self._clock.now() * 1000) - DISCORD_EPOCH_MS
        return self._at(ms - (ms - shard_id) % shard_count)

    def _at(self, ms: int) -> str:
        return str((ms << 22) | (self._worker << 17) | (next(self._increment) & 0xFFF))


def snowflake_time(snowflake: int | str) -> float:
    """Unix seconds encoded in a snowflake."""
    return ((int(snowflake) >> 22) + DISCORD_EPOCH_MS) / 1000
