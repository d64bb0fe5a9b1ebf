"""Model-aware scheduling (issue 15) on a simulated clock: the fair queue with ModelAffinity.

The clock is the simulated loop's: seconds pass only when the test sleeps, so the aging
bound's deadlines are exact.
"""

from __future__ import annotations

import asyncio

import pytest

from discomfy.core.jobs.queue import FairQueue
from discomfy.core.scheduling import LeastBusy, ModelAffinity, models_of
from discomfy.core.servers.pool import Server, ServerPool
from discomfy.testing.fake_comfyui import FakeComfyUI
from discomfy.testing.fake_comfyui.sim_clock import loop_clock, run_simulated

FLUX, QWEN, SDXL = frozenset({"flux.safetensors"}), frozenset({"qwen.safetensors"}), frozenset({"sdxl.safetensors"})


def affinity_queue(servers=("gpu1",), **kwargs) -> tuple[FairQueue, ModelAffinity]:
    policy = ModelAffinity(servers=servers, confirm_vram=False, **kwargs)
    return FairQueue(max_per_user=3, clock=loop_clock(), policy=policy), policy


def test_a_same_model_job_goes_first_only_within_the_aging_bound():
    async def main():
        loop = asyncio.get_running_loop()
        queue, policy = affinity_queue(aging_factor=2.0, aging_floor=60.0)
        queue.submit("warm", "u0", models=FLUX)
        assert (await queue.next("gpu1")).job_id == "warm"  # gpu1 now holds FLUX
        queue.submit("a-qwen", "alice", models=QWEN)  # alice's turn comes first...
        queue.submit("b-flux", "bob", models=FLUX)
        queue.release("warm")
        first = await queue.next("gpu1")  # ...but bob's job needs no load, and alice can wait
        assert first.job_id == "b-flux"
        alice = queue.snapshot().pending[0]
        assert policy.deadline(alice, loop.time()) == alice.submitted_at + 60.0  # round-robin: no wait
        await asyncio.sleep(45)
        queue.release("b-flux")

        # bob's next job is a hit again, but after another 45 s alice would start past her
        # promise: she is served in strict turn
        queue.submit("b-flux-2", "bob", models=FLUX)
        second = await queue.next("gpu1")
        assert second.job_id == "a-qwen"
        return policy

    run_simulated(main)


def test_least_busy_keeps_strict_round_robin():
    async def main():
        queue = FairQueue(max_per_user=3, clock=loop_clock(), policy=LeastBusy(servers=["gpu1"]))
        queue.submit("warm", "u0", models=FLUX)
        await queue.next("gpu1")
        queue.submit("a-qwen", "alice", models=QWEN)
        queue.submit("b-flux", "bob", models=FLUX)
        queue.release("warm")
        assert (await queue.next("gpu1")).job_id == "a-qwen"

    run_simulated(main)


def test_a_job_no_server_holds_goes_where_loading_evicts_the_least_recently_used_model():
    async def main():
        loop = asyncio.get_running_loop()
        queue, policy = affinity_queue(servers=("gpu1", "gpu2"))
        for server in ("gpu1", "gpu2"):  # 40 GB each, two models of 16 GB held
            policy.holdings.confirm(server, {"devices": [{"type": "cuda", "vram_total": 40 * 2**30, "vram_free": 40 * 2**30}]})
        policy.holdings.sizes.update({"flux.safetensors": 16 * 2**30, "qwen.safetensors": 16 * 2**30,
                                      "sdxl.safetensors": 16 * 2**30, "wan.safetensors": 16 * 2**30})
        policy.holdings.ran("gpu1", FLUX, loop.time())
        await asyncio.sleep(10)
        policy.holdings.ran("gpu2", QWEN, loop.time())  # gpu2's oldest model is newer
        await asyncio.sleep(10)
        policy.holdings.ran("gpu2", frozenset({"wan.safetensors"}), loop.time())
        await asyncio.sleep(10)
        policy.holdings.ran("gpu1", SDXL, loop.time())  # gpu1: flux (t=0) is the LRU of all
        queue.submit("cold", "carol", models=frozenset({"new.safetensors"}))
        # gpu2 asks first but leaves the job to gpu1, where loading evicts the older model
        assert queue._take("gpu2") is None
        taken = await queue.next("gpu1")
        assert taken.job_id == "cold"
        assert policy.eviction_target(taken, ["gpu1", "gpu2"]) == "gpu1"
        assert policy.holdings.held("gpu1")[0] == "new.safetensors"
        assert "flux.safetensors" not in policy.holdings.held("gpu1")  # evicted in our record too

    run_simulated(main)


