"""``JobRunner``: everything that moves jobs along on one bot, apart from Discord and plugins.

It owns the job store, the fair queue, the ComfyUI servers with their health checks and
failover, and the generation flow; it starts the background work (one dispatch loop per server,
the health watch, the queue deadline), re-attaches to unfinished jobs after a restart, and
tells users what a server going down means for their job.

Several processes may share one PostgreSQL store (``jobs.store_url``): each accepts commands
and writes jobs (admitted by the store: :mod:`discomfy.core.jobs.admission`), and only the one
elected to schedule (:mod:`discomfy.core.jobs.leadership`) runs the queue, the dispatch loops
and the ComfyUI sockets, taking jobs in from the store (:mod:`discomfy.bot.intake`). A process
elected later re-attaches to what the last one left running, as after a restart. On SQLite the
one process schedules from the start, as it always did.
"""

from __future__ import annotations

import asyncio
import logging
from typing import Any

from discomfy.bot.availability import WorkflowAvailability
from discomfy.bot.delivery import deliver_failure
from discomfy.bot.generation import CANCELLED, GenerationFlow
from discomfy.bot.intake import Intake
from discomfy.bot.recovery import recover_jobs
from discomfy.core.jobs.admission import Admission
from discomfy.core.jobs.leadership import leadership_for
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
        self.leadership = leadership_for(self.store, str(config.jobs.get("store_url") or ""))
        # a shared store counts the caps and rate limits of every process; one process, its memory
        self.admission = Admission.from_config(config) if self.leadership.shared else None
        self.intake = Intake(bot, float(config.jobs.get("poll_interval", 2.0)))
        self.stopped_because = ""  # why this process stopped itself (its scheduling lock was lost)
        self._background: list[asyncio.Task[Any]] = []
        self._stopping: asyncio.Task[Any] | None = None
        self._cancels: set[asyncio.Task[Any]] = set()

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
        await self.servers.start(listen=not self.leadership.shared)  # sockets belong to the scheduler
        self.servers.add_health_listener(on_up=self.availability.refresh)  # a server back may bring them back
        self.keep(asyncio.create_task(self.servers.watch(), name="server-health"))
        self.keep(asyncio.create_task(self.expire_waiting_jobs(), name="queue-deadline"))

    async def start(self) -> None:
        """Once the workflows are known: say which no server can run, finish what the last run
        left open, then dispatch -- at once with a store of its own, else once elected."""
        await self.availability.refresh()
        if not self.leadership.shared:
            await self.schedule()
            return
        await self.leadership.start(self.heard)  # a process alone is elected here, and schedules at once
        self.keep(asyncio.create_task(self.stop_when_deposed(), name="scheduler-deposed"))
        if self.leadership.elected.is_set():
            await self.schedule_when_elected()
        else:
            self.keep(asyncio.create_task(self.schedule_when_elected(), name="scheduler-election"))

    async def schedule(self) -> None:
        """This process schedules: re-attach to what was left running, then dispatch."""
        await recover_jobs(self.bot, shared=self.leadership.shared)
        for server in self.servers:
            self.keep(asyncio.create_task(self.dispatch(server), name=f"dispatch:{server.name}"))

    async def schedule_when_elected(self) -> None:
        await self.leadership.elected.wait()
        await self.servers.listen()  # before recovery: the events of re-attached prompts come here now
        await self.schedule()
        self.keep(asyncio.create_task(self.intake.run(), name="intake"))
        self.intake.wake()

    async def stop_when_deposed(self) -> None:
        """A scheduler whose lock connection died stops: another process may lead already,
        and two must never run the fleet. ``discomfy run`` exits 1; its supervisor restarts it."""
        await self.leadership.lost.wait()
        self.stopped_because = f"it lost the scheduling lock ({self.leadership.lost_reason})"
        self._stopping = asyncio.get_running_loop().create_task(self.bot.close())

    def heard(self, kind: str, job_id: str) -> None:
        """An announcement from a process (see discomfy.core.jobs.leadership); on the leader."""
        if kind == "cancel":
            task = asyncio.create_task(self._cancel_here(job_id), name=f"cancel:{job_id}")
            self._cancels.add(task)  # held until done (the loop keeps only weak references)
            task.add_done_callback(self._cancels.discard)
        elif kind == "cancelled" and self.job_queue.cancel(job_id):
            self.generation.runs.forget(job_id)
        self.intake.wake()

    async def _cancel_here(self, job_id: str) -> None:
        job = await self.store.get(job_id)
        if job is not None and not job.is_final:
            await self.generation.cancel(job)

    def keep(self, task: asyncio.Task[Any]) -> None:
        """Own a background task: it is cancelled when the bot closes."""
        self._background.append(task)

    async def close(self) -> None:
        self.job_queue.close()
        running = [*self._background, *self._cancels, *self.generation.runs.tasks().values()]
        for task in running:
            task.cancel()
        await asyncio.gather(*running, return_exceptions=True)
        self._background.clear()
        await self.servers.close()
        await self.leadership.close()  # after the runs: a successor re-attaches to what they left
        await self.store.close()

    async def queue_view(self) -> tuple[int, list[tuple[str, int]]]:
        """How many jobs wait, and ``(job id, user id)`` of those running, for /status: this
        process's queue where it schedules, else the store's (another process's queue)."""
        if self.leadership.is_leader:
            snapshot = self.job_queue.snapshot()
            return len(snapshot.pending), [(j.job_id, int(j.user_id)) for j in snapshot.running]
        jobs = await self.store.unfinished()
        running = [(j.id, j.user_id) for j in jobs if j.state is JobState.RUNNING]
        return sum(1 for j in jobs if j.state is JobState.QUEUED), running

    # --- accepting and cancelling, here or for the scheduling process -----------------------

    async def admit(self, job: Any, *, servers: list[str], models: frozenset[str]) -> None:
        """Store a new job and queue it: in this process's queue, or with a shared store
        admitted by the store, for the scheduler to take in once it is announced."""
        if self.admission is not None:
            await self.store.add(job, admission=self.admission)
            return
        await self.store.add(job)
        try:
            self.job_queue.submit(job.id, job.user_id, servers=servers, models=models)
        except Exception:
            # the refusal is the user's answer: the job ends without a delivery of its own
            await self.store.finish(job.id, "cancelled", intent=None, error_message="refused by the queue")
            raise

    async def announced(self, job_id: str) -> None:
        """The user was told the job is queued: with a shared store, hand it to the scheduler
        (what this process held about it is let go; the scheduler reads the store)."""
        if not self.leadership.shared:
            return
        editor = self.generation.runs.editor_of(job_id)
        if editor is not None:
            await editor.stop()
        self.generation.runs.forget(job_id)
        try:
            await self.leadership.announce("queued", job_id)
        except Exception as exc:  # noqa: BLE001 - the scheduler's poll finds it anyway
            log.warning("job %s: could not announce it (%s); the scheduler's poll will find it", job_id, exc)

    async def cancel(self, job: Any) -> bool:
        """Cancel a waiting or running job, wherever it waits or runs; False when too late."""
        if await self.generation.cancel(job):
            return True
        current = await self.store.get(job.id) if self.leadership.shared else None
        if current is None or current.is_final or current.delivery_intent is not None:
            return False
        if current.state is JobState.RUNNING:  # on the scheduler: it interrupts it there
            await self.leadership.announce("cancel", job.id)
            return True
        await deliver_failure(self.bot, current, CANCELLED, state="cancelled")
        ended = await self.store.get(job.id)
        if ended is None or ended.state is not JobState.CANCELLED:
            return False
        await self.leadership.announce("cancelled", job.id)
        return True

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
