"""Taking jobs in from a job store several processes share: the scheduling process's side.

Every process writes the jobs it accepts to the store and announces them
(:mod:`discomfy.core.jobs.leadership`); the one process that schedules takes each queued job
into its fair queue, routed like a new job: to the servers that have what it needs, grouped by
the models it loads. Its attached images lived in the accepting process's memory, so they are
read again from where Discord serves them, as restart recovery does -- the same code
(``recover_one``), without the per-user cap, which the store counted when it admitted the job.

A sync runs when an announcement arrives and every ``jobs.poll_interval`` seconds, the safety
net for a notification lost with a connection. It also:

* drops from the queue a waiting job another process ended (cancelled by its owner there);
* ends what a dead process left half-done: a job still ``accepted`` (it never told its user it
  was queued) or a waiting job with a delivery under way, untouched for a minute
  (``recovery.ORPHANED_AFTER``), goes through ``recover_one`` (the user is told, or the recorded delivery finished).
"""

from __future__ import annotations

import asyncio
import logging
import time
from typing import Any

from discomfy.bot.delivery import deliver_failure
from discomfy.bot.recovery import orphaned, recover_one
from discomfy.bot.responses import user_message_for
from discomfy.core.jobs.job import JobState

log = logging.getLogger(__name__)

class Intake:
    """The scheduling process's loop over the shared store; see the module docstring."""

    def __init__(self, bot: Any, poll_interval: float) -> None:
        self.bot = bot
        self.poll_interval = poll_interval
        self._wake = asyncio.Event()
        self.taken = 0  # jobs taken in since start, for the log and the tests

    def wake(self) -> None:
        """An announcement arrived: sync now."""
        self._wake.set()

    async def run(self) -> None:
        while True:
            try:
                async with asyncio.timeout(self.poll_interval):
                    await self._wake.wait()
            except asyncio.TimeoutError:
                pass
            self._wake.clear()
            try:
                await self.sync()
            except Exception:  # noqa: BLE001 - the store may be down a while; the next sync retries
                log.exception("taking jobs in from the shared job store failed")

    async def sync(self) -> None:
        """One pass over the store's unfinished jobs (see the module docstring)."""
        bot, now = self.bot, time.time()
        queue, running = bot.jobs.job_queue, bot.jobs.generation.runs.tasks()
        waiting: set[str] = set()
        for job in await bot.jobs.store.unfinished():
            if job.state is JobState.QUEUED and job.delivery_intent is None:
                waiting.add(job.id)
                if not queue.holds(job.id) and job.id not in running:
                    await self._take_in(job)
            elif orphaned(job, now) and job.id not in running:
                await self._settle(job)
        for queued in queue.snapshot().pending:
            if queued.job_id not in waiting:
                await self.drop_if_ended(queued.job_id)

    async def drop_if_ended(self, job_id: str) -> None:
        """A waiting job the store shows ended (another process cancelled it) leaves the queue."""
        job = await self.bot.jobs.store.get(job_id)
        if job is None or job.is_final or job.delivery_intent is not None:
            if self.bot.jobs.job_queue.cancel(job_id):
                self.bot.jobs.generation.runs.forget(job_id)

    async def _take_in(self, job: Any) -> None:
        try:
            kind = await recover_one(self.bot, job, capped=False)
        except Exception as exc:  # noqa: BLE001 - as recovery does: the job ends, visibly
            log.error("job %s: could not be taken in from the shared store", job.id, exc_info=exc)
            await deliver_failure(self.bot, job, user_message_for(exc), retry=True)
            return
        if kind == "requeued":
            self.taken += 1

    async def _settle(self, job: Any) -> None:
        log.warning("job %s: left %s by a process that went quiet; ending it", job.id, job.state.value)
        try:
            await recover_one(self.bot, job)
        except Exception as exc:  # noqa: BLE001
            log.error("job %s: could not be ended", job.id, exc_info=exc)


__all__ = ["Intake"]