def _graph(checkpoint: str) -> dict:
    return {"1": {"class_type": "CheckpointLoaderSimple", "inputs": {"ckpt_name": checkpoint}},
            "2": {"class_type": "SaveImage", "inputs": {"images": ["1", 0], "filename_prefix": "x"}}}


def test_the_models_of_a_job_are_read_from_its_graph_without_loras():
    graph = {**_graph("flux.safetensors"),
             "3": {"class_type": "LoraLoader", "inputs": {"lora_name": "style.safetensors"}}}
    assert models_of(graph) == FLUX


async def _pool(fakes, queue) -> ServerPool:
    from discomfy.core.comfyui.client import ComfyUIClient

    servers = [Server(f"gpu{i + 1}", f.url, ComfyUIClient(f.url, client_id=f"t{i}")) for i, f in enumerate(fakes)]
    pool = ServerPool(servers, job_queue=queue)
    await pool.start()
    return pool


def test_a_server_that_goes_down_loses_its_holds_and_status_shows_them():
    async def main():
        fakes = [FakeComfyUI(), FakeComfyUI()]
        for fake in fakes:
            await fake.start()
        queue, policy = affinity_queue(servers=())
        pool = await _pool(fakes, queue)
        try:
            queue.submit("j1", "alice", models=FLUX)
            job = await queue.next("gpu1")
            rows = {row["name"]: row for row in pool.status()}
            assert rows["gpu1"]["holds"] == ["flux.safetensors"] and rows["gpu1"]["running"] == 1
            queue.release(job.job_id)
            await fakes[0].stop()  # gpu1 dies
            await pool.check_all()
            assert not pool.get("gpu1").healthy
            assert policy.holdings.held("gpu1") == []
            assert {row["name"]: row for row in pool.status()}["gpu1"]["holds"] == []
        finally:
            await pool.close()
            for fake in fakes:
                await fake.stop()

    run_simulated(main)


def test_pipelining_queues_one_more_job_but_never_on_an_unhealthy_server():
    async def main():
        fakes = [FakeComfyUI(), FakeComfyUI()]
        for fake in fakes:
            await fake.start()
        queue, policy = affinity_queue(servers=(), pipelining=True)
        pool = await _pool(fakes, queue)
        try:
            for n in range(4):  # loading nothing: any server may take any of them
                queue.submit(f"j{n}", f"user{n}")
            first = await queue.next("gpu1")
            second = await queue.next("gpu1", timeout=1)  # pipelined behind the running one
            assert {first.job_id, second.job_id} == {"j0", "j1"}
            assert queue.slots("gpu1") == 2
            await fakes[1].stop()  # gpu2 is down: its one slot stays, no pipelined one...
            await pool.check_all()
            assert not pool.get("gpu2").healthy
            assert queue.slots("gpu2") == 1 and policy.extra_slots("gpu2") == 0
            pool.get("gpu2").healthy = True  # ...and between health checks, a dropped socket counts
            assert policy.extra_slots("gpu2") == (1 if pool.get("gpu2").client.connected else 0)
            pool.get("gpu2").healthy = False
            queue.release(first.job_id)
            queue.release(second.job_id)
            taken = [await queue.next("gpu2", timeout=1)]
            try:
                taken.append(await queue.next("gpu2", timeout=5))
            except TimeoutError:
                pass
            assert len(taken) == 1  # its own slot (Failover pauses that too), never a pipelined one
        finally:
            await pool.close()
            for fake in fakes:
                await fake.stop()

    run_simulated(main)


