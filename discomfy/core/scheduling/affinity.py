"""``model_affinity``: a free server starts a job whose models it already holds.

The candidates are every waiting job the server may run, in round-robin serving order (not
only each user's first: a user's quick upscale need not wait behind their own video while the
server holds the upscaler). Each is one of:

0. held here — no load;
1. held by no healthy server, if this is the free server where loading evicts the least
   recently used model (or nothing) — :meth:`ModelAffinity.eviction_target`;
2. held only by busy servers, once it has waited as long as a job of its kind takes.

A job held by a free server, or better loaded on another free server, is left to that server.
The others are ordered by :meth:`ModelAffinity.priority`: (wait + run) x (1 + (12 s / run)^2),
divided for a load by 1 + 9 x load / (jobs of that kind waiting x run). Why this shape, from
``bench/scheduling.py``:

- the wait alone (round-robin's order) makes a 3 s upscale wait as long as a 120 s video, and
  users with many short jobs see a slowdown a hundred times the others' (Jain's index 0.85);
- the response ratio (wait + run) / run keeps every video until its aging deadline;
- the factor 1 + (12 / run)^2 is about 17 for an upscale, 5 for SDXL and 1.0–1.6 for FLUX, Qwen
  and Wan: short jobs go first, the long ones share the GPU almost in turn;
- before, a load waited until no job needed none; short jobs whose model was evicted then
  waited half an hour. Now a load competes, weighed by what it costs per job it serves.

The preferred job starts only if the aging bound (:mod:`.aging`) still holds: every job it
passes in serving order starts before its deadline, and all waiting jobs, taken in deadline
order by the servers as they free up (running loads and the loads they will need included),
still could. Otherwise the job with the earliest deadline starts. When no candidate suits and
none is due, the server waits.
"""

from __future__ import annotations

import asyncio
import logging
from collections import Counter
from collections.abc import Sequence
from typing import Any

from discomfy.core.jobs.queued import QueuedJob
from discomfy.core.scheduling.aging import OVERRUN, AgingBound, MARGIN
from discomfy.core.scheduling.policy import RECHECK, SchedulingPolicy


log = logging.getLogger(__name__)

#: Seconds of run time around which a job counts as short: the priority of a job that runs
#: ``r`` seconds grows with its wait times ``1 + (SHORT_JOB / r) ** 2``.
SHORT_JOB = 12.0
#: How much a load weighs against a job that needs none: a load's priority is divided by
#: ``1 + LOAD_WEIGHT * load / (jobs of its kind waiting * run)``.
LOAD_WEIGHT = 9.0

#: The rank of a job whose models only busy servers hold and that has not waited long enough
#: to be loaded elsewhere: not chosen now, but served if it falls due.
WAIT = 3
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
        turn_order = candidates
        now = self.now()
        assert self.queue is not None, "bind() the policy to its queue first"
        snapshot = self.queue.snapshot()
        candidates = snapshot.waiting_for(server)  # every waiting job, not only each user's first
        kind_waiting = Counter(job.models for job in candidates)
        if len(kind_waiting) == 1 and self._rank(server, turn_order[0], now) == 0:
            # one kind, held here: nothing to gain from passing anyone, so strict round-robin
            # (and no per-job work on a busy single-model bot)
            self._wake_at = None
            return turn_order[0]
        ranks = [self._rank(server, job, now) for job in candidates]
        ranked = [(rank, index, job) for index, (rank, job) in enumerate(zip(ranks, candidates))
                  if rank is not None and rank != WAIT]
        ranked.sort(key=lambda entry: (-self.priority(entry[2], now, load=bool(entry[0]),
                                                      sharing=kind_waiting[entry[2].models]), entry[1]))
        estimate = self.aging.durations.estimate
        for rank, index, job in ranked[:1]:
            load = self.aging.durations.load_time(job.models) if rank else 0.0
            healthy = [s for s in self.servers() if self.healthy(s)]
            if (self.aging.may_pass(candidates[:index], job, now, load)
                    and self.aging.feasible([j for j in snapshot.pending if j.job_id != job.job_id],
                                            self._free_times(server, now + OVERRUN * estimate(job.models) + load, snapshot.running),
                                            now, cost=lambda waiting: self._cost(waiting, healthy))):
                self._wake_at = None
                return job
        # due: a job another free server will not take now, whose deadline one more job here would pass
        due = [j for j, rank in zip(candidates, ranks)
               if rank is not None and now + estimate(j.models) >= self.aging.deadline(j.job_id) - MARGIN]
        if ranked or due:  # nothing may go first: serve the most urgent
            self._wake_at = None
            return min(due or candidates, key=lambda j: self.aging.deadline(j.job_id))
        # none suits and none is due yet: look again when one falls due (all are in the future)
        soonest = min(self.aging.deadline(j.job_id) - MARGIN - estimate(j.models) for j in candidates)
        self._wake_at = min(now + RECHECK, soonest)
        return None

    def priority(self, job: QueuedJob, now: float, *, load: bool = False, sharing: int = 1) -> float:
        """How much ``job`` should start now: (wait + run) x (1 + (SHORT_JOB / run)^2), and for a
        ``load`` shared by ``sharing`` waiting jobs of its kind, divided by
        1 + LOAD_WEIGHT x load / (sharing x run). See the module docstring for why."""
        run = max(1.0, self.aging.durations.estimate(job.models))
        score = (now - job.submitted_at + run) * (1 + (SHORT_JOB / run) ** 2)
        if load:
            score /= 1 + LOAD_WEIGHT * self.aging.durations.load_time(job.models) / (max(1, sharing) * run)
        return score

    def _cost(self, job: QueuedJob, healthy: Sequence[str]) -> float:
        """Seconds ``job`` will probably hold a server: its run, plus a load when none of the
        ``healthy`` servers holds its models."""
        needs_load = bool(job.models) and not self.holdings.holders(job.models, healthy)
        return self.aging.durations.estimate(job.models) + (self.aging.durations.load_time(job.models) if needs_load else 0.0)

    def _free_times(self, server: str, busy_until: float, running: Sequence[QueuedJob]) -> list[float]:
        """When each healthy server will probably take its next job, ``server`` being busy
        until ``busy_until`` and the others with their ``running`` jobs."""
        assert self.queue is not None
        now = self.now()
        ends: dict[str, list[float]] = {}
        for job in running:
            if job.server is not None:
                ends.setdefault(job.server, []).append(now + self.aging.durations.remaining(
                    job.models, now - (job.started_at or now), loading=self._loaded.get(job.job_id, False)))
        times = []
        for name in self.servers():
            if name == server:
                times.append(busy_until)
            elif self.healthy(name):
                times.append(now if self.queue.has_free_slot(name) else max(now, min(ends.get(name, [now]))))
        return times or [busy_until]

    def _rank(self, server: str, job: QueuedJob, now: float) -> int | None:
        """0 held here, 1 held nowhere and this is where to load it, 2 held only by busy
        servers long enough, ``WAIT`` held only by busy servers; None: another free server
        should take it now."""
        if not job.models or self.holdings.holds(server, job.models):
            return 0
        assert self.queue is not None
        allowed = [s for s in self.servers() if (job.servers is None or s in job.servers) and self.healthy(s)]
        holders = self.holdings.holders(job.models, allowed)
        if not holders:
            return 1 if self.eviction_target(job, [s for s in allowed if self.queue.has_free_slot(s)] + [server]) == server else None
        if any(self.queue.has_free_slot(h) for h in holders):
            return None
        return 2 if now - job.submitted_at >= self.aging.durations.estimate(job.models) else WAIT

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
