"""Each rule of ``ModelAffinity.pick`` on its own (issue 26).

``pick`` starts the job strict turns give the server unless (1) that job needs a load and
(2) the load is worth avoiding; then a held job may go first only if (3) strict turns from then
on still start every waiting job in time, (4) counting the job going first as overrunning its
estimate, (5) with a margin that grows with how far ahead a start lies, and (6) none at all while strict
turns would start some other job past its deadline already (the brake), and (7) not past a
job twice already. A promise never grows
(``test_scheduling_promises.py``). Each test builds a queue
where exactly one rule decides, so it fails when that rule alone is removed (checked by
deleting each from ``affinity.py`` / ``aging.py``). Deadlines are set by hand where the test is
about the check, not the promise (``test_scheduling_promises.py`` covers the promise).
Simulated clock, no sleeps in real time.
"""

from __future__ import annotations

import asyncio

from discomfy.core.jobs.queue import FairQueue
from discomfy.core.scheduling import ModelAffinity
from discomfy.core.scheduling.aging import AgingBound
from discomfy.testing.fake_comfyui.sim_clock import loop_clock, run_simulated

FLUX, QWEN = frozenset({"flux.safetensors"}), frozenset({"qwen.safetensors"})
UPSCALER = frozenset({"4x_upscaler.pth"})
GB = 2**30


def _queue(**durations: float) -> tuple[FairQueue, ModelAffinity]:
    """One server, gpu1, holding FLUX; FLUX runs 20 s, Qwen 30 s, both load in 15 s."""
    policy = ModelAffinity(servers=("gpu1",), confirm_vram=False)
    learnt = policy.aging.durations
    learnt.by_kind.update({FLUX: 20.0, QWEN: 30.0, UPSCALER: 3.0})
    learnt.load = learnt.loads[FLUX] = learnt.loads[QWEN] = 15.0
    learnt.loads[UPSCALER] = durations.get("upscaler_load", 1.0)
    queue = FairQueue(max_per_user=3, clock=loop_clock(), policy=policy)
    policy.holdings.ran("gpu1", FLUX, 0.0)
    return queue, policy


