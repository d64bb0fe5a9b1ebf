"""What ``model_affinity`` promises each job, and the round-robin replay it is measured with (issue 26).

A job is promised a start within ``aging_factor`` x its round-robin wait (at least
``aging_floor`` s). The round-robin wait comes from a shadow that replays ``least_busy`` beside
the real queue (``shadow.py``) with the replay engine of ``round_robin.py``; the first test
holds that engine to the real fair queue, job by job. Simulated clock, no sleeps in real time.
"""

from __future__ import annotations

import asyncio
import random

import pytest

from discomfy.core.jobs.queue import FairQueue, QueueFullError
from discomfy.core.jobs.queued import QueuedJob
from discomfy.core.scheduling import LeastBusy, ModelAffinity, ModelHoldings
from discomfy.core.scheduling.aging import AgingBound
from discomfy.core.scheduling.round_robin import RoundRobinReplay
from discomfy.testing.fake_comfyui.sim_clock import loop_clock, run_simulated

FLUX, QWEN = frozenset({"flux.safetensors"}), frozenset({"qwen.safetensors"})
WAN = frozenset({"wan.safetensors"})
RUN = {FLUX: 20.0, QWEN: 33.0}
LOAD = 15.0


def _cost(job: QueuedJob, load: bool) -> float:
    return RUN[job.models] + (LOAD if load else 0.0)


@pytest.mark.parametrize("seed", [1, 2, 3])
@pytest.mark.parametrize("cap", [1, 3])
def test_the_replay_starts_every_job_when_the_fair_queue_with_least_busy_does(seed, cap):
    """Two servers, five users submitting 4-6 FLUX and Qwen jobs each at once, at most ``cap``
    in the queue per user (a user's next job comes when one of theirs ends). The real queue
    runs them (each server loads a job's model when its last job used another); the replay,
    given the same jobs, the cap and the same costs, must start each at the same second."""
    rng = random.Random(seed)
    jobs = [QueuedJob(f"u{u}-{n}", f"u{u}", 0.0, models=rng.choice([FLUX, QWEN]))
            for u in range(5) for n in range(rng.randint(4, 6))]

    async def real() -> dict[str, float]:
        loop = asyncio.get_running_loop()
        queue = FairQueue(max_per_user=cap, clock=loop_clock(), policy=LeastBusy(servers=["gpu1", "gpu2"]))
        starts: dict[str, float] = {}
        ended = asyncio.Event()

        async def server(name: str) -> None:
            held = None
            while len(starts) < len(jobs):
                job = await queue.next(name)
                starts[job.job_id] = loop.time()
                await asyncio.sleep(_cost(job, held != job.models))
                held = job.models
                queue.release(job.job_id)
                ended.set()

        async def users() -> None:
            waiting = list(jobs)
            while waiting:
                for job in list(waiting):
                    try:
                        queue.submit(job.job_id, job.user_id, models=job.models)
                        waiting.remove(job)
                    except QueueFullError:
                        pass  # at the cap: comes back when one of theirs ends
                ended.clear()
                if waiting:
                    await ended.wait()

        await asyncio.gather(users(), server("gpu1"), server("gpu2"))
        return starts

    expected = run_simulated(real)
    assert len(expected) == len(jobs)
    replays = {}
    for limit in (cap, None):
        replays[limit] = RoundRobinReplay({"gpu1": [0.0], "gpu2": [0.0]}, ModelHoldings(), _cost, cap=limit)
        for job in jobs:
            replays[limit].add(job)
        replays[limit].run()
    assert replays[cap].starts == pytest.approx(expected)
    if cap == 1:  # the cap changes the turns: a user comes back only when their job ended
        assert replays[None].starts != pytest.approx(expected)


def _affinity(*servers: str) -> tuple[FairQueue, ModelAffinity]:
    policy = ModelAffinity(servers=servers, confirm_vram=False)
    policy.aging.durations.by_kind.update(RUN)
    policy.aging.durations.load = policy.aging.durations.loads[FLUX] = policy.aging.durations.loads[QWEN] = LOAD
    return FairQueue(max_per_user=3, clock=loop_clock(), policy=policy), policy


