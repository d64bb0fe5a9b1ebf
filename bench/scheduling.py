"""Issue 15: what each scheduling policy costs in GPU time, on simulated servers.

The bot's own routing and queue code (``ServerPool`` with its health checks, ``FairQueue``
with the policy ``comfyui.scheduling`` names, the job flow ``core.execution.execute`` over
``ComfyUIClient``) runs against three fake ComfyUI servers with the cost model on, on a
simulated clock: hours of GPU time take about a minute. Each server's dispatcher is the
bot's (``next`` -> run -> ``release``). The workload is in ``_scheduling_workload``.

    .venv/bin/python bench/scheduling.py [--jobs 600] [--users 50] [--seed 15 [16 ...]] [--aging-factor 2]

Printed side by side per policy: model loads and GPU seconds spent loading, throughput,
idle gaps (a server between two prompts while jobs waited), wait p50/p95/max per job kind,
Jain's fairness index over users' mean slowdown, and the aging bound's figures; then issue
15's goals for ``model_affinity``, each marked met or MISSED. Nothing is asserted: the
figures are for the reader (and the README's table).
"""

from __future__ import annotations

import argparse
import asyncio
import logging
import statistics
import sys
import time
from collections import defaultdict
from dataclasses import dataclass, field
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from _scheduling_workload import CACHE_LRU, KINDS, MODEL_COSTS, SERVER_MEMORY_GB, PlannedJob, graph, plan  # noqa: E402

from discomfy.core.comfyui.client import ComfyUIClient  # noqa: E402
from discomfy.core.comfyui.workflows.rendered import RenderedWorkflow  # noqa: E402
from discomfy.core.jobs.execution import execute  # noqa: E402
from discomfy.core.jobs.queue import FairQueue, QueueClosedError  # noqa: E402
from discomfy.core.scheduling import LeastBusy, ModelAffinity, models_of  # noqa: E402
from discomfy.core.servers.pool import Server, ServerPool  # noqa: E402
from discomfy.testing.fake_comfyui import FakeComfyUI  # noqa: E402
from discomfy.testing.fake_comfyui.cost_model import CostModel  # noqa: E402
from discomfy.testing.fake_comfyui.sim_clock import loop_clock, run_simulated  # noqa: E402

SERVERS = 3
PER_USER_CAP = 3  # limits.max_queued_per_user (shipped default)
NETWORK_SECONDS = 0.02  # each HTTP request to ComfyUI takes this long (LAN round trip)


@dataclass
class Outcome:
    kind: str
    user: int
    submitted: float
    started: float = 0.0
    ended: float = 0.0
    deadline: float | None = None
    rr_estimate: float | None = None


@dataclass
class Run:
    label: str
    outcomes: dict[int, Outcome] = field(default_factory=dict)
    loads: int = 0
    load_seconds: float = 0.0
    gaps: list[float] = field(default_factory=list)
    makespan: float = 0.0
    real_seconds: float = 0.0


