"""What strict round-robin would do: the fair queue's turns replayed on estimated durations.

``model_affinity`` promises every job a wait of at most ``aging_factor`` times what
round-robin (``least_busy``) would have made it wait. To keep that promise it has to know, at
each decision, when round-robin would start each waiting job. :class:`RoundRobinReplay` is a
small event replay of the fair queue's rules — users served in turn (a user who was served
goes to the back), each user's jobs in order, every free server slot taking the next job it
may run — with each job lasting its learnt duration, plus a load when the server does not hold
its models (an LRU record, as :class:`~.holdings.ModelHoldings` keeps for the real servers).

It serves two purposes (:mod:`.affinity`): the shadow that replays round-robin on every
submission from the start (:mod:`.shadow`, what each job is promised), and the projection of
"strict turns from now on" from the real queue, with and without a job going out of turn.
"""

from __future__ import annotations

import heapq
from collections import Counter, deque
from collections.abc import Callable, Hashable, Iterable, Mapping, Sequence
from dataclasses import replace

from discomfy.core.jobs.queued import QueuedJob
from discomfy.core.scheduling.holdings import ModelHoldings

#: Seconds ``job`` holds a server slot; ``load``: the server must load its models first.
Cost = Callable[[QueuedJob, bool], float]


class RoundRobinReplay:
    """Servers (each a list of slot free times), waiting lines in turn order, and what each
    server holds; :meth:`run` starts jobs in strict turns and records when (``starts``)."""

    def __init__(self, free: Mapping[str, Sequence[float]], holdings: ModelHoldings, cost: Cost,
                 cap: int | None = None) -> None:
        # per server, its slots as (free at, when the job that holds it started): of two slots
        # free at once, the one whose job started first asks the queue first (its timer fired first)
        self.free: dict[str, list[tuple[float, float]]] = {}
        for name, times in free.items():
            self.add_server(name, times)
        self.holdings = holdings
        self.cost = cost
        self.cap = cap  # jobs a user may have waiting or running; more wait outside, as users do
        self.lines: dict[Hashable, deque[QueuedJob]] = {}  # insertion order = turn order
        self.starts: dict[str, float] = {}
        self._idle: set[str] = set()  # servers with no waiting job they may run
        self._active: Counter[Hashable] = Counter()
        self._outside: dict[Hashable, deque[QueuedJob]] = {}  # over the cap, in the order they came
        self._ends: list[tuple[float, str, Hashable]] = []  # (end, job, user) of running jobs, a heap

    @classmethod
    def from_serving_order(cls, pending: Iterable[QueuedJob], free: Mapping[str, Sequence[float]],
                           holdings: ModelHoldings, cost: Cost) -> RoundRobinReplay:
        """A replay of the queue whose waiting jobs are ``pending`` in serving order: round k
        lists every user's k-th job, users in turn, so the users' first appearance is the
        turn order."""
        replay = cls(free, holdings, cost)
        for job in pending:
            replay.add(job)
        return replay

    def copy(self) -> RoundRobinReplay:
        """The same state, to run forward without touching this one (``starts`` left out)."""
        twin = RoundRobinReplay({}, self.holdings.copy(), self.cost)
        twin.free = {name: list(slots) for name, slots in self.free.items()}
        twin.cap = self.cap
        twin.lines = {user: deque(line) for user, line in self.lines.items()}
        twin._idle = set(self._idle)
        twin._active = Counter(self._active)
        twin._outside = {user: deque(jobs) for user, jobs in self._outside.items()}
        twin._ends = list(self._ends)
        return twin

    def add_server(self, name: str, free: Sequence[float]) -> None:
        """A server whose slots are free at the times ``free``."""
        self.free[name] = sorted((at, float("-inf")) for at in free)

    def add(self, job: QueuedJob) -> None:
        """``job`` waits at the end of its user's line (a new user's line joins last), or outside
        the queue while its user is at the cap, until one of their jobs ends."""
        if self.cap is not None and self._active[job.user_id] >= self.cap:
            self._outside.setdefault(job.user_id, deque()).append(job)
            return
        self._active[job.user_id] += 1
        self.lines.setdefault(job.user_id, deque()).append(job)
        self._idle.clear()

    def remove(self, job_id: str) -> bool:
        """Take a job out without starting it (cancelled); False when it is not waiting."""
        for user, jobs in self._outside.items():
            for job in jobs:
                if job.job_id == job_id:
                    jobs.remove(job)
                    return True
        for user, line in self.lines.items():
            for job in line:
                if job.job_id == job_id:
                    line.remove(job)
                    if not line:
                        del self.lines[user]
                    self._left(user)
                    return True
        return False

    def _left(self, user: Hashable, at: float | None = None) -> None:
        """One of ``user``'s jobs left (ended at ``at``): the first of theirs waiting outside
        comes in, as submitted then."""
        self._active[user] -= 1
        if self._active[user] <= 0:
            del self._active[user]
        outside = self._outside.get(user)
        if outside:
            job = outside.popleft()
            if not outside:
                del self._outside[user]
            self.add(job if at is None else replace(job, submitted_at=max(job.submitted_at, at)))

    def start(self, server: str, job: QueuedJob, at: float, seconds: float | None = None) -> None:
        """``server`` starts ``job`` at ``at`` on its earliest free slot, for ``seconds``
        (default: its cost); the user's turn is used, as in the fair queue."""
        line = self.lines.pop(job.user_id)
        line.remove(job)
        if line:
            self.lines[job.user_id] = line
        load = bool(job.models) and not self.holdings.holds(server, job.models)
        self.holdings.ran(server, job.models, at)
        slots = self.free[server]
        end = at + (self.cost(job, load) if seconds is None else seconds)
        slots[0] = (end, at)
        slots.sort()
        if self.cap is not None:
            heapq.heappush(self._ends, (end, job.job_id, job.user_id))
        self.starts[job.job_id] = at

    def run(self, until: float = float("inf")) -> None:
        """Start jobs in strict turns on every slot that frees by ``until``. A server with
        nothing it may run waits (until :meth:`add` brings a job)."""
        while True:
            ready = [(*slots[0], name) for name, slots in self.free.items() if name not in self._idle and slots]
            first = min(ready, default=None)
            if self._ends and self._ends[0][0] <= until and (first is None or self._ends[0][0] < first[0]):
                # a job ended: its user may bring another (at the same instant as a free slot,
                # after it: the server that released the job asks the queue first)
                end, _, user = heapq.heappop(self._ends)
                self._left(user, end)
                continue
            if first is None or first[0] > until:
                return
            at, _, server = first
            job = self._next_for(server)
            if job is None:
                self._idle.add(server)
                continue
            self.start(server, job, max(at, job.submitted_at))

    def _next_for(self, server: str) -> QueuedJob | None:
        """The first waiting user's first job ``server`` may run (what ``FairQueue`` offers)."""
        for line in self.lines.values():
            for job in line:
                if job.servers is None or server in job.servers:
                    return job
        return None


__all__ = ["Cost", "RoundRobinReplay"]
