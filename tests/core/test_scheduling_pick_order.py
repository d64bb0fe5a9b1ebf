"""Which held job ``model_affinity`` lets go first, and how exactly it projects strict turns.

Held jobs are tried best first (:meth:`ModelAffinity.priority`: short jobs first, then the
longest waiting); one whose own promise is at risk may still go; a held job limited to this
server counts; and the projection that decides is exact to the second: each job's learnt run,
the load its own kind learnt, the job going out of turn overrunning, the job in turn not.
Written for the survivors of ``priority``, ``pick``, ``_project`` and ``_cost`` in
docs/mutation.md. Simulated clock, no sleeps in real time.
"""

from __future__ import annotations

from discomfy.core.jobs.queued import QueuedJob
from discomfy.core.scheduling import ModelAffinity
from discomfy.testing.fake_comfyui.sim_clock import run_simulated

from tests.core.test_scheduling_aging_checks import (
    FLUX,
    QWEN,
    UPSCALER,
    _alice_has_the_turn_gpu1_holds_flux_and_the_upscaler,
    _deadlines,
    _queue,
)

TINY = frozenset({"preview.pth"})


def test_held_jobs_are_tried_short_first_then_longest_waiting_and_a_long_wait_outranks_a_short_job():
    """At 100 s: an upscale (3 s) just submitted goes before a FLUX image (20 s) waiting 10 s,
    but after one waiting 30 s; a half-second preview counts as a 1 s job and still goes before
    a FLUX image waiting 60 s; of two FLUX images, the one waiting longer goes first."""
    policy = ModelAffinity(confirm_vram=False)
    policy.aging.durations.by_kind.update({FLUX: 20.0, UPSCALER: 3.0, TINY: 0.5})

    def first(*jobs: tuple[str, frozenset[str], float]) -> str:
        queued = [QueuedJob(name, name, submitted, models=models) for name, models, submitted in jobs]
        return max(queued, key=lambda job: policy.priority(job, 100.0)).job_id

    assert first(("upscale", UPSCALER, 100.0), ("image", FLUX, 90.0)) == "upscale"
    assert first(("upscale", UPSCALER, 100.0), ("image", FLUX, 70.0)) == "image"
    assert first(("preview", TINY, 100.0), ("image", FLUX, 40.0)) == "preview"
    assert first(("newer", FLUX, 95.0), ("older", FLUX, 90.0)) == "older"


def test_a_held_job_whose_own_promise_is_at_risk_goes_first_though_a_shorter_one_may_not():
    """Alice's Qwen job has the turn; bob's FLUX job and carol's upscale are held, carol's
    tried first (shorter). Under strict turns bob would start at 45 s, past his promise 40 s
    away: the brake stops carol. Bob himself may go (going first only helps him), and does."""

    async def main():
        queue, policy = _queue()
        _alice_has_the_turn_gpu1_holds_flux_and_the_upscaler(queue, policy)
        _deadlines(policy, b_flux=40.0)
        return (await queue.next("gpu1", timeout=5)).job_id

    assert run_simulated(main) == "b-flux"


def test_a_held_job_that_may_run_only_on_this_server_may_go_first():
    """Bob's FLUX job may run on gpu1 only (a model only gpu1 has, say). gpu1 holds FLUX, so
    it passes alice's Qwen job, whose promise is far off, as any held job would."""

    async def main():
        queue, policy = _queue()
        queue.submit("a-qwen", "alice", models=QWEN)
        queue.submit("b-flux", "bob", models=FLUX, servers=["gpu1"])
        _deadlines(policy)
        return (await queue.next("gpu1", timeout=5)).job_id

    assert run_simulated(main) == "b-flux"


def test_the_projection_counts_each_kinds_own_load_and_each_run_to_the_second():
    """Alice's Qwen job has the turn; bob, carol, dave and eve wait with FLUX jobs. Loads of
    Qwen and FLUX take 15 s, though loads overall averaged 40 s (a video model's, say). Bob
    first (26 s, overrunning): alice 26 s (loads Qwen, 30 s), carol 71 s (loads FLUX again),
    dave 106 s, eve 126 s; her promise, 149 s away, holds by 0.4 s (10 s of margin and 12.6 s
    of spread). Strict turns would start her at 120 s, in time too, so bob goes. Counting
    the overall load for a kind that learnt its own, a second for a job that loads nothing,
    or the job in turn as overrunning, would each have kept bob waiting."""

    async def main():
        queue, policy = _queue()
        policy.aging.durations.load = 40.0
        queue.submit("a-qwen", "alice", models=QWEN)
        for user in ("bob", "carol", "dave", "eve"):
            queue.submit(f"{user[0]}-flux", user, models=FLUX)
        _deadlines(policy, e_flux=149.0)
        return (await queue.next("gpu1", timeout=5)).job_id

    assert run_simulated(main) == "b-flux"
