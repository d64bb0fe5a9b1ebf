"""``model_affinity`` when servers are busy: when the jobs already running free their slots,
and which servers count at all.

Whether a held job may pass the job whose turn it is depends on when strict turns would start
that job, and that depends on when each server's running jobs end: their learnt run, their
load if the server was still loading their models, less what they have run already. A server
that is down or paused offers no slot at all. Each test sets one waiting job's promise (alice's
Qwen job, 20 or 30 s away) so that the decision turns on exactly that figure. Written for the
survivors of ``_free_slots`` in docs/mutation.md. Simulated clock, no sleeps in real time.
"""

from __future__ import annotations

import asyncio

import pytest

from discomfy.core.jobs.queue import FairQueue
from discomfy.core.scheduling import ModelAffinity
from discomfy.testing.fake_comfyui.sim_clock import loop_clock, run_simulated
from tests.core.test_scheduling_server_choice import _Pool

FLUX, QWEN = frozenset({"flux.safetensors"}), frozenset({"qwen.safetensors"})
SDXL = frozenset({"sdxl.safetensors"})


def _queue(servers: tuple[str, ...], **limits: int) -> tuple[FairQueue, ModelAffinity]:
    """FLUX and SDXL run 20 s, Qwen 30 s, each loads in 15 s; gpu1 holds FLUX."""
    policy = ModelAffinity(servers=servers, confirm_vram=False)
    learnt = policy.aging.durations
    learnt.by_kind.update({FLUX: 20.0, QWEN: 30.0, SDXL: 20.0})
    learnt.load = learnt.loads[FLUX] = learnt.loads[QWEN] = learnt.loads[SDXL] = 15.0
    queue = FairQueue(max_per_user=3, server_limits=limits, clock=loop_clock(), policy=policy)
    policy.holdings.ran("gpu1", FLUX, 0.0)
    return queue, policy


def _promise(policy: ModelAffinity, **seconds: float) -> None:
    """Promise alice's job a start ``seconds['alice']`` from now; every other job: far off."""
    now = policy.now()
    policy.deadline = lambda job, _now: now + (seconds["alice"] if job.user_id == "alice" else 10_000.0)


async def _alice_or_bob(queue: FairQueue, policy: ModelAffinity, alice_promise: float) -> str:
    """Alice's Qwen job has gpu1's turn (a 15 s load); bob's FLUX job is held there and would
    run 26 s (his 20 s, overrunning). Which one gpu1 starts."""
    queue.submit("a-qwen", "alice", models=QWEN)
    queue.submit("b-flux", "bob", models=FLUX)
    _promise(policy, alice=alice_promise)
    return (await queue.next("gpu1", timeout=5)).job_id


@pytest.mark.parametrize(("gpu2_held_sdxl", "first"), [(True, "b-flux"), (False, "a-qwen")])
def test_a_running_job_frees_its_server_when_its_run_and_any_load_still_under_way_end(gpu2_held_sdxl, first):
    """gpu2 started carol's SDXL job 15 s ago. If it held SDXL, the job ends in 5 s and alice
    can start there then, well within her promise 20 s away: bob goes first on gpu1. If gpu2
    had to load SDXL first, the job ends in 20 s (15 s load + 20 s run - 15 s): alice would
    start too late, so she starts now."""

    async def main():
        queue, policy = _queue(("gpu1", "gpu2"))
        if gpu2_held_sdxl:
            policy.holdings.ran("gpu2", SDXL, 0.0)
        await asyncio.sleep(5)  # a start after 0 s: its elapsed time is counted, not the clock's
        queue.submit("c-sdxl", "carol", models=SDXL)
        assert (await queue.next("gpu2", timeout=1)).job_id == "c-sdxl"
        await asyncio.sleep(15)
        return await _alice_or_bob(queue, policy, 20.0)

    assert run_simulated(main) == first


@pytest.mark.parametrize(("alice_promise", "first"), [(20.0, "a-qwen"), (30.0, "b-flux")])
def test_a_server_whose_limit_was_lowered_frees_a_slot_only_when_enough_of_its_jobs_ended(alice_promise, first):
    """gpu2 ran two SDXL jobs (ending 5 s and 13 s from the decision) when its limit was
    lowered to one: its one slot frees when both have ended, in 13 s. Alice could start there
    then: too late for a promise 20 s away (she starts now), in time for one 30 s away (bob
    goes first, she does not wait for his 26 s)."""

    async def main():
        queue, policy = _queue(("gpu1", "gpu2"), gpu2=2)
        policy.holdings.ran("gpu2", SDXL, 0.0)
        await asyncio.sleep(1)  # (a job started at the clock's 0 would count as just started)
        queue.submit("c-sdxl", "carol", models=SDXL)
        assert (await queue.next("gpu2", timeout=1)).job_id == "c-sdxl"
        await asyncio.sleep(8)
        queue.submit("d-sdxl", "dave", models=SDXL)
        assert (await queue.next("gpu2", timeout=1)).job_id == "d-sdxl"
        await asyncio.sleep(7)
        queue.set_server_limit("gpu2", 1)
        return await _alice_or_bob(queue, policy, alice_promise)

    assert run_simulated(main) == first


def test_a_server_running_jobs_on_some_of_its_slots_frees_the_others_now_and_the_rest_as_they_end():
    """gpu1 runs two jobs at once and has run carol's FLUX job for 8 s: one slot is free now
    (bob takes it), the other frees in 12 s, when alice could start: too late for her promise
    20 s away, so she starts now."""

    async def main():
        queue, policy = _queue(("gpu1",), gpu1=2)
        await asyncio.sleep(1)
        queue.submit("c-flux", "carol", models=FLUX)
        assert (await queue.next("gpu1", timeout=1)).job_id == "c-flux"
        await asyncio.sleep(8)
        return await _alice_or_bob(queue, policy, 20.0)

    assert run_simulated(main) == "a-qwen"


@pytest.mark.parametrize("gpu0", ["down", "paused"])
def test_a_server_that_is_down_or_paused_is_no_place_a_waiting_job_could_start(gpu0):
    """gpu0, first in the configuration, is down (failed its health check) or paused (its
    slots set to 0). Were it counted, alice could start there at once and bob would go first
    on gpu1; it is not, so on gpu1 she would start after bob's 26 s, too late for her promise
    30 s away: she starts now."""

    async def main():
        queue, policy = _queue(("gpu0", "gpu1"))
        policy.pool = _Pool("gpu0", "gpu1")
        if gpu0 == "down":
            policy.pool.servers["gpu0"].healthy = False
        else:
            queue.set_server_limit("gpu0", 0)
        return await _alice_or_bob(queue, policy, 30.0)

    assert run_simulated(main) == "a-qwen"
