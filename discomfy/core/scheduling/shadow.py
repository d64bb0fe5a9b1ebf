"""The round-robin shadow: ``least_busy`` replayed beside the real queue, to know each job's promise.

``model_affinity`` may make a job wait longer than round-robin would, but at most
``aging_factor`` times as long (or ``aging_floor`` seconds). Issue 26 measured the old estimate
of "as long as round-robin would" — the work ahead of the job in the real queue when it came —
against an actual ``least_busy`` run of the same arrivals: it was up to 1.5 times too generous,
because the real queue under affinity holds more of the jobs affinity defers (a Qwen edit
behind FLUX images) than round-robin's queue would.

So the shadow replays round-robin itself (:class:`~.round_robin.RoundRobinReplay`) on every
job submitted, from the first, with the learnt durations and loads, on the same servers, and
never looks at what the real servers did. A job's round-robin wait is when the shadow started
it; before the shadow reaches it, when the shadow would start it if nothing more arrived. That
is a low figure on purpose: a promise too generous lets other jobs pass and breaks the true
bound, one too tight only makes the policy fall back to strict turns sooner. (Issue 26's
second round: a floor of "the typical recent round-robin wait" for jobs the shadow had not
reached yet raised promises up to 2.6x the true wait, and jobs passed their bound.) The shadow
counts every kind at its shortest plausible duration (:meth:`~.aging.Durations.at_least`) so
that an unseen kind never inflates a promise, and keeps the per-user cap (a user's job over it
waits outside until one of theirs ends), as the fair queue does.
"""

from __future__ import annotations

from collections import deque
from collections.abc import Callable

from discomfy.core.jobs.queued import QueuedJob
from discomfy.core.scheduling.aging import Durations
from discomfy.core.scheduling.holdings import ModelHoldings
from discomfy.core.scheduling.round_robin import RoundRobinReplay


#: Seconds of submissions kept to replay again when a kind is first learnt.
REPLAY_WINDOW = 3600.0


class RoundRobinShadow:
    """Round-robin's starts for the jobs the real queue holds; see the module docstring."""

    def __init__(self, durations: Durations, memory: ModelHoldings, servers: Callable[[], list[str]],
                 slots: Callable[[str], int], cap: Callable[[], int | None] = lambda: None) -> None:
        self.durations = durations
        self.memory = memory  # the real record: model sizes and server memory, learnt from VRAM
        self.servers = servers
        self.slots = slots
        self.cap = cap
        self.replay = RoundRobinReplay({}, ModelHoldings(), self._cost)
        self._submitted: dict[str, float] = {}  # jobs whose promise is still wanted
        self._projected: dict[str, float] | None = None
        self._log: deque[tuple[float, QueuedJob | str]] = deque()  # submissions and cancellations, REPLAY_WINDOW s
        self._known = self._kinds()

    def _cost(self, job: QueuedJob, load: bool) -> float:
        return self.durations.at_least(job.models) + (self.durations.load_at_least(job.models) if load else 0.0)

    def _kinds(self) -> frozenset[frozenset[str]]:
        return frozenset(self.durations.by_kind) | frozenset(self.durations.loads)

    def _rebuild(self, now: float) -> None:
        """Replay the logged submissions again from an idle start: a kind's run or load was
        learnt for the first time, and the shadow had counted it as the shortest seen (0 s
        before any), which put it ahead of round-robin for the rest of a busy hour."""
        self._known = self._kinds()
        start = self._log[0][0] if self._log else now
        self.replay = RoundRobinReplay({}, ModelHoldings(), self._cost)
        self._sync(start)
        for at, entry in self._log:
            self._run_until(at)
            if isinstance(entry, str):
                self.replay.remove(entry)
            else:
                self.replay.add(entry)
        self._run_until(now)

    def _sync(self, now: float) -> None:
        self.replay.holdings.learn_memory_from(self.memory)
        self.replay.cap = self.cap()
        for name in self.servers():
            if name not in self.replay.free:  # a server joined: free from now on
                self.replay.add_server(name, [now] * max(1, self.slots(name)))

    def advance(self, now: float) -> None:
        """Let the shadow's servers start what round-robin would have started by ``now``, and
        project the rest afresh: durations and model sizes learnt since the last projection
        change it, and a projection kept from before made the policy's decisions depend on
        when the shadow had last been asked."""
        while self._log and self._log[0][0] < now - REPLAY_WINDOW:
            self._log.popleft()
        if self._kinds() != self._known:
            self._rebuild(now)
        self._projected = None
        self._sync(now)
        self._run_until(now)

    def _run_until(self, now: float) -> None:
        before = len(self.replay.starts)
        self.replay.run(until=now)
        if len(self.replay.starts) != before:
            self._projected = None
        for job_id in [j for j in self.replay.starts if j not in self._submitted]:
            del self.replay.starts[job_id]  # started for real already: nobody needs it

    def submitted(self, job: QueuedJob, now: float) -> None:
        self.advance(now)
        self.replay.add(job)
        self._submitted[job.job_id] = job.submitted_at
        self._log.append((now, job))
        self._projected = None

    def done(self, job_id: str) -> None:
        """The real queue started ``job_id``: its promise is no longer needed. The shadow keeps
        it in its own turns if it has not started it yet (round-robin would still run it)."""
        self._submitted.pop(job_id, None)
        self.replay.starts.pop(job_id, None)

    def cancelled(self, job_id: str, now: float) -> None:
        """``job_id`` left the queue without running: round-robin would not run it either."""
        self.advance(now)
        self.done(job_id)
        self._log.append((now, job_id))
        if self.replay.remove(job_id):
            self._projected = None

    def start(self, job_id: str, now: float) -> float:
        """When round-robin started (or, if nothing more arrives, would start) ``job_id``."""
        if job_id in self.replay.starts:
            return self.replay.starts[job_id]
        if self._projected is None:
            ahead = self.replay.copy()
            ahead.run()
            self._projected = ahead.starts
        return self._projected.get(job_id, now)

    def wait(self, job_id: str, now: float) -> float:
        """Round-robin's wait for ``job_id`` from its submission, as the shadow sees it."""
        return max(0.0, self.start(job_id, now) - self._submitted.get(job_id, now))


__all__ = ["RoundRobinShadow"]
