"""Each aging check of ``ModelAffinity.pick`` on its own (issue 26).

``pick`` lets a preferred job go first only if both checks pass: ``may_pass`` (every job it
passes in serving order still starts before its deadline *on this server*) and ``feasible``
(every waiting job, taken in deadline order by all servers as they free up, still could).
Issue 26 found that either check could be deleted without a test failing. Each test below
builds a queue where exactly one check refuses, so it fails when that check alone is removed
(checked by deleting each from ``affinity.py``). Deadlines are set by hand: the tests are about
the checks, not about how deadlines are estimated. Simulated clock, no sleeps in real time.
"""

from __future__ import annotations

import asyncio

from discomfy.core.jobs.queue import FairQueue
from discomfy.core.scheduling import ModelAffinity
from discomfy.testing.fake_comfyui.sim_clock import loop_clock, run_simulated

FLUX, QWEN = frozenset({"flux.safetensors"}), frozenset({"qwen.safetensors"})


def _queue(servers: tuple[str, ...]) -> tuple[FairQueue, ModelAffinity]:
    policy = ModelAffinity(servers=servers, confirm_vram=False)
    durations = policy.aging.durations
    durations.by_kind.update({FLUX: 20.0, QWEN: 30.0})  # as if learnt
    durations.load = durations.loads[FLUX] = durations.loads[QWEN] = 15.0
    return FairQueue(max_per_user=3, clock=loop_clock(), policy=policy), policy


def test_a_hit_may_not_pass_a_job_whose_deadline_it_would_break_here_though_another_server_frees_in_time():
    """gpu1 holds FLUX; gpu2 is about to finish. Bob's FLUX job (a hit) would pass alice's
    Qwen job, due in 35 s, and end in up to 30 s: too late for alice on gpu1. ``feasible``
    alone says yes (gpu2 frees in 2 s and could take alice); ``may_pass`` says no, because
    gpu2's end is only an estimate. Without ``may_pass`` gpu1 starts bob's job."""

    async def main():
        loop = asyncio.get_running_loop()
        queue, policy = _queue(("gpu1", "gpu2"))
        policy.holdings.ran("gpu1", FLUX, loop.time())
        policy.holdings.ran("gpu2", FLUX, loop.time())
        queue.submit("busy", "u0", models=FLUX)
        assert (await queue.next("gpu2")).job_id == "busy"
        await asyncio.sleep(18)  # gpu2's FLUX job has ~2 s left
        queue.submit("a-qwen", "alice", models=QWEN)
        queue.submit("b-flux", "bob", models=FLUX)
        policy.aging.deadlines["a-qwen"] = loop.time() + 35
        free_at = policy._free_times("gpu1", loop.time() + 30, queue.snapshot().running)
        assert policy.aging.feasible([queue.snapshot().pending[0]], free_at, loop.time())  # feasible alone allows it
        assert (await queue.next("gpu1")).job_id == "a-qwen"

    run_simulated(main)


def test_a_hit_may_not_go_first_when_a_job_behind_it_could_then_no_longer_start_in_time():
    """One server holding FLUX. In serving order: alice's Qwen job (deadline far off), bob's
    FLUX job (a hit), carol's Qwen job (due in 38 s). Bob passes only alice, who can wait, so
    ``may_pass`` allows it; but after bob's job (up to 30 s) carol could no longer start 10 s
    before her deadline, which only ``feasible`` sees. Without it, gpu1 starts bob's job."""

    async def main():
        loop = asyncio.get_running_loop()
        queue, policy = _queue(("gpu1",))
        policy.holdings.ran("gpu1", FLUX, loop.time())
        queue.submit("a-qwen", "alice", models=QWEN)
        queue.submit("b-flux", "bob", models=FLUX)
        queue.submit("c-qwen", "carol", models=QWEN)
        now = loop.time()
        policy.aging.deadlines.update({"a-qwen": now + 200, "c-qwen": now + 38})
        pending = queue.snapshot().pending
        assert policy.aging.may_pass(pending[:1], pending[1], now)  # may_pass alone allows it
        assert (await queue.next("gpu1")).job_id == "c-qwen"

    run_simulated(main)


def test_a_kind_never_seen_does_not_loosen_the_promise_of_the_jobs_behind_it():
    """The promise (deadline) is ``factor`` x the estimated round-robin wait. A kind never
    seen is guessed long (120 s or more) when deciding who may go first, but counted as the
    shortest kind seen when promising: issue 26 measured early jobs promised 2 x 160 s that
    round-robin served in 40 s."""
    from discomfy.core.jobs.queued import QueuedJob
    from discomfy.core.scheduling.aging import AgingBound

    bound = AgingBound(factor=2.0, floor=0.0)
    bound.durations.record(FLUX, 20.0)
    ahead = [QueuedJob("new-kind", "alice", 0.0, models=frozenset({"wan.safetensors"})),
             QueuedJob("flux", "bob", 0.0, models=FLUX)]
    job = QueuedJob("mine", "carol", 0.0, models=FLUX)
    assert bound.assign(job, ahead, [], servers=1, now=0.0) == 2.0 * (20.0 + 20.0)
    assert bound.durations.estimate(frozenset({"wan.safetensors"})) >= 120.0  # still long for passing
