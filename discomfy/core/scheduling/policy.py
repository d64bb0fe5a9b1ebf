"""The two scheduling policies the fair queue asks which job a free server starts.

The queue offers a free server its *candidates*: each waiting user's first job that server
may run, in round-robin turn. ``LeastBusy`` takes the first — strict round-robin, the jobs
spread over whichever servers free first. ``ModelAffinity`` prefers, in this order:

0. a job whose models the server already holds (no load);
1. a job whose models no healthy server holds, if this server is the free one where loading
   them evicts the least recently used model (or nothing);
2. a job whose models only busy servers hold, once it has waited as long as a job of its
   kind takes (they are backed up: load it here too);

and passes over earlier candidates only while the aging bound allows (:mod:`.aging`). A job
it does not want (its models are held by a free server, or a better free server could take
it) is left for that server; when no candidate suits and none is due, the server waits.

Both keep the record of held models (:mod:`.holdings`) that /status shows, forget a server's
record when it goes down, and, with ``comfyui.pipelining``, let a healthy, connected server
take one job more than its slots so it is queued on ComfyUI behind the running one.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable, Sequence
from typing import TYPE_CHECKING, Any

from discomfy.core.scheduling.aging import AgingBound
from discomfy.core.scheduling.holdings import ModelHoldings

if TYPE_CHECKING:
    from discomfy.core.queue import FairQueue, QueuedJob
    from discomfy.core.servers import ServerPool

log = logging.getLogger(__name__)

POLICIES = ("least_busy", "model_affinity")
#: How soon a server that left a job for a better free server looks again, in seconds.
RECHECK = 1.0


class SchedulingPolicy:
    """What both policies share: held models, pipelining, the queue and pool they serve."""

    name = "least_busy"

    def __init__(self, *, pipelining: bool = False, servers: Sequence[str] = ()) -> None:
        self.pipelining = pipelining
        self.holdings = ModelHoldings()
        self.queue: FairQueue | None = None
        self.pool: ServerPool | None = None
        self._servers = list(servers)
        self._tasks: set[asyncio.Task[Any]] = set()

    # --- wiring -------------------------------------------------------------------------

    def bind(self, queue: FairQueue) -> None:
        self.queue = queue

    def attach(self, pool: ServerPool) -> Callable[[], None]:
        """Serve ``pool``'s servers: their health gates pipelining, a server going down
        loses its held models. Returns the remover of the health listener."""
        self.pool = pool
        self._servers = pool.names
        return pool.add_health_listener(on_down=lambda server: self.holdings.forget(server.name))

    def now(self) -> float:
        assert self.queue is not None, "bind() the policy to its queue first"
        return self.queue.now()

    def servers(self) -> list[str]:
        return list(self._servers)

    def healthy(self, name: str) -> bool:
        """Up at the last health check and its socket connected (a pool-less test: True)."""
        server = self.pool.get(name) if self.pool is not None else None
        if server is None:
            return self.pool is None
        return bool(server.healthy and getattr(server.client, "connected", True))

    # --- what the queue asks ------------------------------------------------------------

    def extra_slots(self, server: str) -> int:
        """Pipelining: one job more than the slots, only on a healthy server."""
        return 1 if self.pipelining and self.healthy(server) else 0

    def submitted(self, job: QueuedJob, order: Sequence[QueuedJob]) -> None:
        """``job`` was queued; ``order`` is the serving order with it in place."""

    def pick(self, server: str, candidates: Sequence[QueuedJob]) -> QueuedJob | None:
        """The job ``server`` starts now, from the waiting users' first jobs in turn order."""
        return candidates[0] if candidates else None

    def started(self, job: QueuedJob) -> None:
        if job.server is not None:
            self.holdings.ran(job.server, job.models, self.now())

    def finished(self, job: QueuedJob) -> None:
        """``job`` left its server (done, failed or cancelled there)."""

    def forget(self, job_id: str) -> None:
        """``job_id`` left the queue without running."""

    def recheck_after(self) -> float | None:
        """Seconds after which waiting servers should look again though nothing changed."""
        return None

    def status(self, server: str) -> dict[str, Any]:
        return {"holds": self.holdings.held(server), "scheduling": self.name, "pipelining": self.pipelining}


class LeastBusy(SchedulingPolicy):
    """Strict round-robin; see the module docstring."""


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
        return max(0.0, self._wake_at - self.now())

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
        # hits in turn; else load the kind with the most work waiting per server holding it
        ranked.sort(key=lambda r: (r[0] > 0, -demand.get(r[2].models, 0.0) if r[0] else 0.0, r[1]))
        for rank, index, job in ranked:
            load = self.aging.durations.load if rank else 0.0
            if self.aging.may_pass(candidates[:index], job, now, load):
                self._wake_at = None
                return job
        urgent = min(range(len(candidates)), key=lambda i: (self.aging.deadline(candidates[i].job_id), i))
        job = candidates[urgent]
        if ranked or now + self.aging.durations.estimate(job.models) >= self.aging.deadline(job.job_id):
            self._wake_at = None
            return job  # nothing may go first: serve the most urgent in turn
        soonest = min(self.aging.deadline(j.job_id) - self.aging.durations.estimate(j.models) for j in candidates)
        self._wake_at = min(now + RECHECK, soonest)
        return None

    def _demand(self, server: str) -> dict[frozenset[str], float]:
        """Estimated seconds of waiting work per kind ``server`` may run, shared by the
        healthy servers holding that kind (plus the one that would load it)."""
        assert self.queue is not None
        work: dict[frozenset[str], float] = {}
        for job in self.queue.snapshot().pending:
            if job.servers is None or server in job.servers:
                work[job.models] = work.get(job.models, 0.0) + self.aging.durations.estimate(job.models)
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


def policy_from_config(config: Any) -> SchedulingPolicy:
    """``comfyui.scheduling``, ``comfyui.aging_factor``, ``comfyui.aging_floor``,
    ``comfyui.pipelining`` (validated by ``discomfy.config``)."""
    section = config.comfyui
    pipelining = bool(section.get("pipelining", False))
    if section.get("scheduling", "least_busy") == "model_affinity":
        return ModelAffinity(aging_factor=float(section.get("aging_factor", 2.0)),
                             aging_floor=float(section.get("aging_floor", 60.0)), pipelining=pipelining)
    return LeastBusy(pipelining=pipelining)


__all__ = ["POLICIES", "LeastBusy", "ModelAffinity", "SchedulingPolicy", "policy_from_config"]
