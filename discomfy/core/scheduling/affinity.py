"""``model_affinity``: a free server starts a job whose models it already holds, when no
job's promise breaks for it.

Every job is promised a start within ``aging_factor`` times its round-robin wait (at least
``aging_floor`` s). That wait is what ``least_busy`` would have made it wait: a shadow replays
round-robin beside the real queue on the same submissions (:mod:`.shadow`). Issue 26 showed why:
the old estimate, the work ahead in the real queue, was up to 1.5x what round-robin really
did, and jobs passed the true bound.

A free server is offered, as in ``least_busy``, the job strict turns give it (a job another free
server holds the models of, or is the better place to load them, is left to that server). It
starts that job unless the job needs a load worth avoiding (``WORTH_PASSING`` s or more). Then a
job whose models the server holds may go first — any waiting job, not only each user's first —
the best of them by :meth:`ModelAffinity.priority` (short jobs first, then the longest waiting),
but only if strict turns from then on would still start every other waiting job before its
deadline, with a margin (:meth:`ModelAffinity.in_time`, the real queue and servers replayed
forward by :mod:`.round_robin`). Where no held job passes, the server starts the job strict
turns give it: the policy falls back to round-robin rather than break a promise.

Two rules keep that fallback early, because every figure here is an estimate (issue 26's
second round found each of the late jobs behind one of them):

- **The brake.** While strict turns alone would start some other waiting job too late for its
  deadline, no job goes out of turn, even one the projection says delays nobody: the
  projection is what was wrong when that job's slack ran out, so the queue stays in strict turns
  until the job at risk has started. (Only the job that would go first is exempt: going first
  can only help it.)
- **A promise never grows.** A job's deadline is from the lowest round-robin wait the shadow
  has given it so far (:meth:`ModelAffinity.deadline`): the shadow's estimate moves as it learns
  durations and replays, and a deadline that moved later had let jobs pass that the earlier,
  nearer one would have stopped.
- **Passed twice, then its turn** (``PASSES``): a job held jobs went ahead of twice starts
  when strict turns give it a server, however much room its promise still has.
"""

from __future__ import annotations

import asyncio
import logging
from collections import Counter
from collections.abc import Sequence
from typing import Any

from discomfy.core.jobs.queued import QueuedJob, QueueSnapshot
from discomfy.core.scheduling.aging import OVERRUN, AgingBound
from discomfy.core.scheduling.policy import RECHECK, SchedulingPolicy
from discomfy.core.scheduling.round_robin import RoundRobinReplay
from discomfy.core.scheduling.shadow import RoundRobinShadow


log = logging.getLogger(__name__)

#: Seconds of run time around which a job counts as short: the priority of a job that runs
#: ``r`` seconds grows with its wait times ``1 + (SHORT_JOB / r) ** 2``.
SHORT_JOB = 12.0
#: How many preferred jobs, best first, are checked against the promises before the server
#: takes the job strict turns give it (each check replays the queue).
TRIES = 3

#: Seconds a load must take before another job may go ahead of the one needing it: an
#: upscaler loads in about a second, and deferring it only makes its users wait.
WORTH_PASSING = 5.0
#: How many times one job may be passed by held jobs; then it starts when strict turns give it
#: a server. Each pass delays it by a whole run, and the bench's tuning seeds showed the tail of
#: the deferred kind (a Qwen edit at 50 % load) growing past round-robin's with every pass the
#: promise still allowed: 2 held 2 late jobs and 3 worse p95 waits there, against 4 and 4
#: without the limit, and 4 and 2 with 1 (at fewer loads saved).
PASSES = 2


