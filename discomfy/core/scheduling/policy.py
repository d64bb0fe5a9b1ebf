"""The two scheduling policies the fair queue asks which job a free server starts.

The queue offers a free server its *candidates*: each waiting user's first job that server
may run, in round-robin turn. ``LeastBusy`` takes the first — strict round-robin, the jobs
spread over whichever servers free first. ``ModelAffinity`` (:mod:`.affinity`) takes the same
job unless it needs a costly load; then a job whose models the server already holds, from every
waiting job (``QueueSnapshot.waiting_for``), may go first if round-robin from then on would still
start every waiting job within its promise (:mod:`.aging`, :mod:`.shadow`). A server leaves a
job to another free server that holds its models, and waits when that leaves it nothing.

Both keep the record of held models (:mod:`.holdings`) that /status shows, forget a server's
record when it goes down, and, with ``comfyui.pipelining``, let a healthy, connected server
take one job more than its slots so it is queued on ComfyUI behind the running one.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable, Sequence
from typing import Any

from discomfy.core.jobs.queued import QueuedJob
from discomfy.core.scheduling.holdings import ModelHoldings

# The queue (which consults this policy) and the pool it attaches to are passed in, not
# imported: they import the policy.
FairQueue = ServerPool = Any

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


__all__ = ["POLICIES", "RECHECK", "LeastBusy", "SchedulingPolicy"]