def test_the_scheduling_settings_are_validated_and_build_the_policy(tmp_path):
    from discomfy.config import get_config, validate_config

    (tmp_path / "settings.toml").write_text('[comfyui]\nscheduling = "fastest"\n')
    problems = validate_config(get_config(tmp_path), purpose="offline")
    assert any("comfyui.scheduling = 'fastest' must be one of 'least_busy', 'model_affinity'" in p for p in problems)
    (tmp_path / "settings.toml").write_text('[comfyui]\nscheduling = "model_affinity"\naging_factor = 3.0\npipelining = true\n')
    config = get_config(tmp_path)
    assert not [p for p in validate_config(config, purpose="offline") if "scheduling" in p]
    queue = FairQueue.from_config(config)
    assert isinstance(queue.policy, ModelAffinity) and queue.policy.aging.factor == 3.0 and queue.policy.pipelining


def _stats(total_gb: float, used_gb: float) -> dict:
    return {"devices": [{"type": "cuda", "vram_total": int(total_gb * 2**30), "vram_free": int((total_gb - used_gb) * 2**30)}]}


def test_vram_reports_confirm_what_a_server_holds_and_teach_model_sizes():
    from discomfy.core.scheduling import ModelHoldings

    held = ModelHoldings()
    held.ran("gpu1", FLUX, 1.0)
    held.confirm("gpu1", _stats(40, 16))  # flux alone: 16 GB
    held.ran("gpu1", QWEN, 2.0)
    held.confirm("gpu1", _stats(40, 35))  # both fit: qwen is 19 GB
    assert held.held("gpu1") == ["qwen.safetensors", "flux.safetensors"]
    assert held.sizes["qwen.safetensors"] == 19 * 2**30
    held.ran("gpu1", SDXL, 3.0)  # 16 + 19 + an unknown model cannot fit in 40 GB: flux (LRU) is gone
    assert held.held("gpu1") == ["sdxl.safetensors", "qwen.safetensors"]
    held.confirm("gpu1", _stats(40, 33))
    assert held.sizes["sdxl.safetensors"] == 14 * 2**30
    held.confirm("gpu1", _stats(40, 0))  # ComfyUI freed its memory (restart, /free): nothing held
    assert held.held("gpu1") == []
    cpu = {"devices": [{"type": "cpu", "vram_total": 8 * 2**30, "vram_free": 2**30}]}
    held.ran("cpu1", FLUX, 1.0)
    held.ran("cpu1", QWEN, 2.0)  # no VRAM figures: only the last job's models are assumed kept
    held.confirm("cpu1", cpu)
    assert held.held("cpu1") == ["qwen.safetensors"]


UPSCALER = frozenset({"4x_upscaler.pth"})


def test_a_users_job_whose_model_is_held_need_not_wait_behind_their_own_earlier_job():
    async def main():
        queue, _ = affinity_queue()
        queue.submit("warm", "u0", models=FLUX)
        await queue.next("gpu1")  # gpu1 now holds FLUX
        queue.submit("a-qwen", "alice", models=QWEN)
        queue.submit("a-flux", "alice", models=FLUX)
        queue.release("warm")
        assert (await queue.next("gpu1")).job_id == "a-flux"  # no load, and qwen's bound allows it
        assert queue.position("a-qwen") == 1

        strict = FairQueue(max_per_user=3, clock=loop_clock(), policy=LeastBusy(servers=["gpu1"]))
        strict.submit("a-qwen", "alice", models=QWEN)
        strict.submit("a-flux", "alice", models=FLUX)
        assert (await strict.next("gpu1")).job_id == "a-qwen"  # round-robin keeps a user's order

    run_simulated(main)


