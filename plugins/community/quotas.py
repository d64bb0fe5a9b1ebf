"""Quotas: exact counting of what each member used on each server.

The submission review runs inside Discord's 3-second window, so the decision is taken from
memory: the ledger keeps, per (server, member), one entry per job that still counts, keyed by
job id. Checking and reserving happen in one synchronous call, with no ``await`` between
them, so concurrent submissions on the event loop can never both take the last unit.

Entries are kept in both units at once (every job counts as one job and carries its GPU
seconds once it has finished), so an admin switching ``/server`` from jobs to GPU seconds is
applied to the very next submission. A failed, cancelled or withheld job, or a submission that
never became a job, gives its unit back: members pay for what they received. ``load`` rebuilds
the same entries from the job store, so a restart forgets nothing.

Every method takes the time (``now``) instead of reading a clock, so tests drive it.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any

from discomfy import JobState

from .rules import DAY, QuotaRules

#: How far back uses are kept (and read at start): longer than any period that matters.
RETENTION = 31 * DAY
#: What a GPU-seconds job reserves until its real time is known: it may start while any second
#: is left, and still holds the last second against a concurrent submission.
RESERVED_SECONDS = 1.0
#: Jobs that ended this way gave the member nothing, so they do not count.
GIVEN_BACK = frozenset({JobState.FAILED, JobState.CANCELLED, JobState.WITHHELD})


@dataclass
class _Use:
    """One job that counts: when it was submitted and, once delivered, its GPU seconds."""

    at: float
    seconds: float | None = None  # None while the job has not finished

    def amount(self, unit: str) -> float:
        if unit == "jobs":
            return 1.0
        return RESERVED_SECONDS if self.seconds is None else self.seconds


@dataclass(frozen=True)
class Usage:
    """What ``/usage`` shows a member. ``limit`` and ``left`` are None when unlimited;
    ``resets_at`` is when something comes back (None: nothing to come back); ``running`` is
    how many counted jobs have not finished (their GPU seconds are not known yet)."""

    used: float
    limit: float | None
    left: float | None
    resets_at: float | None
    running: int


def gpu_seconds(started_at: float | None, ended_at: float) -> float:
    """How long the image server worked on a finished job: from when it was handed the job
    (``started_at``; None: never) to the job's end (its ``updated_at``)."""
    if started_at is None:
        return 0.0
    return max(0.0, float(ended_at) - float(started_at))


def window_start(rules: QuotaRules, now: float) -> float:
    """The oldest moment whose uses still count: today's UTC midnight for ``DAY`` (Unix time
    has no leap seconds, so days are exact multiples), else one period ago."""
    if rules.period_seconds == DAY:
        return now - now % DAY
    return now - rules.period_seconds


def resets_at(rules: QuotaRules, counted: list[tuple[float, float]], limit: float | None,
              now: float) -> float | None:
    """When the member gets something back. Per day: next UTC midnight. Rolling: each use
    comes back one period after it was made, oldest first; a member who is out gets the
    moment enough has come back to submit again (a long GPU job may have overdrawn)."""
    if rules.period_seconds == DAY:
        return window_start(rules, now) + DAY
    owed = sum(amount for _, amount in counted) - (limit if limit is not None else float("inf"))
    for at, amount in sorted(counted):
        owed -= amount
        if owed < 0:
            return at + rules.period_seconds
    return None  # a limit of 0: nothing ever comes back