def test_a_promise_is_the_planned_stretch_of_the_round_robin_wait_or_the_floor():
    """One server, four users' FLUX jobs at once: round-robin (whose server, like the real one
    when the bot started, holds nothing yet) loads FLUX and starts them at 0, 35, 55, 75 s. The
    promise is factor x that wait (at least the floor); the policy plans within 1.6x."""

    async def main():
        queue, policy = _affinity("gpu1")
        policy.holdings.ran("gpu1", FLUX, 0.0)
        for n in range(4):
            queue.submit(f"j{n}", f"user{n}", models=FLUX)
        now = policy.now()
        assert [policy.shadow.wait(f"j{n}", now) for n in range(4)] == [0.0, 35.0, 55.0, 75.0]
        assert policy.aging.planned == 1.6
        assert [policy.deadline(job, now) for job in queue.snapshot().pending] == pytest.approx([60.0, 60.0, 88.0, 120.0])

    run_simulated(main)


def test_round_robin_waits_are_measured_from_the_shadow_not_from_what_the_real_servers_did():
    """The real server ran bob's FLUX job first (a hit); round-robin would have started
    alice's Qwen job first (a load, 48 s) and bob's after it. Bob's promise follows the
    shadow's round-robin (48 s wait), not the real queue (0 s)."""

    async def main():
        queue, policy = _affinity("gpu1")
        policy.holdings.ran("gpu1", FLUX, 0.0)
        queue.submit("a-qwen", "alice", models=QWEN)
        queue.submit("b-flux", "bob", models=FLUX)
        assert (await queue.next("gpu1")).job_id == "b-flux"
        await asyncio.sleep(10)
        assert policy.shadow.replay.starts == {"a-qwen": 0.0}  # bob's no longer needed
        assert policy.shadow.wait("a-qwen", policy.now()) == 0.0
        queue.submit("c-flux", "carol", models=FLUX)
        # round-robin: alice 0-48 (load + run), bob 48-83 (FLUX loaded again), carol 83
        assert policy.shadow.wait("c-flux", policy.now()) == pytest.approx(83.0 - 10.0)

    run_simulated(main)


def test_a_kind_never_seen_does_not_loosen_the_promises_behind_it():
    """Alice's job is of a kind never seen (a video, perhaps). Deciding who may go first, it
    counts as long (120 s or more); in the shadow it counts as the shortest kind seen (20 s,
    after the quickest load seen, 15 s), so bob behind her is promised 35 s of round-robin
    wait, not 135 s. Issue 26 measured early jobs promised 2 x 160 s that round-robin served
    in 40 s."""

    async def main():
        queue, policy = _affinity("gpu1")
        queue.submit("a-new", "alice", models=WAN)
        queue.submit("b-flux", "bob", models=FLUX)
        assert policy.shadow.wait("b-flux", policy.now()) == 35.0
        assert policy.aging.durations.estimate(WAN) >= 120.0

    run_simulated(main)


def test_a_cancelled_job_no_longer_pushes_back_the_promises_behind_it():
    async def main():
        queue, policy = _affinity("gpu1")
        policy.holdings.ran("gpu1", FLUX, 0.0)
        queue.submit("a-warm", "alice", models=FLUX)
        assert (await queue.next("gpu1")).job_id == "a-warm"
        queue.submit("b-flux", "bob", models=FLUX)
        queue.submit("c-flux", "carol", models=FLUX)
        # round-robin: alice 0-35 (FLUX loaded first), bob 35-55, carol 55
        assert policy.shadow.wait("c-flux", policy.now()) == 55.0
        queue.cancel("b-flux")
        assert policy.shadow.wait("c-flux", policy.now()) == 35.0

    run_simulated(main)


def test_the_promise_follows_the_configured_factor_and_floor():
    bound = AgingBound(factor=3.0, floor=30.0)
    assert bound.planned == pytest.approx(2.2)  # 1 + 0.6 x (3 - 1)
    assert bound.deadline(100.0, 10.0) == 130.0  # the floor
    assert bound.deadline(100.0, 50.0) == pytest.approx(210.0)


def test_when_a_kind_is_first_learnt_the_shadow_replays_round_robin_again():
    """Before any job ended, every kind counts 0 s in the shadow, so round-robin seemed to
    start three FLUX jobs at once. Once FLUX is known to take 20 s (and its load 15 s), the
    shadow replays the submissions: they start at 0, 35 and 55 s, and the promises follow."""

    async def main():
        queue, policy = _affinity("gpu1")
        policy.aging.durations.by_kind.clear()
        policy.aging.durations.loads.clear()
        for n in range(3):
            queue.submit(f"j{n}", f"user{n}", models=FLUX)
        assert [policy.shadow.wait(f"j{n}", policy.now()) for n in range(3)] == [0.0, 0.0, 0.0]
        await asyncio.sleep(1)
        policy.aging.durations.by_kind[FLUX] = 20.0
        policy.aging.durations.loads[FLUX] = 15.0
        policy.shadow.advance(policy.now())
        assert [policy.shadow.wait(f"j{n}", policy.now()) for n in range(3)] == [0.0, 35.0, 55.0]

    run_simulated(main)


