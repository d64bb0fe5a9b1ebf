"""The aging bound: how long model affinity may keep a job waiting, and the durations it is kept on.

Starting a same-model job first is unfair to whoever was next in the round-robin. The bound
keeps that unfairness small and stated: a job may wait at most ``factor`` times as long as
strict round-robin would have made it wait, or ``floor`` seconds, whichever is longer. What
round-robin would have done is replayed beside the real queue (:mod:`.shadow`); whether a job
may go out of turn is judged by projecting strict turns from then on (:mod:`.affinity`), and
every projected start must keep a margin before its deadline (:meth:`AgingBound.keeps`).

Durations are learnt per model set (an average of what jobs of that kind took, from start
to release), and so is the time loading that kind's models adds, so the estimates follow the
real servers.
"""

from __future__ import annotations

from dataclasses import dataclass, field

#: What a job of a kind never seen yet is assumed to take at least, in seconds. Pessimistic
#: on purpose: a new kind may be a video, and guessing it short lets other jobs pass jobs
#: whose deadline it then breaks (the bench's first minutes showed this with 30 s).
FIRST_GUESS = 120.0
#: Seconds of slack kept before every deadline: a job that ends a little later than its
#: estimate must not push another past its bound.
MARGIN = 10.0
#: And a share of how far off a projected start is: the further ahead, the more estimates
#: (each job's run varies by +-30 %) add up.
SPREAD = 0.1
#: How much longer than its estimate the job going out of turn is assumed to run: an average
#: is no promise, and a job of the same kind can take 30 % longer (larger images, more steps).
OVERRUN = 1.3
#: Weight of the newest duration in the running average.
SMOOTHING = 0.2
#: The share of the promised stretch (``factor`` - 1) the policy plans with: it keeps each
#: job's projected start within 1 + 0.6 x (factor - 1) times its round-robin wait (1.6x for the
#: default 2x), the rest absorbing what the shadow's round-robin gets wrong. Tuned on the
#: bench's tuning seeds: planning with the full 2x let up to 9 jobs of a workload pass the true
#: bound; 1.3x left the overloaded many-models mix too little room to save loads.
PLANNED_SHARE = 0.6


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

    def load_at_least(self, models: frozenset[str]) -> float:
        """A low figure for a load, for promising a wait: a kind never loaded counts as the
        quickest load seen (0 before any)."""
        return self.loads.get(models, min(self.loads.values(), default=0.0))

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
    """The promise made to every waiting job: start by ``submitted + max(floor, factor x its
    round-robin wait)``; planned with :attr:`planned` instead of ``factor``, and a margin on
    projected starts (:meth:`keeps`)."""

    factor: float = 2.0
    floor: float = 60.0
    durations: Durations = field(default_factory=Durations)

    def deadline(self, submitted: float, round_robin_wait: float) -> float:
        return submitted + max(self.floor, self.planned * round_robin_wait)

    @property
    def planned(self) -> float:
        """The stretch of the round-robin wait the policy plans with (see ``PLANNED_SHARE``)."""
        return 1 + PLANNED_SHARE * max(0.0, self.factor - 1)

    def keeps(self, start: float, deadline: float, now: float) -> bool:
        """True when a job projected to start at ``start`` still starts in time: ``MARGIN``
        seconds, plus ``SPREAD`` of how far ahead ``start`` lies, before ``deadline``."""
        return start <= deadline - MARGIN - SPREAD * max(0.0, start - now)


__all__ = ["AgingBound", "Durations", "FIRST_GUESS", "MARGIN", "OVERRUN", "PLANNED_SHARE", "SPREAD"]
