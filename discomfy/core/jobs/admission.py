"""Admission from the store: the per-user cap and the rate limits, counted in the job table.

One process keeps these counts in memory (``FairQueue``'s per-user cap, ``RateLimiter``). When
several processes share a store, each sees only the commands it received, so a user spreading
commands over three processes would get three times the allowance. With a shared store the
decision is taken where every job is: :meth:`JobStore.add` with an :class:`Admission` counts,
in the same transaction as the insert, the user's unfinished jobs and the jobs created in the
rate window (theirs and everyone's), and refuses with the same words the in-memory checks use.
The engines serialise the admissions of one user (SQLite: its write lock, which serialises
every write; PostgreSQL: a transaction advisory lock keyed by the user), so two processes
admitting that user's commands at once never both take their last place. Different users are
not serialised on PostgreSQL -- a lock for everyone would queue every command of every process
behind one another -- so two users admitted in the same instant may both take the last place in
everyone's window (``global_limit``): it is exceeded by at most the commands admitted at once.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from discomfy.core.jobs.job import UNFINISHED_STATES
from discomfy.core.jobs.queued import QueueFullError
from discomfy.exceptions import RateLimitError
from discomfy.utils.rate_limit import describe_wait, describe_window

#: the first of the two ``pg_advisory_xact_lock`` keys held while one of a user's jobs is
#: admitted ("adm!" in ASCII); the second is derived from the user id
ADMISSION_LOCK = 0x61646D21
_UNFINISHED = tuple(s.value for s in UNFINISHED_STATES)


@dataclass(frozen=True)
class Admission:
    """``max_active`` unfinished jobs per user; ``per_user`` and ``global_limit`` jobs created
    per ``window`` seconds (``limits.*``, as the in-memory checks read them)."""

    max_active: int
    per_user: int
    global_limit: int
    window: float

    @classmethod
    def from_config(cls, config: Any) -> Admission:
        limits = config.limits
        return cls(int(limits.max_queued_per_user), int(limits.per_user), int(limits.global_limit),
                   float(limits.window_seconds))

    def counts(self, user_id: int, now: float) -> tuple[str, tuple[Any, ...]]:
        """One query (SQLite's dialect): the user's unfinished jobs, and the creation time of
        the job that fills the user's and everyone's window (None while there is room)."""
        since = now - self.window
        marks = ", ".join("?" for _ in _UNFINISHED)
        sql = (f"SELECT (SELECT COUNT(*) FROM jobs WHERE user_id = ? AND state IN ({marks})) AS active, "
               "(SELECT created_at FROM jobs WHERE user_id = ? AND created_at > ? "
               "ORDER BY created_at DESC LIMIT 1 OFFSET ?) AS user_full_since, "
               "(SELECT created_at FROM jobs WHERE created_at > ? "
               "ORDER BY created_at DESC LIMIT 1 OFFSET ?) AS all_full_since")
        return sql, (user_id, *_UNFINISHED, user_id, since, self.per_user - 1, since, self.global_limit - 1)

    @staticmethod
    def lock(user_id: int) -> tuple[int, int]:
        """The two 32-bit advisory lock keys that serialise one user's admissions."""
        return ADMISSION_LOCK, (user_id ^ (user_id >> 32)) & 0x7FFFFFFF

    def refusal(self, user_id: int, row: Any, now: float) -> Exception | None:
        """The error the user reads, or None when the job may be added."""
        active = int(row["active"])
        if active >= self.max_active:
            noun = "job" if self.max_active == 1 else "jobs"
            return QueueFullError(
                f"You already have {active} {noun} waiting or running; wait for one to finish or cancel it.",
                detail=f"user {user_id} at the per-user cap ({self.max_active}), counted in the shared job store")
        user_wait = _wait(row["user_full_since"], self.window, now)
        all_wait = _wait(row["all_full_since"], self.window, now)
        if user_wait <= 0 and all_wait <= 0:
            return None
        wait, window = max(user_wait, all_wait), describe_window(self.window)
        if user_wait >= all_wait:
            message, scope = f"You can run {self.per_user} generations {window}; try again in {describe_wait(wait)}.", "per-user"
        else:
            message = (f"The bot is busy: everyone together can run {self.global_limit} generations {window}; "
                       f"try again in {describe_wait(wait)}.")
            scope = "global"
        return RateLimitError(message, detail=f"{scope} rate limit hit by user {user_id}, counted in the shared "
                                              f"job store; retry after {wait:.3f}s", retry_after=wait)


def _wait(full_since: float | None, window: float, now: float) -> float:
    return 0.0 if full_since is None else max(0.0, float(full_since) + window - now)


__all__ = ["ADMISSION_LOCK", "Admission"]