async def simulate(label: str, policy, jobs: list[PlannedJob]) -> Run:
    loop = asyncio.get_running_loop()
    run = Run(label)
    fakes = [FakeComfyUI(checkpoints=[k.model for k in KINDS if k.steps], models={"upscale_models": [k.model for k in KINDS if not k.steps]},
                         cost_model=CostModel(MODEL_COSTS, memory_gb=SERVER_MEMORY_GB, cache_lru=CACHE_LRU)) for _ in range(SERVERS)]
    queue = FairQueue(max_per_user=PER_USER_CAP, clock=loop_clock(), policy=policy)
    for fake in fakes:
        await fake.start()
        fake.slow_http(NETWORK_SECONDS)
        _time_prompts(fake, queue, run)
    servers = [Server(f"gpu{i + 1}", fake.url, ComfyUIClient(fake.url, client_id=f"bench-{i}")) for i, fake in enumerate(fakes)]
    pool = ServerPool(servers, health_interval=15.0, job_queue=queue)
    await pool.start()
    watcher = asyncio.create_task(pool.watch())
    done = asyncio.Event()
    by_id = {str(j.index): j for j in jobs}
    tasks: set[asyncio.Task] = set()
    user_done: dict[int, asyncio.Event] = defaultdict(asyncio.Event)

    async def run_job(queued, server: Server) -> None:
        job = by_id[queued.job_id]
        outcome = run.outcomes[job.index]
        outcome.started = loop.time()
        if isinstance(policy, ModelAffinity):
            outcome.deadline = policy.aging.deadlines.get(queued.job_id)
            outcome.rr_estimate = policy.aging.round_robin_estimate.get(queued.job_id)
        try:
            g = graph(job.kind, job.index)
            rendered = RenderedWorkflow(graph=g, seed=job.index, parameters={}, output_nodes=[max(g, key=int)])
            await execute(server.client, rendered, {}, deadline=24 * 3600)
        finally:
            outcome.ended = loop.time()
            queue.release(queued.job_id)
            user_done[job.user].set()
            if len(run.outcomes) == len(jobs) and all(o.ended for o in run.outcomes.values()):
                done.set()

    async def dispatch(server: Server) -> None:  # the bot's dispatcher (ComfyUIBot._dispatch)
        while True:
            try:
                queued = await queue.next(server.name)
            except QueueClosedError:
                return
            task = asyncio.create_task(run_job(queued, server))
            tasks.add(task)
            task.add_done_callback(tasks.discard)

    async def user(index: int, own: list[PlannedJob]) -> None:  # submits when under the cap
        for job in own:
            await asyncio.sleep(max(0.0, job.arrival - loop.time()))
            while queue.active_count(index) >= PER_USER_CAP:
                user_done[index].clear()
                await user_done[index].wait()
            g = graph(job.kind, job.index)
            run.outcomes[job.index] = Outcome(job.kind.name, index, loop.time())
            queue.submit(str(job.index), index, models=models_of(g))

    dispatchers = [asyncio.create_task(dispatch(s)) for s in servers]
    per_user: dict[int, list[PlannedJob]] = defaultdict(list)
    for job in jobs:
        per_user[job.user].append(job)
    users = [asyncio.create_task(user(u, own)) for u, own in per_user.items()]
    start_real = time.perf_counter()
    await asyncio.gather(*users)
    await done.wait()
    run.real_seconds = time.perf_counter() - start_real
    run.makespan = max(o.ended for o in run.outcomes.values())
    queue.close()
    watcher.cancel()
    await asyncio.gather(*dispatchers, watcher, return_exceptions=True)
    await pool.close()
    for fake in fakes:
        run.loads += fake.cost_model.ledger.loads
        run.load_seconds += fake.cost_model.ledger.load_seconds
        await fake.stop()
    return run


def _time_prompts(fake: FakeComfyUI, queue: FairQueue, run: Run) -> None:
    """Record each gap between two prompts on this server while our queue had jobs waiting
    (the worker is rebuilt by ``start``; wrapped from outside, nothing under discomfy/ changes)."""
    worker = fake.worker
    original = worker._execute
    last_end: list[float] = []

    async def timed(item) -> None:
        loop = asyncio.get_running_loop()
        if last_end and last_end[0] is not None:
            run.gaps.append(loop.time() - last_end[0])
        await original(item)
        last_end[:] = [loop.time() if len(queue) or worker.pending else None]

    worker._execute = timed


def _pct(values: list[float], q: float) -> float:
    values = sorted(values)
    return values[min(len(values) - 1, int(q * len(values)))] if values else 0.0


def jain(values: list[float]) -> float:
    return sum(values) ** 2 / (len(values) * sum(v * v for v in values)) if values else 1.0


def waits(run: Run, kind: str) -> list[float]:
    """Seconds each job of ``kind`` waited, queued until started."""
    return [o.started - o.submitted for o in run.outcomes.values() if o.kind == kind]


def fairness(run: Run) -> float:
    """Jain's index over users' mean slowdown (time in the system / the job's own GPU time)."""
    ideal = {k.name: k.seconds for k in KINDS}
    slowdown: dict[int, list[float]] = defaultdict(list)
    for o in run.outcomes.values():
        slowdown[o.user].append((o.ended - o.submitted) / ideal[o.kind])
    return jain([statistics.mean(v) for v in slowdown.values()])


def past_bound(run: Run) -> list[Outcome] | None:
    """Jobs that started after their aging deadline; None when the policy sets none."""
    bounded = [o for o in run.outcomes.values() if o.deadline is not None]
    return [o for o in bounded if o.started > o.deadline + 1e-6] if bounded else None


