"""The fair job queue: round-robin between users, a cap per user, a cap per ComfyUI server.

Why not one FIFO: in a busy server one user queueing ten jobs would make everyone else wait
behind all ten. Here each user has their own line and the queue serves the lines in turn
(A1, B1, C1, A2, B2, ...), so a newcomer waits for at most one job per other user.

The queue holds job *ids* only (the job store holds the jobs). Workers, one or more per
ComfyUI server, ``await queue.next(server)``; that returns only when the server has a free
slot (``max_running_per_server``) and a job it may run, and marks that job running there.
The worker calls ``release(job_id)`` when the job has finished, whatever the outcome.

Everything but ``next`` is synchronous and runs on the event loop thread, so there are no
locks: a mutation and the waking of workers happen in one step. Listeners hear about every
position change (to keep the "position 3 in queue" line of a progress message current).

Over 300 lines on purpose: waiting lines, caps, running slots and the policy hand-off are one
state machine whose invariants hold only if every transition is in this one class.
"""

from __future__ import annotations

import asyncio
import inspect
import logging
import time
from collections import Counter, deque
from collections.abc import Callable, Hashable, Iterable, Mapping
from dataclasses import replace
from typing import TYPE_CHECKING, Any

from discomfy.core.jobs.queued import QueueClosedError, QueuedJob, QueueFullError, QueueSnapshot
from discomfy.core.scheduling.choose import policy_from_config

if TYPE_CHECKING:
    from discomfy.core.scheduling.policy import SchedulingPolicy

log = logging.getLogger(__name__)

DEFAULT_SERVER = "default"

#: Called with {job_id: new 1-based position, or None once the job no longer waits}.
PositionListener = Callable[[dict[str, int | None]], Any]


