"""What the fair queue holds and reports: one waiting or running job (``QueuedJob``), the
queue at one instant (``QueueSnapshot``), and the queue's refusals. Kept apart from the queue
itself so a scheduling policy can read jobs without importing the queue that consults it."""

from __future__ import annotations

from collections.abc import Hashable
from dataclasses import dataclass

from discomfy.exceptions import DisComfyError, RateLimitError


class QueueFullError(RateLimitError):
    """The user already has as many jobs waiting or running as the queue allows."""


class QueueClosedError(DisComfyError):
    """The queue was closed (the bot is shutting down); no more jobs are handed out."""

    default_user_message = "The bot is restarting; please try again in a minute."


@dataclass(frozen=True)
class QueuedJob:
    """One job as the queue sees it. ``servers`` limits where it may run (None = anywhere);
    ``server`` and ``started_at`` are set once a worker has taken it; ``models`` are the
    model files it loads (what model-aware scheduling groups jobs by)."""

    job_id: str
    user_id: Hashable
    submitted_at: float
    servers: frozenset[str] | None = None
    server: str | None = None
    started_at: float | None = None
    models: frozenset[str] = frozenset()


@dataclass(frozen=True)
class QueueSnapshot:
    """The queue at one instant, for /status: waiting jobs in serving order, running jobs."""

    pending: tuple[QueuedJob, ...]
    running: tuple[QueuedJob, ...]

    def position(self, job_id: str) -> int | None:
        for index, job in enumerate(self.pending, start=1):
            if job.job_id == job_id:
                return index
        return None

    def waiting_for(self, server: str) -> list[QueuedJob]:
        """Every waiting job ``server`` may run, in serving order (what a scheduling policy may
        choose from; the queue's ``next`` takes the chosen one out of its user's line)."""
        return [job for job in self.pending if job.servers is None or server in job.servers]

    def for_user(self, user_id: Hashable) -> tuple[QueuedJob, ...]:
        """This user's running jobs, then their waiting ones in serving order."""
        return tuple(j for j in self.running + self.pending if j.user_id == user_id)
