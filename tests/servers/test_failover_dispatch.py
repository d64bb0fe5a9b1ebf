"""The whole loop the bot runs, minus Discord: routing, one dispatcher per server, the health
watch and Failover. A job running on a server that dies finishes on the other one."""

from __future__ import annotations

import asyncio
import contextlib

from discomfy.core.comfyui.events import Failed, Interrupted, Succeeded
from discomfy.core.servers.failover import Failover
from discomfy.core.jobs.queue import FairQueue, QueueClosedError

from .conftest import build_pool
from .test_routing import PARAMS, SLOW_GRAPH


class MiniBot:
    """What discomfy/bot does with the pool, reduced to queue + client calls."""

    def __init__(self, queue: FairQueue, pool) -> None:
        self.queue, self.pool = queue, pool
        self.tasks: dict[str, asyncio.Task] = {}
        self.started: dict[str, asyncio.Event] = {}
        self.outcomes: dict[str, tuple[str, str]] = {}
        self.finished = asyncio.Event()

    async def dispatch(self, server) -> None:
        with contextlib.suppress(QueueClosedError):
            while True:
                job = await self.queue.next(server.name)
                self.tasks[job.job_id] = asyncio.create_task(self.process(job.job_id, server))

    async def process(self, job_id: str, server) -> None:
        try:
            prompt_id = await server.client.queue_prompt(SLOW_GRAPH)
            self.started.setdefault(job_id, asyncio.Event()).set()
            async for event in server.client.follow(prompt_id, deadline=10):
                if isinstance(event, (Succeeded, Failed, Interrupted)):
                    self.outcomes[job_id] = (server.name, type(event).__name__)
        except Exception as exc:  # noqa: BLE001 - like the bot: every failure ends the job
            self.outcomes[job_id] = (server.name, f"error: {exc}")
        finally:
            self.queue.release(job_id)  # also when cancelled, like GenerationFlow.process
            if job_id in self.outcomes:
                self.finished.set()

    async def stop_run(self, job_id: str) -> None:
        task = self.tasks.get(job_id)
        if task is not None:
            task.cancel()
            await asyncio.gather(task, return_exceptions=True)


async def test_a_job_running_on_a_dying_server_is_finished_by_another(fakes, flux_spec):
    queue = FairQueue(max_per_user=3)
    pool = build_pool(fakes, ["gpu-a", "gpu-b"], job_queue=queue)
    await pool.start()
    bot = MiniBot(queue, pool)
    fakes["gpu-a"].simulate("ImageBlur", steps=1000, step_delay=0.02)  # gpu-a would take 20 s
    reports = []
    Failover(queue, pool, retry_running=True, stop_run=bot.stop_run).attach(on_report=reports.append)
    background = [asyncio.create_task(bot.dispatch(pool.get("gpu-a")))]
    try:
        eligible = await pool.check_choices(flux_spec, PARAMS)
        queue.submit("job-1", "alice", servers=[s.name for s in eligible])
        await asyncio.wait_for(bot.started.setdefault("job-1", asyncio.Event()).wait(), 5)
        background.append(asyncio.create_task(bot.dispatch(pool.get("gpu-b"))))
        background.append(asyncio.create_task(pool.watch(0.05)))

        await fakes["gpu-a"].stop()
        await asyncio.wait_for(bot.finished.wait(), 10)

        assert bot.outcomes == {"job-1": ("gpu-b", "Succeeded")}
        assert [(r.server, [a.job_id for a in r.retried]) for r in reports] == [("gpu-a", ["job-1"])]
        assert queue.snapshot().running == () and len(queue) == 0
        assert {row["name"]: row["healthy"] for row in pool.status()} == {"gpu-a": False, "gpu-b": True}
    finally:
        queue.close()
        for task in background + list(bot.tasks.values()):
            task.cancel()
        await asyncio.gather(*background, *bot.tasks.values(), return_exceptions=True)
        await pool.close()