def test_while_round_robin_is_backed_up_a_new_job_is_promised_only_the_wait_with_no_more_arrivals():
    """25 users queue FLUX jobs at once; round-robin loads FLUX and starts one every 20 s. At
    430 s the shadow has started 21 of them and recent round-robin waits ran to 400 s. A new
    job then would start after the four still waiting if nothing more came: its round-robin
    wait counts as those 85 s, not as long as recent jobs waited (issue 26: that floor promised
    up to 2.6x the true wait, and jobs passed their bound)."""

    async def main():
        queue = FairQueue(max_per_user=30, clock=loop_clock(),
                          policy=ModelAffinity(servers=("gpu1",), confirm_vram=False))
        policy = queue.policy
        policy.aging.durations.by_kind.update(RUN)
        policy.aging.durations.loads[FLUX] = LOAD
        for n in range(25):
            queue.submit(f"j{n}", f"user{n}", models=FLUX)
        await asyncio.sleep(430)
        queue.submit("late", "newcomer", models=FLUX)
        shadow = policy.shadow
        assert shadow.wait("late", policy.now()) == pytest.approx(85.0)
        await asyncio.sleep(200)
        queue.submit("later", "another", models=FLUX)
        assert shadow.wait("later", policy.now()) == 0.0

    run_simulated(main)


def test_a_promise_never_grows_when_the_shadow_later_counts_a_longer_wait():
    """Carol's FLUX job is third behind two Qwen jobs, a kind not seen yet: the shadow counts
    each as the shortest kind seen (FLUX, 20 s), carol's round-robin wait as 40 s, her promise
    1.6 x 40 s. Then Qwen is learnt at 60 s: the shadow replays, and round-robin's wait for
    carol grows to 120 s. Her deadline stays where it was: a deadline moved later lets jobs
    pass that the nearer one stopped (issue 26's late jobs)."""

    async def main():
        queue = FairQueue(max_per_user=3, clock=loop_clock(),
                          policy=ModelAffinity(servers=("gpu1",), confirm_vram=False))
        policy = queue.policy
        durations = policy.aging.durations
        durations.by_kind[FLUX] = 20.0
        durations.loads[FLUX] = 0.0
        queue.submit("a-qwen", "alice", models=QWEN)
        queue.submit("b-qwen", "bob", models=QWEN)
        queue.submit("c-flux", "carol", models=FLUX)
        carol = queue.snapshot().pending[2]
        assert policy.deadline(carol, policy.now()) == pytest.approx(1.6 * 40.0)
        durations.by_kind[QWEN] = 60.0
        policy.shadow.advance(policy.now())
        assert policy.shadow.wait("c-flux", policy.now()) == pytest.approx(120.0)
        assert policy.deadline(carol, policy.now()) == pytest.approx(1.6 * 40.0)

    run_simulated(main)


def test_the_shadow_projects_afresh_with_what_was_learnt_since_it_was_last_asked():
    """One server; Alice's and Bob's Qwen jobs, then Carol's FLUX job. Asked at once, round-robin
    starts Carol after two 33 s Qwen runs. Then Qwen's average grows to 50 s (no new kind): the
    next decision must see Carol at 33 + 50 s, not the projection from before (decisions that
    depended on when the shadow was last asked were issue 26's second round)."""

    async def main():
        queue = FairQueue(max_per_user=3, clock=loop_clock(),
                          policy=ModelAffinity(servers=("gpu1",), confirm_vram=False))
        policy = queue.policy
        policy.aging.durations.by_kind.update(RUN)
        policy.aging.durations.loads.update({FLUX: 0.0, QWEN: 0.0})
        queue.submit("a-qwen", "alice", models=QWEN)
        queue.submit("b-qwen", "bob", models=QWEN)
        queue.submit("c-flux", "carol", models=FLUX)
        assert policy.shadow.wait("c-flux", policy.now()) == pytest.approx(66.0)
        policy.aging.durations.by_kind[QWEN] = 50.0
        policy.shadow.advance(policy.now())
        assert policy.shadow.wait("c-flux", policy.now()) == pytest.approx(83.0)

    run_simulated(main)
