"""Which server ``model_affinity`` lets run a job: a free server leaves a job to another free,
healthy server that holds its models (or evicts less to load them), but never to one the job
may not run on or that is down, and looks again when such a server stops being there.

Written for the survivors of ``_rank``, ``eviction_target`` and ``pick`` in docs/mutation.md.
Simulated clock, no sleeps in real time.
"""

from __future__ import annotations

import asyncio
from types import SimpleNamespace

import pytest

from discomfy.core.jobs.queue import FairQueue
from discomfy.core.scheduling import ModelAffinity
from discomfy.testing.fake_comfyui.sim_clock import loop_clock, run_simulated

FLUX, QWEN = frozenset({"flux.safetensors"}), frozenset({"qwen.safetensors"})
SDXL, WAN = frozenset({"sdxl.safetensors"}), frozenset({"wan.safetensors"})
GB = 2**30


class _Pool:
    """The pool as the policy reads it: each server's health and whether its socket is up."""

    def __init__(self, *names: str) -> None:
        self.servers = {name: SimpleNamespace(name=name, healthy=True, client=SimpleNamespace(connected=True))
                        for name in names}

    def get(self, name: str):
        return self.servers.get(name)


def _two_servers(pool: bool = False) -> tuple[FairQueue, ModelAffinity]:
    """gpu1 holds FLUX, gpu2 Qwen; loads take 2 s (too quick to pass anyone for)."""
    policy = ModelAffinity(servers=("gpu1", "gpu2"), confirm_vram=False)
    policy.aging.durations.by_kind.update({FLUX: 20.0, QWEN: 30.0})
    policy.aging.durations.loads.update({FLUX: 2.0, QWEN: 2.0})
    if pool:
        policy.pool = _Pool("gpu1", "gpu2")
    queue = FairQueue(max_per_user=3, clock=loop_clock(), policy=policy)
    policy.holdings.ran("gpu1", FLUX, 0.0)
    policy.holdings.ran("gpu2", QWEN, 0.0)
    return queue, policy


@pytest.mark.parametrize(("gpu1", "gpu2_starts"), [("up", "b-qwen"), ("down", "a-flux")])
def test_a_job_is_left_to_the_server_holding_its_models_only_while_that_server_is_up(gpu1, gpu2_starts):
    """Alice's FLUX job has the turn when gpu2 asks. gpu1 holds FLUX and is free: while it is
    up, gpu2 leaves alice's job to it and starts bob's Qwen job; once gpu1 is down, gpu2 loads
    FLUX itself rather than leave her waiting for a server that cannot run her job."""

    async def main():
        queue, policy = _two_servers(pool=True)
        policy.pool.servers["gpu1"].healthy = gpu1 == "up"
        queue.submit("a-flux", "alice", models=FLUX)
        queue.submit("b-qwen", "bob", models=QWEN)
        return (await queue.next("gpu2", timeout=5)).job_id

    assert run_simulated(main) == gpu2_starts


def test_a_job_is_not_left_to_a_server_holding_its_models_when_that_server_is_busy():
    """gpu1 holds FLUX but is running a job: gpu2 loads FLUX for alice rather than leave her
    waiting for gpu1."""

    async def main():
        queue, _ = _two_servers()
        queue.submit("c-flux", "carol", models=FLUX)
        assert (await queue.next("gpu1", timeout=1)).job_id == "c-flux"
        queue.submit("a-flux", "alice", models=FLUX)
        return (await queue.next("gpu2", timeout=5)).job_id

    assert run_simulated(main) == "a-flux"


def test_a_job_is_not_left_to_a_server_holding_its_models_that_it_may_not_run_on():
    """Alice's FLUX job may run on gpu2 only. gpu1 holds FLUX and is free, but cannot take
    her job: gpu2 loads FLUX and starts it."""

    async def main():
        queue, _ = _two_servers()
        queue.submit("a-flux", "alice", models=FLUX, servers=["gpu2"])
        return (await queue.next("gpu2", timeout=5)).job_id

    assert run_simulated(main) == "a-flux"


def test_a_server_that_left_a_job_to_another_takes_it_when_that_ones_socket_drops():
    """gpu2 left alice's FLUX job to gpu1, free and holding FLUX. Then gpu1's WebSocket drops
    (between health checks: nothing tells the queue). gpu2 looks again within a second and
    starts alice's job rather than leave it waiting."""

    async def main():
        loop = asyncio.get_running_loop()
        queue, policy = _two_servers(pool=True)
        queue.submit("a-flux", "alice", models=FLUX)
        waiting = asyncio.ensure_future(queue.next("gpu2", timeout=10))
        await asyncio.sleep(0.5)
        assert not waiting.done()  # left to gpu1
        policy.pool.servers["gpu1"].client.connected = False
        job = await waiting
        return job.job_id, loop.time()

    job_id, at = run_simulated(main)
    assert job_id == "a-flux" and at <= 1.5


def test_a_job_no_server_holds_goes_where_it_evicts_the_oldest_model_not_to_the_first_server():
    """Both servers hold two 16 GB models in 40 GB. gpu2's oldest (FLUX, used at 0 s) is older
    than gpu1's (Qwen, 10 s): gpu1, first in the configuration and asked first, leaves carol's
    job of a new kind to gpu2, where loading it evicts the model least recently used."""

    async def main():
        loop = asyncio.get_running_loop()
        policy = ModelAffinity(servers=("gpu1", "gpu2"), confirm_vram=False)
        queue = FairQueue(max_per_user=3, clock=loop_clock(), policy=policy)
        for server in ("gpu1", "gpu2"):
            policy.holdings.confirm(server, {"devices": [{"type": "cuda", "vram_total": 40 * GB, "vram_free": 40 * GB}]})
        policy.holdings.sizes.update({name: 16 * GB for name in ("flux.safetensors", "qwen.safetensors",
                                                                 "sdxl.safetensors", "wan.safetensors")})
        for at, server, models in ((0, "gpu2", FLUX), (10, "gpu1", QWEN), (20, "gpu1", WAN), (30, "gpu2", SDXL)):
            await asyncio.sleep(at - loop.time())
            policy.holdings.ran(server, models, loop.time())
        queue.submit("cold", "carol", models=frozenset({"new.safetensors"}))
        assert queue._take("gpu1") is None
        taken = await queue.next("gpu2", timeout=1)
        assert taken.job_id == "cold" and "flux.safetensors" not in policy.holdings.held("gpu2")

    run_simulated(main)
