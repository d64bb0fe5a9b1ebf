"""The aging bound: how long model affinity may keep a job waiting.

Starting a same-model job first is unfair to whoever was next in the round-robin. The bound
keeps that unfairness small and stated: when a job is queued, it is given the wait strict
round-robin would probably make it wait (the work ahead of it in serving order plus what is
still running, shared by the servers that may run it), and a deadline of ``factor`` times that
(at least ``floor`` seconds). A job may be passed over only while the job passing it would end
before that deadline; after that it is served in strict turn.

Durations are learnt per model set (an average of what jobs of that kind took, from start
to release), and so is the time loading that kind's models adds, so the estimates follow the
real servers. Deadlines are kept on estimates, with ``MARGIN`` seconds of slack.
"""

from __future__ import annotations

import heapq
from collections.abc import Callable, Hashable, Iterable, Sequence
from dataclasses import dataclass, field
from typing import Protocol

#: What a job of a kind never seen yet is assumed to take at least, in seconds. Pessimistic
#: on purpose: a new kind may be a video, and guessing it short lets other jobs pass jobs
#: whose deadline it then breaks (the bench's first minutes showed this with 30 s).
FIRST_GUESS = 120.0
#: Seconds of slack kept before every deadline: estimates are averages, and a job that ends
#: a little later than its estimate must not push another past its bound.
MARGIN = 10.0
#: How much longer than its estimate a job may run when others wait for it: estimates are
#: averages, and a job of the same kind can take 30 % longer (larger images, more steps).
OVERRUN = 1.5
#: Weight of the newest duration in the running average.
SMOOTHING = 0.2


class _Job(Protocol):
    job_id: str
    submitted_at: float
    models: frozenset[str]
    started_at: float | None


def _smoothed(average: float | None, newest: float) -> float:
    """The running average after ``newest`` (the first figure, when there is none yet)."""
    return newest if average is None else average + SMOOTHING * (newest - average)


@dataclass
class Durations:
    """Average seconds a job takes, per model set (the kind of job)."""

    by_kind: dict[frozenset[str], float] = field(default_factory=dict)
    overall: float | None = None
    load: float = FIRST_GUESS  # extra seconds when the server had to load the models first
    loads: dict[frozenset[str], float] = field(default_factory=dict)  # the same, per kind

    def load_time(self, models: frozenset[str]) -> float:
        """Seconds loading this kind's models takes (learnt; else what any load took)."""
        return self.loads.get(models, self.load)

    def estimate(self, models: frozenset[str]) -> float:
        """A kind never seen is guessed as long as the longest kind seen, and at least
        FIRST_GUESS."""
        if models in self.by_kind:
            return self.by_kind[models]
        return max(FIRST_GUESS, max(self.by_kind.values(), default=0.0))

    def at_least(self, models: frozenset[str]) -> float:
        """A low estimate, for promising a wait: a kind never seen counts as the shortest kind
        seen (0 before any). The pessimistic ``estimate`` is right for deciding who may go
        first, but in a promise it would loosen every deadline behind an unknown kind (issue
        26: early jobs were promised 2 x 160 s where round-robin served them in 40 s)."""
        if models in self.by_kind:
            return self.by_kind[models]
        return min(self.by_kind.values(), default=0.0)

    def remaining(self, models: frozenset[str], elapsed: float, *, loading: bool = False) -> float:
        """Seconds a job running for ``elapsed`` probably still needs (``loading``: its server
        had to load its models first); one running past its estimate is assumed to need half
        as long again."""
        left = self.estimate(models) + (self.load_time(models) if loading else 0.0) - elapsed
        return left if left > 0 else 0.5 * elapsed

    def record(self, models: frozenset[str], seconds: float, *, loaded: bool = False) -> None:
        """A job of this kind took ``seconds``; ``loaded``: its server loaded its models first
        (that time is learnt apart, so a kind's estimate is its run without a load)."""
        seconds = max(0.0, seconds)
        if loaded:
            if models in self.by_kind:
                extra = max(0.0, seconds - self.by_kind[models])
                self.load = _smoothed(self.load, extra)
                self.loads[models] = _smoothed(self.loads.get(models), extra)
                return  # a first run with its load overestimates the kind until a run without
        self.by_kind[models] = _smoothed(self.by_kind.get(models), seconds)
        self.overall = _smoothed(self.overall, seconds)


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
        work = sum(self.durations.at_least(j.models) for j in ahead)
        work += sum(max(0.0, self.durations.at_least(j.models) - (now - (j.started_at or now))) for j in running)
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
        extra = self.durations.at_least(by.models) / max(1, servers)
        self.round_robin_estimate[job.job_id] = self.round_robin_estimate.get(job.job_id, 0.0) + extra
        self.deadlines[job.job_id] = job.submitted_at + max(self.floor, self.factor * self.round_robin_estimate[job.job_id])

    def deadline(self, job_id: str) -> float:
        return self.deadlines.get(job_id, float("inf"))

    def may_pass(self, skipped: Iterable[_Job], runner: _Job, now: float, extra: float = 0.0) -> bool:
        """True when every job in ``skipped`` still starts ``MARGIN`` before its deadline if
        ``runner`` runs first (it would end by ``now`` + ``OVERRUN`` x its estimated duration
        + ``extra``, a load)."""
        ends = now + OVERRUN * self.durations.estimate(runner.models) + extra
        return all(ends < self.deadline(j.job_id) - MARGIN for j in skipped)

    def feasible(self, waiting: Iterable[_Job], free_at: Sequence[float], now: float,
                 cost: Callable[[_Job], float] | None = None) -> bool:
        """True when every job in ``waiting`` could still start ``MARGIN`` before its deadline
        if the servers, free at ``free_at``, took them in deadline order, each for ``cost(job)``
        seconds (default: its estimated duration; the policy adds the loads it foresees)."""
        servers = list(free_at)
        heapq.heapify(servers)
        for job in sorted(waiting, key=lambda j: self.deadline(j.job_id)):
            deadline = self.deadline(job.job_id)
            if deadline == float("inf"):
                break
            start = heapq.heappop(servers)
            if start > deadline - MARGIN:
                return False
            heapq.heappush(servers, start + (cost(job) if cost else self.durations.estimate(job.models)))
        return True

    def done(self, job_id: Hashable) -> None:
        self.deadlines.pop(str(job_id), None)
        self.round_robin_estimate.pop(str(job_id), None)


__all__ = ["AgingBound", "Durations", "FIRST_GUESS", "MARGIN"]
