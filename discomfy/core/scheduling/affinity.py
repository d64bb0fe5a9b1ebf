"""``model_affinity``: a free server starts a job whose models it already holds.

The candidates (each waiting user's first job the server may run, in round-robin turn) are
ranked:

0. held here — no load; among these, the one that has waited longest for its size: the
   largest (wait + run) / sqrt(run). Dividing by the run time itself (the response ratio)
   keeps a 120 s video waiting until its aging deadline while 3 s upscales pass it; not
   dividing makes the upscales wait behind videos. In the bench the square root gave every
   kind a better p95 than round-robin and the best fairness index of the three;
1. held by no healthy server, if this is the free server where loading evicts the least
   recently used model (or nothing) — :meth:`ModelAffinity.eviction_target`;
2. held only by busy servers, once it has waited as long as a job of its kind takes.

Loads (1 and 2) go to the kind most waited for (response ratios) per server holding it. A job held
by a free server, or better loaded on another free server, is left to that server.

The preferred job starts only if the aging bound (:mod:`.aging`) still holds: every job it
passes in turn order ends its wait before its deadline, and all waiting jobs, taken in
deadline order by the servers as they free up, still could. Otherwise the candidate with the
earliest deadline starts. When no candidate suits and none is due, the server waits.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Sequence
from typing import Any

from discomfy.core.jobs.queued import QueuedJob
from discomfy.core.scheduling.aging import AgingBound
from discomfy.core.scheduling.policy import RECHECK, SchedulingPolicy


log = logging.getLogger(__name__)

#: Shortest pause before a server that left every candidate looks again, in seconds.
MIN_RECHECK = 0.05


class ModelAffinity(SchedulingPolicy):
    """Same-model jobs first within the aging bound; see the module docstring."""

    name = "model_affinity"

    def __init__(self, *, aging_factor: float = 2.0, aging_floor: float = 60.0, pipelining: bool = False,
                 servers: Sequence[str] = (), confirm_vram: bool = True) -> None:
        super().__init__(pipelining=pipelining, servers=servers)
        self.aging = AgingBound(aging_factor, aging_floor)
        self.confirm_vram = confirm_vram
        self._wake_at: float | None = None
        self._loaded: dict[str, bool] = {}  # running job -> its server had to load its models

    def submitted(self, job: QueuedJob, order: Sequence[QueuedJob]) -> None:
        assert self.queue is not None
        allowed = set(job.servers) if job.servers is not None else set(self.servers())
        ahead, behind, seen = [], [], False
        for other in order:
            if other.job_id == job.job_id:
                seen = True
            elif other.servers is None or allowed & other.servers:
                (behind if seen else ahead).append(other)
        running = [j for j in self.queue.snapshot().running if j.server in allowed]
        self.aging.assign(job, ahead, running, max(1, len(allowed)), self.now())
        for other in behind:  # round-robin would serve the new job before these
            self.aging.pushed_back(other, job, len(other.servers) if other.servers is not None else len(self.servers()))

    def started(self, job: QueuedJob) -> None:
        if job.server is not None:
            self._loaded[job.job_id] = not self.holdings.holds(job.server, job.models)
        super().started(job)

    def finished(self, job: QueuedJob) -> None:
        loaded = self._loaded.pop(job.job_id, False)
        if job.started_at is not None:
            self.aging.durations.record(job.models, self.now() - job.started_at, loaded=loaded)
        self.aging.done(job.job_id)
        if self.confirm_vram and job.server is not None:
            self._confirm_later(job.server)

    def forget(self, job_id: str) -> None:
        self.aging.done(job_id)

    def recheck_after(self) -> float | None:
        if self._wake_at is None:
            return None
        return max(MIN_RECHECK, self._wake_at - self.now())  # never a busy loop

    def pick(self, server: str, candidates: Sequence[QueuedJob]) -> QueuedJob | None:
        if not candidates:
            return None
        now = self.now()
        ranked = []
        for index, job in enumerate(candidates):
            rank = self._rank(server, job, now)
            if rank is not None:
                ranked.append((rank, index, job))
        demand = self._demand(server)
        estimate = self.aging.durations.estimate

        def preference(entry: tuple[int, int, QueuedJob]) -> tuple[Any, ...]:
            rank, index, job = entry
            if rank == 0:  # a hit: the longest wait for its size (square root: see the docstring)
                return (0, -(now - job.submitted_at + estimate(job.models)) / max(1.0, estimate(job.models)) ** 0.5, index)
            return (1, -demand.get(job.models, 0.0), index)  # a load: for the kind most waited for

        ranked.sort(key=preference)
        waiting = self.queue.snapshot().pending if self.queue is not None else ()
        for rank, index, job in ranked[:1]:
            load = self.aging.durations.load if rank else 0.0
            if (self.aging.may_pass(candidates[:index], job, now, load)
                    and self.aging.feasible([j for j in waiting if j.job_id != job.job_id],
                                            self._free_times(server, now + estimate(job.models) + load), now)):
                self._wake_at = None
                return job
        due = [j for j in candidates if now + estimate(j.models) >= self.aging.deadline(j.job_id)]
        if ranked or due:  # nothing may go first: serve the most urgent
            self._wake_at = None
            return min(due or candidates, key=lambda j: self.aging.deadline(j.job_id))
        # none suits and none is due yet: look again when one falls due (all are in the future)
        soonest = min(self.aging.deadline(j.job_id) - estimate(j.models) for j in candidates)
        self._wake_at = min(now + RECHECK, soonest)
        return None

    def _free_times(self, server: str, busy_until: float) -> list[float]:
        """When each healthy server will probably take its next job, ``server`` being busy
        until ``busy_until``."""
        assert self.queue is not None
        now = self.now()
        ends: dict[str, list[float]] = {}
        for job in self.queue.snapshot().running:
            if job.server is not None:
                ends.setdefault(job.server, []).append(now + self.aging.durations.remaining(job.models, now - (job.started_at or now)))
        times = []
        for name in self.servers():
            if name == server:
                times.append(busy_until)
            elif self.healthy(name):
                times.append(now if self.queue.has_free_slot(name) else max(now, min(ends.get(name, [now]))))
        return times or [busy_until]

    def _demand(self, server: str) -> dict[frozenset[str], float]:
        """How badly each kind ``server`` may run is waited for: the waiting jobs' response
        ratios ((wait + run) / run) added up, shared by the healthy servers holding that
        kind (plus the one that would load it). Many short jobs waiting long weigh most."""
        assert self.queue is not None
        now = self.now()
        work: dict[frozenset[str], float] = {}
        for job in self.queue.snapshot().pending:
            if job.servers is None or server in job.servers:
                run = max(1.0, self.aging.durations.estimate(job.models))
                work[job.models] = work.get(job.models, 0.0) + (now - job.submitted_at + run) / run
        healthy = [s for s in self.servers() if self.healthy(s)]
        return {models: seconds / (1 + len(self.holdings.holders(models, healthy))) for models, seconds in work.items()}

    def _rank(self, server: str, job: QueuedJob, now: float) -> int | None:
        """0 held here, 1 held nowhere and this is where to load it, 2 held only by busy
        servers long enough; None: leave it for another server."""
        if not job.models or self.holdings.holds(server, job.models):
            return 0
        assert self.queue is not None
        allowed = [s for s in self.servers() if (job.servers is None or s in job.servers) and self.healthy(s)]
        holders = self.holdings.holders(job.models, allowed)
        if not holders:
            return 1 if self.eviction_target(job, [s for s in allowed if self.queue.has_free_slot(s)] + [server]) == server else None
        if any(self.queue.has_free_slot(h) for h in holders):
            return None
        return 2 if now - job.submitted_at >= self.aging.durations.estimate(job.models) else None

    def eviction_target(self, job: QueuedJob, servers: Sequence[str]) -> str:
        """Of ``servers``, where loading ``job``'s models evicts the least recently used model
        (a server with room for them, evicting nothing, first; then configuration order)."""
        order = {name: i for i, name in enumerate(self.servers())}
        return min(dict.fromkeys(servers), key=lambda s: (self.holdings.eviction(s, job.models).key(), order.get(s, len(order))))

    # --- VRAM confirmation --------------------------------------------------------------

    def _confirm_later(self, name: str) -> None:
        server = self.pool.get(name) if self.pool is not None else None
        if server is None or not server.healthy:
            return
        try:
            task = asyncio.get_running_loop().create_task(self._confirm(name, server.client))
        except RuntimeError:  # no loop (a synchronous test): nothing to confirm with
            return
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)

    async def _confirm(self, name: str, client: Any) -> None:
        try:
            stats = await client.system_stats()
        except Exception as exc:  # noqa: BLE001 - a missed confirmation only keeps the guess
            log.debug("reading /system_stats of %s failed: %s", name, exc)
            return
        self.holdings.confirm(name, stats)


__all__ = ["ModelAffinity"]