def test_jobs_passed_to_save_a_load_start_within_their_promise_and_share_one_load():
    """One server holds FLUX and six users keep it busy with 20 s FLUX jobs; four users wait
    with 3 s upscales whose model (a 15 s load here) it does not hold. The FLUX jobs pass the
    upscales while the upscales' promises allow; then the first upscale loads the upscaler and
    the other three, now held, go before the FLUX jobs that need a load again: one load serves
    all four, each within its promise."""

    async def main():
        loop = asyncio.get_running_loop()
        queue, policy = affinity_queue()
        durations = policy.aging.durations
        durations.by_kind.update({FLUX: 20.0, UPSCALER: 3.0})
        durations.load = durations.loads[UPSCALER] = durations.loads[FLUX] = 15.0  # as if learnt
        policy.holdings.ran("gpu1", FLUX, loop.time())
        flux_users = [f"f{n}" for n in range(6)]
        for user in flux_users:
            queue.submit(f"{user}-0", user, models=FLUX)
        for n in range(4):
            queue.submit(f"up{n}", f"u{n}", models=UPSCALER)
        deadlines = {job.job_id: policy.deadline(job, loop.time()) for job in queue.snapshot().pending
                     if job.job_id.startswith("up")}
        started: dict[str, float] = {}
        rounds = {user: 0 for user in flux_users}
        loaded = FLUX
        while len([j for j in started if j.startswith("up")]) < 4:
            job = await queue.next("gpu1")
            started[job.job_id] = loop.time()
            if job.models != loaded:  # the server loads the job's model first (15 s either way)
                await asyncio.sleep(15.0)
                loaded = job.models
            await asyncio.sleep(3.0 if job.models == UPSCALER else 20.0)
            queue.release(job.job_id)
            if job.models == FLUX:  # the FLUX users queue again: a hit is always waiting
                user = job.user_id
                rounds[user] += 1
                queue.submit(f"{user}-{rounds[user]}", user, models=FLUX)

        upscales = sorted(started[f"up{n}"] for n in range(4))
        assert upscales[-1] - upscales[0] == pytest.approx(15 + 3 * 3)  # one load, back to back
        for n in range(4):
            assert started[f"up{n}"] <= deadlines[f"up{n}"], (started, deadlines)
        assert upscales[0] > 6 * 20  # FLUX jobs did pass them: later than round-robin's turn

    run_simulated(main)


def test_running_loads_and_unseen_kinds_are_counted_when_keeping_the_bound():
    from discomfy.core.scheduling.aging import FIRST_GUESS, Durations

    durations = Durations()
    durations.record(FLUX, 20.0)
    durations.record(FLUX, 50.0, loaded=True)  # the run with a load teaches FLUX's load: 30 s
    assert durations.estimate(FLUX) == 20.0 and durations.load_time(FLUX) == 30.0
    assert durations.remaining(FLUX, 10.0) == 10.0
    assert durations.remaining(FLUX, 10.0, loading=True) == 40.0  # its server is still loading
    assert durations.estimate(QWEN) == FIRST_GUESS  # never seen: assumed long, not short


def test_with_one_kind_of_job_held_everywhere_affinity_keeps_strict_turns():
    async def main():
        queue, _ = affinity_queue()
        queue.submit("warm", "u0", models=FLUX)
        await queue.next("gpu1")
        for n in range(3):
            queue.submit(f"alice{n}", "alice", models=FLUX)
        await asyncio.sleep(5)
        queue.submit("bob0", "bob", models=FLUX)  # bob comes later but waits for one alice job only
        order = []
        queue.release("warm")
        for _ in range(4):
            job = await queue.next("gpu1")
            order.append(job.job_id)
            await asyncio.sleep(20)
            queue.release(job.job_id)
        assert order == ["alice0", "bob0", "alice1", "alice2"]

    run_simulated(main)
