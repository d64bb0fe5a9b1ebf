"""``JobRunner``: everything that moves jobs along on one bot, apart from Discord and plugins.

It owns the job store, the fair queue, the ComfyUI servers with their health checks and
failover, and the generation flow; it starts the background work (one dispatch loop per server,
the health watch, the queue deadline), re-attaches to unfinished jobs after a restart, and
tells users what a server going down means for their job.
"""

from __future__ import annotations

import asyncio
import logging
from typing import Any

from discomfy.bot.availability import WorkflowAvailability
from discomfy.bot.delivery import deliver_failure
from discomfy.bot.generation import GenerationFlow
from discomfy.bot.recovery import recover_jobs
from discomfy.core.servers.failover import Failover
from discomfy.core.jobs.job import JobState
from discomfy.core.jobs.store import JobStore
from discomfy.core.jobs.queue import FairQueue, QueueClosedError
from discomfy.core.preferences import PreferenceStore
from discomfy.core.servers.pool import ServerPool
from discomfy.utils.tasks import cancel_and_wait

log = logging.getLogger(__name__)

STORE_BUSY_TIMEOUT = 1.0  # seconds to wait for a lock held by another process
STOP_DELIVERY_TIMEOUT = 8.0  # a failover waits this long for a delivery under way (its limit is 10 s)


class JobRunner:
    def __init__(self, bot: Any) -> None:
        config = bot.config
        self.bot = bot
        self.job_queue = FairQueue.from_config(config)
        self.servers = ServerPool.from_config(config, job_queue=self.job_queue)
        self.failover = Failover.from_config(config, self.job_queue, self.servers, stop_run=self.stop_run)
        # a locked store must fail fast: a job is stored inside Discord's 3-second window
        self.store = JobStore.from_config(config, busy_timeout=STORE_BUSY_TIMEOUT)
        self.preferences = PreferenceStore(self.store)  # plugins' per-user values, in the store's file
        self.guild_preferences = PreferenceStore(self.store, table="guild_preferences")  # and per-server ones
        self.generation = GenerationFlow(bot)
        self.availability = WorkflowAvailability(bot)  # workflows no healthy server can run now
        self.job_queue.add_listener(self.generation.positions_changed)
        self._background: list[asyncio.Task[Any]] = []

    # --- lifecycle --------------------------------------------------------------------------

    async def open(self) -> None:
        """Before plugins load: the store, the servers and the work that needs no plugin."""
        config = self.bot.config
        await self.store.open()
        await self.preferences.load()
        await self.guild_preferences.load()
        pruned = await self.store.prune(float(config.jobs.prune_after_days))
        if pruned:
            log.info("pruned %d finished jobs older than %s days", pruned, config.jobs.prune_after_days)
        self.failover.attach(on_report=self.tell_failover)
        await self.servers.start()
        self.servers.add_health_listener(on_up=self.availability.refresh)  # a server back may bring them back
        self.keep(asyncio.create_task(self.servers.watch(), name="server-health"))
        self.keep(asyncio.create_task(self.expire_waiting_jobs(), name="queue-deadline"))

    async def start(self) -> None:
        """Once the workflows are known: say which no server can run, finish what the last run
        left open, then dispatch."""
        await self.availability.refresh()
        await recover_jobs(self.bot)
        for server in self.servers:
            self.keep(asyncio.create_task(self.dispatch(server), name=f"dispatch:{server.name}"))

    def keep(self, task: asyncio.Task[Any]) -> None:
        """Own a background task: it is cancelled when the bot closes."""
        self._background.append(task)

    async def close(self) -> None:
        self.job_queue.close()
        running = [*self._background, *self.generation.runs.tasks().values()]
        for task in running:
            task.cancel()
        await asyncio.gather(*running, return_exceptions=True)
        self._background.clear()
        await self.servers.close()
        await self.store.close()

    # --- moving jobs ------------------------------------------------------------------------

    async def dispatch(self, server: Any) -> None:
        """Hand jobs to ``server`` as the fair queue releases them."""
        while True:
            try:
                queued = await self.job_queue.next(server.name)
            except QueueClosedError:
                return
            self.generation.runs.start(queued.job_id, self.generation.process(queued.job_id, server))

    async def expire_waiting_jobs(self) -> None:
        """Fail, with Retry, jobs that waited in our queue longer than ``comfyui.job_deadline``
        (e.g. every server able to run them went down): no job waits forever."""
        deadline = float(self.bot.config.comfyui.job_deadline)
        message = (f"No image server could run your job within {max(1, round(deadline / 60))} minute(s); "
                   "they may be down. Press Retry to try again.")
        while True:
            await asyncio.sleep(min(30.0, deadline / 4))
            for queued in self.job_queue.waiting_longer_than(deadline):
                job = await self.store.get(queued.job_id)
                if job is not None:
                    await self.generation.withdraw(job, message, retry=True)

    # --- servers going down -----------------------------------------------------------------

    async def stop_run(self, job_id: str) -> None:
        """Stop our side of a job whose server died (Failover then retries or fails it), and
        put it back to queued *before* Failover requeues it, guarded on the old prompt id, so
        the new run's own write can never be overwritten by this reset."""
        task = self.generation.runs.tasks().get(job_id)
        job = await self.store.get(job_id)
        if task is not None and job is not None and job.delivery_intent is not None:
            # already delivering its outcome, which needs the server no more: let it finish
            # (a delivery cut off here would stay open until the next start)
            await asyncio.wait({task}, timeout=STOP_DELIVERY_TIMEOUT)
        await cancel_and_wait(task)
        job = await self.store.get(job_id)
        if job is not None and job.state is JobState.RUNNING and job.delivery_intent is None:
            await self.store.update(job_id, expect="running", expect_prompt=job.prompt_id, state="queued",
                                    server=None, prompt_id=None)

    async def tell_failover(self, report: Any) -> None:
        """Tell each affected user what a server going down means for their job."""
        for action in report.failed:
            job = await self.store.get(action.job_id)
            if job is not None:
                await deliver_failure(self.bot, job, action.message, retry=True)
            self.generation.runs.forget(action.job_id)  # it ended: nothing will run it again
        for action in [*report.retried, *report.waiting]:
            editor = self.generation.runs.editor_of(action.job_id)
            if editor is not None:
                editor.update(phase=action.message[:200])