def _alice_has_the_turn_gpu1_holds_flux_and_the_upscaler(queue: FairQueue, policy: ModelAffinity) -> None:
    """Alice's Qwen job (a 15 s load) has the turn; gpu1 holds FLUX and the upscaler, so bob's
    FLUX job and carol's upscale are held jobs that could go first."""
    policy.holdings.sizes.update({"flux.safetensors": 17 * GB, "4x_upscaler.pth": GB // 10})
    policy.holdings.confirm("gpu1", {"devices": [{"type": "cuda", "vram_total": 32 * GB, "vram_free": 15 * GB}]})
    policy.holdings.ran("gpu1", UPSCALER, 0.0)
    queue.submit("a-qwen", "alice", models=QWEN)
    queue.submit("b-flux", "bob", models=FLUX)
    queue.submit("c-up", "carol", models=UPSCALER)


def _deadlines(policy: ModelAffinity, **by_job: float) -> None:
    """Promise each named job a start by ``now + seconds`` (others: far off)."""
    now = policy.now()
    policy.deadline = lambda job, _now: now + by_job.get(job.job_id.replace("-", "_"), 10_000.0)


def test_a_held_job_does_not_pass_the_job_strict_turns_give_when_that_needs_no_load():
    """gpu1 holds FLUX and the upscaler. Alice's FLUX job has the turn; bob's upscale, held
    too, is shorter and would rank first. No load is saved by passing alice, so she starts."""

    async def main():
        queue, policy = _queue()
        policy.holdings.sizes.update({"flux.safetensors": 17 * GB, "4x_upscaler.pth": GB // 10})
        policy.holdings.confirm("gpu1", {"devices": [{"type": "cuda", "vram_total": 32 * GB, "vram_free": 15 * GB}]})
        policy.holdings.ran("gpu1", UPSCALER, 0.0)
        assert policy.holdings.holds("gpu1", FLUX) and policy.holdings.holds("gpu1", UPSCALER)
        queue.submit("a-flux", "alice", models=FLUX)
        queue.submit("b-up", "bob", models=UPSCALER)
        assert policy.priority(queue.snapshot().pending[1], policy.now()) > policy.priority(queue.snapshot().pending[0], policy.now())
        assert (await queue.next("gpu1")).job_id == "a-flux"

    run_simulated(main)


def test_a_load_too_quick_to_matter_is_not_worth_passing_anyone():
    """Alice's upscale has the turn and needs a load, but the upscaler loads in 1 s: bob's
    held FLUX job does not pass her. With a 12 s load it would, and with one of 5 s (a load
    of ``WORTH_PASSING`` s or more is worth it)."""

    async def main():
        for load, first in ((1.0, "a-up"), (12.0, "b-flux"), (5.0, "b-flux")):
            queue, policy = _queue(upscaler_load=load)
            queue.submit("a-up", "alice", models=UPSCALER)
            queue.submit("b-flux", "bob", models=FLUX)
            assert (await queue.next("gpu1")).job_id == first, load

    run_simulated(main)


def test_a_held_job_does_not_go_first_when_strict_turns_would_then_start_a_job_past_its_deadline():
    """Alice's Qwen job has the turn (a 15 s load); bob's FLUX job is held. Bob first, alice
    starts after his 20 s (26 s assumed): in time for a deadline 60 s away, too late for one
    30 s away — then alice starts."""

    async def main():
        for deadline, first in ((60.0, "b-flux"), (30.0, "a-qwen")):
            queue, policy = _queue()
            queue.submit("a-qwen", "alice", models=QWEN)
            queue.submit("b-flux", "bob", models=FLUX)
            _deadlines(policy, a_qwen=deadline)
            assert (await queue.next("gpu1")).job_id == first, deadline

    run_simulated(main)


def test_the_job_going_out_of_turn_is_assumed_to_overrun_its_estimate():
    """Bob's FLUX job usually takes 20 s, but one can take 30 % longer. Alice's deadline, 35 s
    away, holds if bob takes 20 s (start 20 + margin 10 + 2 = 32) but not if he takes 26 s
    (26 + 10 + 2.6 = 38.6): alice starts."""

    async def main():
        queue, policy = _queue()
        queue.submit("a-qwen", "alice", models=QWEN)
        queue.submit("b-flux", "bob", models=FLUX)
        _deadlines(policy, a_qwen=35.0)
        assert (await queue.next("gpu1")).job_id == "a-qwen"

    run_simulated(main)


def test_a_projected_start_keeps_a_margin_that_grows_with_how_far_ahead_it_lies():
    bound = AgingBound()
    assert bound.keeps(start=0.0, deadline=10.0, now=0.0)
    assert not bound.keeps(start=0.0, deadline=9.0, now=0.0)  # 10 s before the deadline, at least
    assert bound.keeps(start=100.0, deadline=120.0, now=0.0)
    assert not bound.keeps(start=100.0, deadline=115.0, now=0.0)  # and a tenth of 100 s ahead


def test_a_job_strict_turns_would_start_late_anyway_stops_every_pass_even_one_that_would_not_delay_it():
    """The brake. Alice's Qwen job has the turn; bob's and carol's FLUX jobs are held. Strict
    turns: alice (15 s load + 30 s), then bob (a FLUX load again: 15 + 20 s), carol at 80 s.
    Bob first would start alice at 26 s, carol at 71 s — earlier than strict turns, and in time
    for a deadline 90 s away. But under strict turns that deadline is at risk already (80 s
    leaves less than the margin): the projections were wrong once, so the server keeps to
    strict turns until she has started. With her deadline 120 s away, bob goes first.
    Bob's own deadline, at risk under strict turns too, does not stop him: going first only
    helps him."""

    async def main():
        for carol, first in ((90.0, "a-qwen"), (120.0, "b-flux")):
            queue, policy = _queue()
            queue.submit("a-qwen", "alice", models=QWEN)
            queue.submit("b-flux", "bob", models=FLUX)
            queue.submit("c-flux", "carol", models=FLUX)
            _deadlines(policy, a_qwen=60.0, b_flux=20.0, c_flux=carol)
            assert (await queue.next("gpu1")).job_id == first, carol

    run_simulated(main)


def test_a_job_passed_twice_starts_at_its_next_turn_however_far_off_its_deadline():
    """Alice's Qwen job has the turn (a 15 s load) and a deadline far off; bob, carol and dave
    wait with held FLUX jobs. Bob passes her, then carol; at the third free slot alice starts,
    though dave's FLUX job would still fit within every promise."""

    async def main():
        queue, policy = _queue()
        queue.submit("a-qwen", "alice", models=QWEN)
        for user in ("bob", "carol", "dave"):
            queue.submit(f"{user[0]}-flux", user, models=FLUX)
        _deadlines(policy)
        order = []
        for _ in range(3):
            job = await queue.next("gpu1")
            order.append(job.job_id)
            queue.release(job.job_id)
        assert order == ["b-flux", "c-flux", "a-qwen"]

    run_simulated(main)


def test_a_free_server_leaves_a_job_to_another_free_server_that_holds_its_models():
    """gpu1 holds FLUX, gpu2 Qwen, both free. gpu2 is asked first: alice's FLUX job has the
    turn, and gpu1 takes it now, so gpu2 starts bob's Qwen job instead of loading FLUX — even
    with a FLUX load too quick to be worth passing anyone for."""

    async def main():
        policy = ModelAffinity(servers=("gpu1", "gpu2"), confirm_vram=False)
        policy.aging.durations.by_kind.update({FLUX: 20.0, QWEN: 30.0})
        policy.aging.durations.loads.update({FLUX: 2.0, QWEN: 2.0})
        queue = FairQueue(max_per_user=3, clock=loop_clock(), policy=policy)
        policy.holdings.ran("gpu1", FLUX, 0.0)
        policy.holdings.ran("gpu2", QWEN, 0.0)
        queue.submit("a-flux", "alice", models=FLUX)
        queue.submit("b-qwen", "bob", models=QWEN)
        assert (await queue.next("gpu2")).job_id == "b-qwen"
        assert (await queue.next("gpu1")).job_id == "a-flux"

    run_simulated(main)


def test_of_the_held_jobs_that_may_go_first_the_shortest_goes():
    """Alice's Qwen job has the turn (a 15 s load). gpu1 holds FLUX and the upscaler: bob's
    FLUX job and carol's upscale may both go first; the upscale (3 s) goes, bob's 20 s would
    keep alice waiting longer for the same load saved."""

    async def main():
        queue, policy = _queue()
        _alice_has_the_turn_gpu1_holds_flux_and_the_upscaler(queue, policy)
        assert (await queue.next("gpu1")).job_id == "c-up"

    run_simulated(main)