class FairQueue:
    """Round-robin queue of job ids; see the module docstring for the worker contract."""

    def __init__(
        self,
        *,
        max_per_user: int = 3,
        max_running_per_server: int = 1,
        server_limits: Mapping[str, int] | None = None,
        clock: Callable[[], float] = time.monotonic,
        policy: SchedulingPolicy | None = None,
    ) -> None:
        if max_per_user < 1 or max_running_per_server < 0:
            raise ValueError("max_per_user must be >= 1 and max_running_per_server >= 0")
        self.max_per_user = max_per_user
        self.max_running_per_server = max_running_per_server
        self._server_limits: dict[str, int] = dict(server_limits or {})
        self._clock = clock
        self._lines: dict[Hashable, deque[QueuedJob]] = {}  # insertion order = turn order
        self._pending_ids: dict[str, Hashable] = {}
        self._running: dict[str, QueuedJob] = {}
        self._running_per_server: Counter[str] = Counter()
        self._active_per_user: Counter[Hashable] = Counter()
        self._positions: dict[str, int] = {}
        self._listeners: list[PositionListener] = []
        # an ordered set: servers are woken in the order they began waiting, so the same arrivals
        # always dispatch the same way (a set's order follows object addresses)
        self._waiters: dict[asyncio.Future[None], None] = {}
        self._tasks: set[asyncio.Task[Any]] = set()
        self._closed = False
        #: Which waiting job a free server starts (None: strict round-robin).
        self.policy = policy
        if policy is not None:
            policy.bind(self)

    @classmethod
    def from_config(cls, config: Any, **kwargs: Any) -> FairQueue:
        """Per-user cap from ``limits.max_queued_per_user``, server slots from
        ``comfyui.max_running_per_server``, the policy from ``comfyui.scheduling``."""
        kwargs.setdefault("policy", policy_from_config(config))
        return cls(
            max_per_user=int(config.limits.max_queued_per_user),
            max_running_per_server=int(config.get("comfyui.max_running_per_server", 1)),
            **kwargs,
        )

    # --- submitting and cancelling ------------------------------------------------------

    def submit(
        self, job_id: str, user_id: Hashable, *, servers: Iterable[str] | None = None,
        models: Iterable[str] = (), capped: bool = True,
    ) -> int:
        """Queue a job; return its 1-based position. Raises ``QueueFullError`` when the user
        is at their cap and ``QueueClosedError`` after ``close()``. ``capped=False`` takes in a
        job whose cap was already counted elsewhere (a store shared by several processes)."""
        if self._closed:
            raise QueueClosedError(detail=f"submit({job_id!r}) after the queue was closed")
        if job_id in self._pending_ids or job_id in self._running:
            raise ValueError(f"job {job_id!r} is already in the queue")
        active = self._active_per_user[user_id]
        if capped and active >= self.max_per_user:
            noun = "job" if self.max_per_user == 1 else "jobs"
            raise QueueFullError(
                f"You already have {active} {noun} waiting or running; "
                "wait for one to finish or cancel it.",
                detail=f"user {user_id} at the queue cap ({self.max_per_user}); refused {job_id}",
            )
        job = QueuedJob(job_id, user_id, self._clock(), _server_set(servers), models=frozenset(models))
        self._lines.setdefault(user_id, deque()).append(job)
        self._pending_ids[job_id] = user_id
        self._active_per_user[user_id] += 1
        if self.policy is not None:
            self.policy.submitted(job, self._serving_order())
        self._changed()
        return self._positions[job_id]

    def cancel(self, job_id: str) -> bool:
        """Remove a waiting job; False if it is running, finished or unknown."""
        user_id = self._pending_ids.pop(job_id, None)
        if user_id is None:
            return False
        line = self._lines[user_id]
        for job in line:
            if job.job_id == job_id:
                line.remove(job)
                break
        if not line:
            del self._lines[user_id]
        self._drop_active(user_id)
        if self.policy is not None:
            self.policy.forget(job_id)
        self._changed()
        return True

    def release(self, job_id: str) -> bool:
        """A running job finished (done, failed or cancelled on the server): free its slot.
        A job still waiting is cancelled instead. False when the id is unknown."""
        job = self._running.pop(job_id, None)
        if job is None:
            return self.cancel(job_id)
        self._running_per_server[job.server or DEFAULT_SERVER] -= 1
        self._drop_active(job.user_id)
        if self.policy is not None:
            self.policy.finished(job)
        self._changed()
        return True

    def requeue(self, job_id: str, *, servers: Iterable[str] | None = None) -> bool:
        """Put a running job back at the head of the queue (its server died and it gets a
        second chance elsewhere). ``servers`` narrows where it may go next."""
        job = self._running.pop(job_id, None)
        if job is None:
            return False
        self._running_per_server[job.server or DEFAULT_SERVER] -= 1
        waiting = replace(job, server=None, started_at=None, servers=_server_set(servers) or job.servers)
        line = self._lines.pop(job.user_id, deque())
        line.appendleft(waiting)
        self._lines = {job.user_id: line, **self._lines}
        self._pending_ids[job_id] = job.user_id
        self._changed()
        return True

    def adopt_running(self, job_id: str, user_id: Hashable, server: str = DEFAULT_SERVER,
                      models: Iterable[str] = ()) -> None:
        """Count a job already running on ``server`` (restart recovery), so caps stay true.
        Bypasses the per-user cap: the job exists whether or not the cap allows it."""
        if job_id in self._pending_ids or job_id in self._running:
            raise ValueError(f"job {job_id!r} is already in the queue")
        now = self._clock()
        self._running[job_id] = QueuedJob(job_id, user_id, now, None, server, now, models=frozenset(models))
        self._running_per_server[server] += 1
        self._active_per_user[user_id] += 1
        if self.policy is not None:
            self.policy.started(self._running[job_id])

    # --- workers ------------------------------------------------------------------------

    async def next(self, server: str = DEFAULT_SERVER, *, timeout: float | None = None) -> QueuedJob:
        """Wait until ``server`` has a free slot and a job it may run; mark it running there.

        Raises ``TimeoutError`` after ``timeout`` seconds and ``QueueClosedError`` once the
        queue is closed (workers use that to stop)."""
        loop = asyncio.get_running_loop()
        deadline = None if timeout is None else loop.time() + timeout
        while True:
            if self._closed:
                raise QueueClosedError(detail="queue closed while a worker was waiting")
            job = self._take(server)
            if job is not None:
                return job
            waiter = loop.create_future()
            self._waiters[waiter] = None
            try:
                remaining = None if deadline is None else max(0.0, deadline - loop.time())
                recheck = self.policy.recheck_after() if self.policy is not None else None
                wait = recheck if remaining is None else remaining if recheck is None else min(recheck, remaining)
                async with asyncio.timeout(wait):
                    await waiter
            except asyncio.TimeoutError:
                if deadline is not None and loop.time() >= deadline:
                    raise
            finally:
                self._waiters.pop(waiter, None)

    def _take(self, server: str) -> QueuedJob | None:
        if not self.has_free_slot(server):
            return None
        # each waiting user's first job this server may run, in turn order
        candidates = [next((j for j in line if j.servers is None or server in j.servers), None)
                      for line in self._lines.values()]
        candidates = [j for j in candidates if j is not None]
        if not candidates:
            return None
        job = candidates[0] if self.policy is None else self.policy.pick(server, candidates)
        if job is None:
            return None
        user_id = job.user_id
        line = self._lines[user_id]
        line.remove(job)
        # this user's turn is used: they go to the back of the rotation
        del self._lines[user_id]
        if line:
            self._lines[user_id] = line
        del self._pending_ids[job.job_id]
        running = replace(job, server=server, started_at=self._clock())
        self._running[job.job_id] = running
        self._running_per_server[server] += 1
        if self.policy is not None:
            self.policy.started(running)
        self._changed()
        return running

    def slots(self, server: str) -> int:
        """Jobs ``server`` may run at once now: its limit, plus the pipelined one the policy
        allows on a healthy server (none while it is paused)."""
        limit = self.server_limit(server)
        return limit + self.policy.extra_slots(server) if limit > 0 and self.policy is not None else limit

    def has_free_slot(self, server: str) -> bool:
        return self._running_per_server[server] < self.slots(server)

    def now(self) -> float:
        """The queue's clock (``submitted_at``/``started_at`` are on it)."""
        return self._clock()

    def server_limit(self, server: str) -> int:
        return self._server_limits.get(server, self.max_running_per_server)

    def set_server_limit(self, server: str, limit: int) -> None:
        """Change how many jobs ``server`` may run at once; 0 pauses it (server down)."""
        self._server_limits[server] = max(0, int(limit))
        self._wake()

    def close(self) -> None:
        """Stop handing out jobs: waiting workers get ``QueueClosedError``."""
        self._closed = True
        self._wake()

    # --- looking ------------------------------------------------------------------------

    def position(self, job_id: str) -> int | None:
        """1-based place among waiting jobs in the order they will be served; None if the
        job is running or unknown."""
        return self._positions.get(job_id)

    def is_running(self, job_id: str) -> bool:
        return job_id in self._running

    def holds(self, job_id: str) -> bool:
        """Waiting or running here."""
        return job_id in self._pending_ids or job_id in self._running

    def active_count(self, user_id: Hashable) -> int:
        """Jobs this user has waiting or running (what the per-user cap counts)."""
        return self._active_per_user[user_id]

    def __len__(self) -> int:
        return len(self._pending_ids)

    def waiting_longer_than(self, seconds: float) -> list[QueuedJob]:
        """Jobs still waiting ``seconds`` after they were submitted (for a queue deadline)."""
        now = self._clock()
        return [job for job in self._serving_order() if now - job.submitted_at > seconds]

    def snapshot(self) -> QueueSnapshot:
        return QueueSnapshot(
            pending=tuple(self._serving_order()),
            running=tuple(sorted(self._running.values(), key=lambda j: j.started_at or 0.0)),
        )

    def add_listener(self, listener: PositionListener) -> Callable[[], None]:
        """Call ``listener`` with every batch of position changes; returns a remover.
        A coroutine function is scheduled as a task; a listener's errors are logged only."""
        self._listeners.append(listener)
        return lambda: self.remove_listener(listener)

    def remove_listener(self, listener: PositionListener) -> None:
        if listener in self._listeners:
            self._listeners.remove(listener)

    # --- internals ----------------------------------------------------------------------

    def _serving_order(self) -> list[QueuedJob]:
        """Round k holds every user's k-th waiting job, users in turn order."""
        lines = list(self._lines.values())
        order: list[QueuedJob] = []
        depth = max((len(line) for line in lines), default=0)
        for k in range(depth):
            order.extend(line[k] for line in lines if len(line) > k)
        return order

    def _drop_active(self, user_id: Hashable) -> None:
        self._active_per_user[user_id] -= 1
        if self._active_per_user[user_id] <= 0:
            del self._active_per_user[user_id]

    def _changed(self) -> None:
        new = {job.job_id: index for index, job in enumerate(self._serving_order(), start=1)}
        changes: dict[str, int | None] = {j: p for j, p in new.items() if self._positions.get(j) != p}
        changes.update({j: None for j in self._positions if j not in new})
        self._positions = new
        self._wake()
        if changes:
            self._notify(changes)

    def _wake(self) -> None:
        for waiter in self._waiters:
            if not waiter.done():
                waiter.set_result(None)

    def _notify(self, changes: dict[str, int | None]) -> None:
        for listener in list(self._listeners):
            try:
                result = listener(dict(changes))
                if inspect.isawaitable(result):
                    task = asyncio.ensure_future(result)
                    self._tasks.add(task)
                    task.add_done_callback(self._listener_done)
            except Exception:  # noqa: BLE001 - one broken listener must not stop the queue
                log.exception("queue position listener %r failed", listener)

    def _listener_done(self, task: asyncio.Task[Any]) -> None:
        self._tasks.discard(task)
        if not task.cancelled() and task.exception() is not None:
            log.error("queue position listener failed", exc_info=task.exception())


def _server_set(servers: Iterable[str] | None) -> frozenset[str] | None:
    return None if servers is None else frozenset(servers)


__all__ = [
    "DEFAULT_SERVER",
    "FairQueue",
    "PositionListener",
    "QueueClosedError",
    "QueueFullError",
    "QueueSnapshot",
    "QueuedJob",
]