class QuotaLedger:
    """Every member's counted uses per server; see the module docstring."""

    def __init__(self, retention: float = RETENTION) -> None:
        self.retention = retention
        self._uses: dict[tuple[int | None, int], dict[str, _Use]] = {}

    async def load(self, store: Any, now: float) -> None:
        """Count the jobs of the last ``retention`` seconds from the job store. Call before
        the bot takes submissions; a job the ledger already knows keeps what memory says."""
        marks = ", ".join("?" for _ in GIVEN_BACK)
        rows = await store.execute(
            "SELECT id, guild_id, user_id, state, created_at, started_at, updated_at FROM jobs "
            f"WHERE created_at >= ? AND state NOT IN ({marks})",
            (now - self.retention, *(state.value for state in GIVEN_BACK)))
        for row in rows:
            use = _Use(row["created_at"])
            if JobState(row["state"]) is JobState.DELIVERED:
                use.seconds = gpu_seconds(row["started_at"], row["updated_at"])
            self._member(row["guild_id"], row["user_id"]).setdefault(row["id"], use)

    def reserve(self, review: Any, rules: QuotaRules, now: float) -> str | None:
        """Take one unit for ``review``'s job if the member has any left: None when taken (it
        is given back if the submission is dropped), else what the member reads."""
        who = review.requester
        uses = self._member(who.guild_id, who.user_id)
        self._forget_old(uses, now)
        usage = self.usage(who.guild_id, who.user_id, who.role_ids, rules, now)
        if usage.left is not None and usage.left <= 0:
            return refusal(rules, usage)
        uses[review.job_id] = _Use(now)
        review.on_dropped(lambda: uses.pop(review.job_id, None))
        return None

    def finished(self, job: Any) -> None:
        """A job ended: one that gave the member nothing gives its unit back, a delivered one
        is charged its real GPU seconds. Calling it again for the same job changes nothing."""
        uses = self._uses.get((job.guild_id, job.user_id), {})
        state = JobState(job.state)
        if state in GIVEN_BACK:
            uses.pop(job.id, None)
        elif state is JobState.DELIVERED and job.id in uses:
            uses[job.id].seconds = gpu_seconds(job.started_at, job.updated_at)

    def usage(self, guild_id: int | None, user_id: int, role_ids: frozenset[int], rules: QuotaRules,
              now: float) -> Usage:
        """What the member used in the current period, their limit, and what is left."""
        start = window_start(rules, now)
        uses = [u for u in self._uses.get((guild_id, user_id), {}).values() if _counts(u.at, start, rules)]
        counted = [(u.at, u.amount(rules.unit)) for u in uses]
        used = sum(amount for _, amount in counted)
        limit = rules.limit_for(user_id, role_ids)
        left = None if limit is None else max(0.0, limit - used)
        running = sum(1 for u in uses if u.seconds is None)
        positive = [(at, amount) for at, amount in counted if amount > 0]
        return Usage(used, limit, left, resets_at(rules, positive, limit, now), running)

    def _member(self, guild_id: int | None, user_id: int) -> dict[str, _Use]:
        return self._uses.setdefault((guild_id, user_id), {})

    def _forget_old(self, uses: dict[str, _Use], now: float) -> None:
        """Memory holds only what can still count."""
        for job_id in [job_id for job_id, use in uses.items() if use.at < now - self.retention]:
            del uses[job_id]


def _counts(at: float, start: float, rules: QuotaRules) -> bool:
    """A day counts from midnight on; a rolling use comes back exactly one period later."""
    return at >= start if rules.period_seconds == DAY else at > start


def amount_words(amount: float, unit: str) -> str:
    """``3 jobs``, ``1 job``, ``1 h 5 min of GPU time``: what a member reads."""
    if unit == "jobs":
        count = int(amount) if float(amount).is_integer() else round(amount, 1)
        return f"{count} job" if count == 1 else f"{count} jobs"
    return f"{duration_words(amount)} of GPU time"


def duration_words(seconds: float) -> str:
    """A duration as people say it: ``45 s``, ``2 min 31 s``, ``2 h 30 min``, ``7 days``."""
    seconds = round(seconds)
    if seconds and seconds % DAY == 0:
        days = int(seconds // DAY)
        return "1 day" if days == 1 else f"{days} days"
    big, small = divmod(seconds // 60, 60) if seconds >= 3600 else divmod(seconds, 60)
    names = ("h", "min") if seconds >= 3600 else ("min", "s")
    return " ".join(f"{n} {name}" for n, name in zip((big, small), names) if n) or "0 s"


def period_words(rules: QuotaRules) -> str:
    """``per day (UTC)`` or ``in any 6 h``."""
    return "per day (UTC)" if rules.period_seconds == DAY else f"in any {duration_words(rules.period_seconds)}"


def when_words(at: float) -> str:
    """A moment as Discord shows it to each reader: relative, then in their own time zone."""
    unix = math.ceil(at)  # rounded up: never announce a moment before the unit is back
    return f"<t:{unix}:R> (<t:{unix}:f>)"


def refusal(rules: QuotaRules, usage: Usage) -> str:
    """What a member who is out reads: the limit, and when they may submit again."""
    assert usage.limit is not None
    if usage.limit <= 0:
        return "Your quota on this server is zero: ask its admins if you need to use the bot here."
    assert usage.resets_at is not None  # a member who is out has used something that comes back
    limit = f"You have used your {amount_words(usage.limit, rules.unit)} {period_words(rules)} on this server."
    if rules.period_seconds == DAY:
        return f"{limit} It resets at midnight UTC, {when_words(usage.resets_at)}."
    return f"{limit} You can submit again {when_words(usage.resets_at)}."


__all__ = ["GIVEN_BACK", "QuotaLedger", "RESERVED_SECONDS", "RETENTION", "Usage", "amount_words", "duration_words",
           "gpu_seconds", "period_words", "refusal", "when_words"]
