"""What ``model_affinity`` keeps about jobs and servers, and what it learns from them.

The configured floor of every promise; round-robin's promise replayed on each server's own
number of slots and with the per-user cap; the load a job's server had to do learnt apart from
its run; a requeued job's promise kept from its submission; and no record of a job kept once it
left the queue (a bot runs for weeks). Written for the survivors of ``__init__``, ``_slots``,
``started``, ``finished``, ``forget``, ``deadline`` and ``in_time`` in docs/mutation.md.
Simulated clock, no sleeps in real time.
"""

from __future__ import annotations

import asyncio

import pytest

from discomfy.core.jobs.queue import FairQueue
from discomfy.core.scheduling import ModelAffinity
from discomfy.testing.fake_comfyui.sim_clock import loop_clock, run_simulated

FLUX, QWEN = frozenset({"flux.safetensors"}), frozenset({"qwen.safetensors"})


def _queue(servers: tuple[str, ...] = ("gpu1",), **queue_options) -> tuple[FairQueue, ModelAffinity]:
    """FLUX runs 20 s, Qwen 33 s, each loads in 15 s; gpu1 holds FLUX."""
    policy = ModelAffinity(servers=servers, confirm_vram=False)
    learnt = policy.aging.durations
    learnt.by_kind.update({FLUX: 20.0, QWEN: 33.0})
    learnt.load = learnt.loads[FLUX] = learnt.loads[QWEN] = 15.0
    queue = FairQueue(clock=loop_clock(), policy=policy, **{"max_per_user": 3, **queue_options})
    policy.holdings.ran("gpu1", FLUX, 0.0)
    return queue, policy


def test_the_configured_floor_is_the_shortest_promise():
    async def main():
        queue = FairQueue(clock=loop_clock(), policy=ModelAffinity(servers=("gpu1",), aging_floor=30.0))
        queue.submit("j1", "alice", models=FLUX)
        job = queue.snapshot().pending[0]
        return queue.policy.deadline(job, queue.now()) - job.submitted_at

    assert run_simulated(main) == 30.0


def test_round_robins_promise_runs_as_many_jobs_at_once_as_each_server_may():
    """gpu1 may run two jobs at once (the default is one): round-robin starts the first two
    FLUX jobs at once (the first loads FLUX, the second uses it), the third when the second
    ends, after its 20 s run."""

    async def main():
        queue, policy = _queue(server_limits={"gpu1": 2})
        for n in range(3):
            queue.submit(f"j{n}", f"user{n}", models=FLUX)
        return [policy.shadow.wait(f"j{n}", policy.now()) for n in range(3)]

    assert run_simulated(main) == [0.0, 0.0, 20.0]


def test_round_robins_promise_keeps_the_per_user_cap():
    """One job per user. Alice's FLUX job passed bob's Qwen job for real and ended at 20 s;
    round-robin would have run bob's first (0-48 s) and hers at 48-83 s. Alice's next job, at
    20 s, waits outside round-robin's queue until her first ended there, at 83 s. Carol, who
    comes at 60 s, is promised round-robin's next start, 83 s (a wait of 23 s), not the one
    after alice's second job."""

    async def main():
        queue, policy = _queue(max_per_user=1)
        queue.submit("b-qwen", "bob", models=QWEN)
        queue.submit("a-flux", "alice", models=FLUX)
        assert (await queue.next("gpu1", timeout=1)).job_id == "a-flux"
        await asyncio.sleep(20)
        queue.release("a-flux")
        queue.submit("a-flux-2", "alice", models=FLUX)
        await asyncio.sleep(40)
        queue.submit("c-flux", "carol", models=FLUX)
        return policy.shadow.wait("c-flux", policy.now())

    assert run_simulated(main) == pytest.approx(23.0)


def test_a_job_whose_server_had_to_load_its_models_teaches_the_load_apart_from_the_run():
    """gpu1 held nothing: alice's FLUX job took 35 s, 15 s more than FLUX runs. That is
    learnt as FLUX's load, and FLUX's run stays 20 s. (No pool here: nothing to confirm the
    server's VRAM with, and the policy does not try.)"""

    async def main():
        policy = ModelAffinity(servers=("gpu1",))
        policy.aging.durations.by_kind[FLUX] = 20.0
        queue = FairQueue(clock=loop_clock(), policy=policy)
        queue.submit("a-flux", "alice", models=FLUX)
        await queue.next("gpu1", timeout=1)
        await asyncio.sleep(35)
        queue.release("a-flux")
        return policy.aging.durations.estimate(FLUX), policy.aging.durations.load_time(FLUX)

    assert run_simulated(main) == (20.0, 15.0)


def test_a_requeued_job_keeps_the_promise_made_when_it_was_submitted():
    """Alice's Qwen job started on gpu2 at 0 s; at 50 s gpu2 died and the job went back to
    the head of the queue, for gpu1 only. Her promise (60 s from her submission) is nearly
    due: bob's held FLUX job would start her at 76 s, so it does not pass her."""

    async def main():
        queue, policy = _queue(("gpu1", "gpu2"))
        queue.submit("a-qwen", "alice", models=QWEN)
        assert (await queue.next("gpu2", timeout=1)).job_id == "a-qwen"
        await asyncio.sleep(50)
        queue.requeue("a-qwen", servers=["gpu1"])
        queue.submit("b-flux", "bob", models=FLUX)
        return (await queue.next("gpu1", timeout=1)).job_id

    assert run_simulated(main) == "a-qwen"


def test_the_policy_keeps_no_record_of_a_job_once_it_left_the_queue():
    """Bob's FLUX job passes alice's Qwen job (her first pass), then she cancels; carol's
    FLUX job starts in turn, erin's passes dave's Qwen job, then dave's starts. Once every
    job ended, the policy holds nothing about any of them: no promise, no pass count, no load
    flag, no round-robin submission."""

    async def main():
        queue, policy = _queue()
        for job_id, user, models in (("a-qwen", "alice", QWEN), ("b-flux", "bob", FLUX), ("c-flux", "carol", FLUX),
                                     ("d-qwen", "dave", QWEN), ("e-flux", "erin", FLUX)):
            queue.submit(job_id, user, models=models)
        order = [(await queue.next("gpu1", timeout=1)).job_id]
        queue.cancel("a-qwen")
        for _ in range(3):
            queue.release(order[-1])
            order.append((await queue.next("gpu1", timeout=1)).job_id)
        queue.release(order[-1])
        records = {"promises": dict(policy._lowest_wait), "passes": +policy._passes, "loads": dict(policy._loaded),
                   "round-robin": dict(policy.shadow._submitted)}
        return order, records

    order, records = run_simulated(main)
    assert order == ["b-flux", "c-flux", "e-flux", "d-qwen"]
    assert records == {"promises": {}, "passes": {}, "loads": {}, "round-robin": {}}
