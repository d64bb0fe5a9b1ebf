"""One simulated hour: the bot's scheduler serving a planned workload on simulated GPUs.

What runs is the bot's, not a copy: ``FairQueue`` with the policy under test, ``ServerPool``
(its health checks every 15 s, its routing: each job is queued with the servers
``check_choices`` finds able to run it, as ``GenerationFlow`` does) and the dispatch loop
``JobRunner.dispatch``, called with a stand-in for the bot that hands each job to a simulated
GPU instead of the generation flow. Users submit at their planned arrival, or, at the per-user
cap (3, the shipped default), as soon as one of their jobs ends.
"""

from __future__ import annotations

import asyncio
from collections import defaultdict
from dataclasses import dataclass, field
from types import SimpleNamespace

from _sched_figures import KINDS, SERVERS, Kind
from _sched_world import PlannedJob, SimClient, SimGPU, graph

from discomfy.bot.job_runner import JobRunner
from discomfy.core.comfyui.workflows.manifest import WorkflowSpec
from discomfy.core.jobs.queue import FairQueue
from discomfy.core.scheduling import models_of
from discomfy.core.scheduling.policy import SchedulingPolicy
from discomfy.core.servers.pool import Server, ServerPool
from discomfy.testing.fake_comfyui.sim_clock import loop_clock, run_simulated

PER_USER_CAP = 3  # limits.max_queued_per_user, shipped default
HEALTH_INTERVAL = 15.0  # comfyui.health_interval, shipped default


@dataclass
class Outcome:
    kind: str
    user: int
    arrival: float
    submitted: float = 0.0
    started: float = 0.0
    ended: float = 0.0
    server: str = ""
    loaded: bool = False

    @property
    def wait(self) -> float:
        """Seconds from when the user asked (the planned arrival) until a server started the
        job. Not from ``submitted``: a user at the per-user cap submits when an earlier job
        ends, so under a faster policy the same job enters the queue earlier and waits there
        longer while the user waits less; job by job, only the arrival is the same moment in
        both runs. The cap itself is the bot's (3 per user) in both."""
        return self.started - self.arrival


@dataclass
class Run:
    label: str
    outcomes: dict[int, Outcome] = field(default_factory=dict)
    loads: int = 0
    load_seconds: float = 0.0
    makespan: float = 0.0


def spec_for(kind: Kind) -> WorkflowSpec:
    """A workflow spec with the kind's graph as its template, so routing checks its model file."""
    return WorkflowSpec(name=kind.name, plugin="bench", command=kind.name, description="", model=kind.name,
                        model_description="", schema={}, bindings={}, strategies=(), strategy_options={},
                        outputs=("2",), model_inputs=(f"{kind.loader}.{kind.input}",), extra_node_classes=(),
                        _template=graph(kind, 0))


class _Flow:
    """Stands in for the bot's ``GenerationFlow`` (``runs.start`` and ``process``): the job
    runs on the server's simulated GPU, then is released as the flow releases it."""

    def __init__(self, queue: FairQueue, gpus: dict[str, SimGPU], jobs: dict[str, PlannedJob], run: Run,
                 ended: dict[int, asyncio.Event], all_done: asyncio.Event) -> None:
        self.queue, self.gpus, self.jobs, self.run, self.ended, self.all_done = queue, gpus, jobs, run, ended, all_done
        self.runs = self
        self.tasks: set[asyncio.Task] = set()

    def start(self, job_id: str, coro) -> None:
        task = asyncio.get_running_loop().create_task(coro)
        self.tasks.add(task)
        task.add_done_callback(self.tasks.discard)

    async def process(self, job_id: str, server: Server) -> None:
        loop = asyncio.get_running_loop()
        job = self.jobs[job_id]
        outcome = self.run.outcomes[job.index]
        outcome.started, outcome.server = loop.time(), server.name
        try:
            outcome.loaded = await self.gpus[server.name].run(job.kind, job.seconds)
        finally:
            outcome.ended = loop.time()
            self.queue.release(job_id)
            self.ended[job.user].set()
            if len(self.run.outcomes) == len(self.jobs) and all(o.ended for o in self.run.outcomes.values()):
                self.all_done.set()


async def simulate(label: str, policy: SchedulingPolicy, jobs: list[PlannedJob]) -> Run:
    loop = asyncio.get_running_loop()
    run = Run(label)
    gpus = {f"gpu{i + 1}": SimGPU() for i in range(SERVERS)}
    queue = FairQueue(max_per_user=PER_USER_CAP, clock=loop_clock(), policy=policy)
    pool = ServerPool([Server(name, f"sim://{name}", SimClient(gpu)) for name, gpu in gpus.items()],
                      health_interval=HEALTH_INTERVAL, job_queue=queue)
    await pool.start()
    watcher = loop.create_task(pool.watch())
    all_done = asyncio.Event()
    ended: dict[int, asyncio.Event] = defaultdict(asyncio.Event)
    flow = _Flow(queue, gpus, {str(j.index): j for j in jobs}, run, ended, all_done)
    bot = SimpleNamespace(job_queue=queue, generation=flow)
    dispatchers = [loop.create_task(JobRunner.dispatch(bot, server)) for server in pool]
    specs = {name: spec_for(kind) for name, kind in KINDS.items()}

    async def user(index: int, own: list[PlannedJob]) -> None:
        for job in own:
            await asyncio.sleep(max(0.0, job.arrival - loop.time()))
            while queue.active_count(index) >= PER_USER_CAP:
                ended[index].clear()
                await ended[index].wait()
            servers = [s.name for s in await pool.check_choices(specs[job.kind.name], {})]
            run.outcomes[job.index] = Outcome(job.kind.name, index, job.arrival, submitted=loop.time())
            queue.submit(str(job.index), index, servers=servers, models=models_of(graph(job.kind, job.index)))

    per_user: dict[int, list[PlannedJob]] = defaultdict(list)
    for job in jobs:
        per_user[job.user].append(job)
    await asyncio.gather(*(user(u, own) for u, own in per_user.items()))
    await all_done.wait()
    run.makespan = max(o.ended for o in run.outcomes.values())
    queue.close()
    watcher.cancel()
    await asyncio.gather(*dispatchers, watcher, return_exceptions=True)
    await pool.close()
    run.loads = sum(g.loads for g in gpus.values())
    run.load_seconds = sum(g.load_seconds for g in gpus.values())
    return run


def replay(label: str, make_policy, jobs: list[PlannedJob]) -> Run:
    """``simulate`` on a fresh simulated clock starting at 0."""
    return run_simulated(lambda: simulate(label, make_policy(), jobs))


__all__ = ["Outcome", "Run", "replay", "simulate", "spec_for"]