def figures(run: Run) -> dict[str, str]:
    outcomes = list(run.outcomes.values())
    rows = {
        "model loads": f"{run.loads}",
        "GPU-seconds loading": f"{run.load_seconds:.0f}",
        "throughput (jobs/sim. hour)": f"{len(outcomes) / (run.makespan / 3600):.0f}",
        "makespan (sim. s)": f"{run.makespan:.0f}",
        "idle gaps while jobs waited": f"{len([g for g in run.gaps if g > 1e-3])}",
        "  idle gap mean / total (s)": f"{statistics.mean(run.gaps) if run.gaps else 0:.3f} / {sum(run.gaps):.1f}",
    }
    for kind in KINDS:
        w = waits(run, kind.name)
        rows[f"wait {kind.name} p50/p95/max (s)"] = f"{_pct(w, .5):.0f} / {_pct(w, .95):.0f} / {max(w):.0f}"
    rows["Jain index (users' mean slowdown)"] = f"{fairness(run):.3f}"
    late = past_bound(run)
    if late is not None:
        bounded = [o for o in outcomes if o.deadline is not None]
        extra = max(o.started - o.submitted - (o.rr_estimate or 0.0) for o in bounded)
        rows["jobs past their aging bound"] = f"{len(late)}"
        rows["largest wait beyond est. RR wait (s)"] = f"{extra:.0f}"
        scaled = [(o.started - o.submitted) / o.rr_estimate for o in bounded if (o.rr_estimate or 0) >= 60]
        rows["largest wait / est. RR wait (est >= 60 s)"] = f"{max(scaled, default=0):.2f}"
    else:
        rows["jobs past their aging bound"] = "n/a (strict RR)"
        rows["largest wait beyond est. RR wait (s)"] = "n/a"
        rows["largest wait / est. RR wait (est >= 60 s)"] = "n/a"
    rows["real seconds to simulate"] = f"{run.real_seconds:.1f}"
    return rows


def goals(base: Run, best: Run) -> list[tuple[str, bool]]:
    """Issue 15's goals for ``model_affinity`` (``best``) against ``least_busy`` (``base``)."""
    p95 = {k.name: (_pct(waits(base, k.name), .95), _pct(waits(best, k.name), .95)) for k in KINDS}
    worse = [f"{kind} {a:.0f} > {b:.0f}" for kind, (b, a) in p95.items() if a > b]
    late = past_bound(best)  # None: no bound was kept, which does not meet the goal
    return [
        (f"model loads {base.loads / max(1, best.loads):.1f}x fewer (goal >= 3x)", base.loads >= 3 * best.loads),
        (f"throughput {base.makespan / best.makespan:.2f}x (goal >= 1.3x)", base.makespan >= 1.3 * best.makespan),
        ("p95 wait no worse for any job type" + (f" (worse: {', '.join(worse)})" if worse else ""), not worse),
        (f"Jain's index {fairness(best):.3f} (goal >= 0.9; round-robin {fairness(base):.3f})", fairness(best) >= 0.9),
        (f"jobs past their aging bound: {'n/a' if late is None else len(late)} (goal 0)", late == []),
    ]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--jobs", type=int, default=600)
    parser.add_argument("--users", type=int, default=50)
    parser.add_argument("--aging-factor", type=float, default=2.0)
    parser.add_argument("--seed", type=int, nargs="+", default=[15],
                        help="one or more seeds; each draws another workload of the same shape")
    args = parser.parse_args()
    logging.basicConfig(level=logging.ERROR)
    policies = [
        ("least_busy", lambda: LeastBusy()),
        ("model_affinity", lambda: ModelAffinity(aging_factor=args.aging_factor)),
        ("model_affinity+pipelining", lambda: ModelAffinity(aging_factor=args.aging_factor, pipelining=True)),
    ]
    met_everywhere = True
    for seed in args.seed:
        jobs = plan(args.jobs, args.users, seed=seed)
        runs = [run_simulated(lambda label=label, make=make: simulate(label, make(), jobs)) for label, make in policies]
        table = [figures(r) for r in runs]
        width = max(len(k) for k in table[0])
        print(f"seed {seed}: {len(jobs)} jobs, {args.users} users, {SERVERS} servers x {SERVER_MEMORY_GB:.0f} GB (--cache-lru {CACHE_LRU})")
        print(" | ".join([" " * width] + [f"{r.label:>26}" for r in runs]))
        for key in table[0]:
            print(" | ".join([f"{key:<{width}}"] + [f"{t[key]:>26}" for t in table]))
        print("\nmodel_affinity against least_busy:")
        for text, met in goals(runs[0], runs[1]):
            met_everywhere &= met
            print(f"  [{'met' if met else 'MISSED'}] {text}")
        print()
    if len(args.seed) > 1:
        print(f"all goals met on every seed: {'yes' if met_everywhere else 'no'}")


if __name__ == "__main__":
    main()