class ModelAffinity(SchedulingPolicy):
    """Same-model jobs first while every promise holds; see the module docstring."""

    name = "model_affinity"

    def __init__(self, *, aging_factor: float = 2.0, aging_floor: float = 60.0, pipelining: bool = False,
                 servers: Sequence[str] = (), confirm_vram: bool = True) -> None:
        super().__init__(pipelining=pipelining, servers=servers)
        self.aging = AgingBound(aging_factor, aging_floor)
        self.confirm_vram = confirm_vram
        self.shadow = RoundRobinShadow(self.aging.durations, self.holdings, self.servers, self._slots,
                                       lambda: self.queue.max_per_user if self.queue is not None else None)
        self._idle = False
        self._loaded: dict[str, bool] = {}  # running job -> its server had to load its models
        self._passes: Counter[str] = Counter()  # waiting job -> how often a held job passed it
        self._lowest_wait: dict[str, float] = {}  # waiting job -> the lowest round-robin wait given it

    def _slots(self, server: str) -> int:
        return self.queue.server_limit(server) if self.queue is not None else 1

    def submitted(self, job: QueuedJob, order: Sequence[QueuedJob]) -> None:
        self.shadow.submitted(job, self.now())

    def started(self, job: QueuedJob) -> None:
        if job.server is not None:
            self._loaded[job.job_id] = not self.holdings.holds(job.server, job.models)
        self.shadow.done(job.job_id)
        self._lowest_wait.pop(job.job_id, None)
        self._passes.pop(job.job_id, None)
        super().started(job)

    def finished(self, job: QueuedJob) -> None:
        loaded = self._loaded.pop(job.job_id, False)
        if job.started_at is not None:
            self.aging.durations.record(job.models, self.now() - job.started_at, loaded=loaded)
        if self.confirm_vram and job.server is not None:
            self._confirm_later(job.server)

    def forget(self, job_id: str) -> None:
        self.shadow.cancelled(job_id, self.now())
        self._lowest_wait.pop(job_id, None)
        self._passes.pop(job_id, None)

    def recheck_after(self) -> float | None:
        return RECHECK if self._idle else None

    def deadline(self, job: QueuedJob, now: float) -> float:
        """When ``job`` is promised to start: ``aging_factor`` x its wait in the round-robin
        shadow (at least ``aging_floor`` s) after its submission; of the shadow's waits for the
        job so far, the lowest (a promise never grows, see the module docstring)."""
        wait = min(self.shadow.wait(job.job_id, now), self._lowest_wait.get(job.job_id, float("inf")))
        self._lowest_wait[job.job_id] = wait
        return self.aging.deadline(job.submitted_at, wait)

    def pick(self, server: str, candidates: Sequence[QueuedJob]) -> QueuedJob | None:
        self._idle = False
        if not candidates:
            return None
        now = self.now()
        assert self.queue is not None, "bind() the policy to its queue first"
        ranks = {job.job_id: self._rank(server, job, now) for job in candidates}
        # strict turns, leaving to another free server only what it takes now
        turn = next((job for job in candidates if ranks[job.job_id] is not None), None)
        if turn is None:
            self._idle = True
            return None
        if ranks[turn.job_id] == 0 or self.aging.durations.load_time(turn.models) < WORTH_PASSING:
            return turn  # no load, or one too quick to make anyone wait for: nothing to gain
        if self._passes[turn.job_id] >= PASSES:
            return turn  # passed often enough: its turn now
        snapshot = self.queue.snapshot()
        waiting = snapshot.waiting_for(server)  # every waiting job, not only each user's first
        held = sorted((job for job in waiting if self._rank(server, job, now) == 0), key=lambda j: -self.priority(j, now))
        if not held:
            return turn
        self.shadow.advance(now)
        strict = self._project(server, turn, now, snapshot, out_of_turn=False)
        for job in held[:TRIES]:
            # the brake: another job at risk under strict turns already stops every pass
            if not self.in_time(strict, now, snapshot, skip={turn.job_id, job.job_id}):
                continue
            if self.in_time(self._project(server, job, now, snapshot, out_of_turn=True), now, snapshot,
                            skip={job.job_id}):
                self._passes[turn.job_id] += 1
                return job
        return turn

    def in_time(self, starts: dict[str, float], now: float, snapshot: QueueSnapshot, skip: set[str]) -> bool:
        """True when every waiting job not in ``skip`` (the jobs that start now) starts, as
        projected in ``starts``, by its deadline with :meth:`AgingBound.keeps`'s margin."""
        return all(self.aging.keeps(starts[job.job_id], self.deadline(job, now), now)
                   for job in snapshot.pending if job.job_id not in skip and job.job_id in starts)

    def _project(self, server: str, runner: QueuedJob, now: float, snapshot: QueueSnapshot, *,
                 out_of_turn: bool) -> dict[str, float]:
        """When strict turns would start each waiting job, ``runner`` starting on ``server``
        now (``out_of_turn``: for ``OVERRUN`` x its estimate, an average being no promise)."""
        replay = RoundRobinReplay.from_serving_order(snapshot.pending, self._free_slots(now, snapshot.running),
                                                     self.holdings.copy(), self._cost)
        load = bool(runner.models) and not self.holdings.holds(server, runner.models)
        durations = self.aging.durations
        replay.start(server, runner, now, (OVERRUN if out_of_turn else 1.0) * durations.estimate(runner.models)
                     + (durations.load_time(runner.models) if load else 0.0))
        replay.run()
        return replay.starts

    def priority(self, job: QueuedJob, now: float) -> float:
        """Which of the jobs this server holds the models of goes first: (wait + run) x
        (1 + (SHORT_JOB / run)^2), so an upscale before an image, an image before a video,
        and among alike the one waiting longest."""
        run = max(1.0, self.aging.durations.estimate(job.models))
        return (now - job.submitted_at + run) * (1 + (SHORT_JOB / run) ** 2)

    def _cost(self, job: QueuedJob, load: bool) -> float:
        """Seconds ``job`` will probably hold a server in a projection (a kind never seen:
        long), plus its load when the server does not hold its models."""
        durations = self.aging.durations
        return durations.estimate(job.models) + (durations.load_time(job.models) if load else 0.0)

    def _free_slots(self, now: float, running: Sequence[QueuedJob]) -> dict[str, list[float]]:
        """When each slot of each healthy server will probably be free, from the ``running``
        jobs' estimated ends (a slot frees when enough of its server's jobs have ended)."""
        assert self.queue is not None
        ends: dict[str, list[float]] = {}
        for job in running:
            if job.server is not None:
                ends.setdefault(job.server, []).append(now + self.aging.durations.remaining(
                    job.models, now - (job.started_at or now), loading=self._loaded.get(job.job_id, False)))
        free = {}
        for name in self.servers():
            slots = self.queue.slots(name)
            if slots <= 0 or not self.healthy(name):
                continue
            busy = sorted(ends.get(name, []))
            free[name] = busy[len(busy) - slots:] if len(busy) >= slots else [now] * (slots - len(busy)) + busy
        return free

    def _rank(self, server: str, job: QueuedJob, now: float) -> int | None:
        """0: ``server`` holds the job's models; 1: it would load them; None: another free
        server holds them, or is the better place to load them (evicting an older model), and
        takes the job now."""
        if not job.models or self.holdings.holds(server, job.models):
            return 0
        assert self.queue is not None
        allowed = [s for s in self.servers() if (job.servers is None or s in job.servers) and self.healthy(s)]
        free = [s for s in allowed if self.queue.has_free_slot(s)]
        holders = self.holdings.holders(job.models, allowed)
        if any(h in free for h in holders):
            return None
        if not holders and self.eviction_target(job, free + [server]) != server:
            return None
        return 1

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
