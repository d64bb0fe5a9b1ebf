"""The aging bound: how long model affinity may keep a job waiting.

Starting a same-model job first is unfair to whoever was next in the round-robin. The bound
keeps that unfairness small and stated: when a job is queued, it is given the wait strict
round-robin would probably make it wait (the work ahead of it in serving order plus what is
still running, shared by the servers that may run it), and a deadline of ``factor`` times that
(at least ``floor`` seconds). A job may be passed over only while the job passing it would end
before that deadline; after that it is served in strict turn.

Durations are learnt per model set (an average of what jobs of that kind took, from start
to release), so the estimate follows the real servers, loads included.
"""

from __future__ import annotations

import heapq
from collections.abc import Hashable, Iterable, Sequence
from dataclasses import dataclass, field
from typing import Protocol

#: What a job of a kind never seen yet is assumed to take, in seconds.
FIRST_GUESS = 30.0
#: Weight of the newest duration in the running average.
SMOOTHING = 0.2


class _Job(Protocol):
    job_id: str
    submitted_at: float
    models: frozenset[str]
    started_at: float | None


@dataclass
class Durations:
    """Average seconds a job takes, per model set (the kind of job)."""

    by_kind: dict[frozenset[str], float] = field(default_factory=dict)
    overall: float | None = None
    load: float = FIRST_GUESS  # extra seconds when the server had to load the models first

    def estimate(self, models: frozenset[str]) -> float:
        """A kind never seen is guessed as long as the longest kind seen (or FIRST_GUESS)."""
        if models in self.by_kind:
            return self.by_kind[models]
        return max(self.by_kind.values(), default=FIRST_GUESS)

    def remaining(self, models: frozenset[str], elapsed: float) -> float:
        """Seconds a job running for ``elapsed`` probably still needs; one running past its
        estimate is assumed to need half as long again."""
        left = self.estimate(models) - elapsed
        return left if left > 0 else 0.5 * elapsed

    def record(self, models: frozenset[str], seconds: float, *, loaded: bool = False) -> None:
        """A job of this kind took ``seconds``; ``loaded``: its server loaded its models first
        (that time is learnt apart, so a kind's estimate is its run without a load)."""
        seconds = max(0.0, seconds)
        if loaded:
            if models in self.by_kind:
                self.load += SMOOTHING * (max(0.0, seconds - self.by_kind[models]) - self.load)
                return  # a first run with its load overestimates the kind until a run without
        old = self.by_kind.get(models)
        self.by_kind[models] = seconds if old is None else old + SMOOTHING * (seconds - old)
        self.overall = seconds if self.overall is None else self.overall + SMOOTHING * (seconds - self.overall)


@dataclass
class AgingBound:
    """Deadlines per waiting job (see the module docstring)."""

    factor: float = 2.0
    floor: float = 60.0
    durations: Durations = field(default_factory=Durations)
    deadlines: dict[str, float] = field(default_factory=dict)
    round_robin_estimate: dict[str, float] = field(default_factory=dict)

    def assign(self, job: _Job, ahead: Sequence[_Job], running: Iterable[_Job], servers: int, now: float) -> float:
        """Give ``job`` its deadline from the jobs ``ahead`` of it in serving order and the
        ones ``running`` on the ``servers`` it may use; returns the deadline."""
        work = sum(self.durations.estimate(j.models) for j in ahead)
        work += sum(self.durations.remaining(j.models, now - (j.started_at or now)) for j in running)
        estimate = work / max(1, servers)
        self.round_robin_estimate[job.job_id] = estimate
        deadline = job.submitted_at + max(self.floor, self.factor * estimate)
        self.deadlines[job.job_id] = deadline
        return deadline

    def pushed_back(self, job: _Job, by: _Job, servers: int) -> None:
        """``by`` was queued ahead of waiting ``job`` in serving order (a user with fewer
        jobs waiting): round-robin would make ``job`` wait for it too, so its bound grows."""
        if job.job_id not in self.deadlines:
            return
        extra = self.durations.estimate(by.models) / max(1, servers)
        self.round_robin_estimate[job.job_id] = self.round_robin_estimate.get(job.job_id, 0.0) + extra
        self.deadlines[job.job_id] = job.submitted_at + max(self.floor, self.factor * self.round_robin_estimate[job.job_id])

    def deadline(self, job_id: str) -> float:
        return self.deadlines.get(job_id, float("inf"))

    def may_pass(self, skipped: Iterable[_Job], runner: _Job, now: float, extra: float = 0.0) -> bool:
        """True when every job in ``skipped`` still meets its deadline if ``runner`` runs
        first (it would end by ``now`` + its estimated duration + ``extra``, a load)."""
        ends = now + self.durations.estimate(runner.models) + extra
        return all(ends < self.deadline(j.job_id) for j in skipped)

    def feasible(self, waiting: Iterable[_Job], free_at: Sequence[float], now: float) -> bool:
        """True when every job in ``waiting`` could still start by its deadline if the servers,
        free at ``free_at``, took them in deadline order (each for its estimated duration)."""
        servers = list(free_at)
        heapq.heapify(servers)
        for job in sorted(waiting, key=lambda j: self.deadline(j.job_id)):
            deadline = self.deadline(job.job_id)
            if deadline == float("inf"):
                break
            start = heapq.heappop(servers)
            if start > deadline:
                return False
            heapq.heappush(servers, start + self.durations.estimate(job.models))
        return True

    def done(self, job_id: Hashable) -> None:
        self.deadlines.pop(str(job_id), None)
        self.round_robin_estimate.pop(str(job_id), None)


__all__ = ["AgingBound", "Durations", "FIRST_GUESS"]
