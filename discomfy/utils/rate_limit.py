"""Per-user and global request limits over a sliding window.

A sliding log (the time of every allowed request in the last window) rather than fixed
buckets: a user who spent their allowance at 12:00:59 cannot spend it again at 12:01:00, and
``retry_after`` is exact, so the refusal can tell the user precisely when to come back.

Memory stays bounded: a user's log never holds more than ``per_user`` entries, the global log
never more than ``global_limit``, and users whose requests have all expired are dropped.
Meant for one event loop (no locking); the clock is injectable so tests never sleep.
"""

from __future__ import annotations

import math
import time
from collections import deque
from collections.abc import Callable, Hashable
from dataclasses import dataclass
from typing import Any

from discomfy.exceptions import RateLimitError


@dataclass(frozen=True)
class RateLimitConfig:
    """``per_user`` requests per user and ``global_limit`` for everyone together, per window."""

    per_user: int = 10
    global_limit: int = 100
    window_seconds: float = 60.0

    def __post_init__(self) -> None:
        if self.per_user < 1 or self.global_limit < 1 or self.window_seconds <= 0:
            raise ValueError(
                "RateLimitConfig needs per_user >= 1, global_limit >= 1 and window_seconds > 0, "
                f"got {self.per_user}, {self.global_limit}, {self.window_seconds}"
            )

    @classmethod
    def from_config(cls, config: Any) -> RateLimitConfig:
        """Build from the ``[limits]`` section of a DisComfy config."""
        limits = config.limits
        return cls(int(limits.per_user), int(limits.global_limit), float(limits.window_seconds))


def describe_window(seconds: float) -> str:
    """``60`` -> "per minute", ``3600`` -> "per hour", ``90`` -> "every 90 seconds"."""
    if seconds == 60:
        return "per minute"
    if seconds == 3600:
        return "per hour"
    if seconds % 60 == 0:
        return f"every {int(seconds // 60)} minutes"
    return f"every {seconds:g} seconds"


def describe_wait(seconds: float) -> str:
    """A wait rounded up to what a user can act on: "42 s", "3 min 5 s"."""
    whole = max(1, math.ceil(seconds))
    if whole < 60:
        return f"{whole} s"
    minutes, rest = divmod(whole, 60)
    return f"{minutes} min {rest} s" if rest else f"{minutes} min"


class RateLimiter:
    """Sliding-window limiter; ``check_rate_limit`` records the request when it allows it."""

    def __init__(
        self, config: RateLimitConfig | None = None, *, clock: Callable[[], float] = time.monotonic
    ) -> None:
        self.config = config or RateLimitConfig()
        self._clock = clock
        self._users: dict[Hashable, deque[float]] = {}
        self._global: deque[float] = deque()
        self._last_sweep = clock()

    # --- bookkeeping ----------------------------------------------------------------------

    def _prune(self, now: float) -> None:
        """Drop expired timestamps; once per window, also drop users who went idle."""
        horizon = now - self.config.window_seconds
        while self._global and self._global[0] <= horizon:
            self._global.popleft()
        if now - self._last_sweep >= self.config.window_seconds:
            self._last_sweep = now
            for user_id in [u for u, log in self._users.items() if not log or log[-1] <= horizon]:
                del self._users[user_id]

    def _user_log(self, user_id: Hashable, now: float) -> deque[float] | None:
        log = self._users.get(user_id)
        if log is None:
            return None
        horizon = now - self.config.window_seconds
        while log and log[0] <= horizon:
            log.popleft()
        if not log:
            del self._users[user_id]
            return None
        return log

    def _waits(self, user_id: Hashable) -> tuple[float, float]:
        """Seconds until the user's own window, and the global one, each have room."""
        now = self._clock()
        self._prune(now)
        window = self.config.window_seconds
        log = self._user_log(user_id, now)
        user_wait = 0.0
        if log is not None and len(log) >= self.config.per_user:
            user_wait = log[len(log) - self.config.per_user] + window - now
        global_wait = 0.0
        if len(self._global) >= self.config.global_limit:
            global_wait = self._global[len(self._global) - self.config.global_limit] + window - now
        return max(0.0, user_wait), max(0.0, global_wait)

    # --- public API (API.md) ----------------------------------------------------------------

    def check_rate_limit(self, user_id: Hashable) -> bool:
        """True (and the request is counted) when both windows have room; False otherwise."""
        user_wait, global_wait = self._waits(user_id)
        if user_wait > 0 or global_wait > 0:
            return False
        now = self._clock()
        self._users.setdefault(user_id, deque()).append(now)
        self._global.append(now)
        return True

    def get_user_remaining(self, user_id: Hashable) -> int:
        """Requests this user could still make now: their own allowance, capped by what is
        left of the global one (the number that actually matters to them)."""
        now = self._clock()
        self._prune(now)
        log = self._user_log(user_id, now)
        own = self.config.per_user - (len(log) if log else 0)
        shared = self.config.global_limit - len(self._global)
        return max(0, min(own, shared))

    def reset_user(self, user_id: Hashable) -> None:
        """Forget this user's requests (their share of the global window stays counted)."""
        self._users.pop(user_id, None)

    def retry_after(self, user_id: Hashable) -> float:
        """Seconds until this user's next request would be allowed (0.0 = now)."""
        return max(self._waits(user_id))

    def acquire(self, user_id: Hashable) -> None:
        """Count a request or raise ``RateLimitError`` saying when to try again."""
        user_wait, global_wait = self._waits(user_id)
        if user_wait <= 0 and global_wait <= 0:
            self.check_rate_limit(user_id)
            return
        wait = max(user_wait, global_wait)
        window = describe_window(self.config.window_seconds)
        if user_wait >= global_wait:
            message = (
                f"You can run {self.config.per_user} generations {window}; "
                f"try again in {describe_wait(wait)}."
            )
            scope = "per-user"
        else:
            message = (
                f"The bot is busy: everyone together can run {self.config.global_limit} "
                f"generations {window}; try again in {describe_wait(wait)}."
            )
            scope = "global"
        raise RateLimitError(
            message,
            detail=f"{scope} rate limit hit by user {user_id}; retry after {wait:.3f}s",
            retry_after=wait,
        )

    def tracked_users(self) -> int:
        """How many users currently hold entries (for /status and memory checks)."""
        return len(self._users)


__all__ = ["RateLimitConfig", "RateLimiter", "describe_wait", "describe_window"]
