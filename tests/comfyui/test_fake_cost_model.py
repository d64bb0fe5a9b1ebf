"""The fake's cost model (GPU time, memory, --cache-lru) on the simulated clock.

Each test runs a whole fake server on a simulated-time loop: simulated seconds are what the
GPU would have spent, and an hour of them passes in well under a second of real time.
"""

from __future__ import annotations

import asyncio
import time

import aiohttp
from comfyui_capture import RawSocket, post_prompt, shapes
from comfyui_replay import load

from discomfy.testing.fake_comfyui import FakeComfyUI
from discomfy.testing.fake_comfyui.cost_model import GB, CostModel, ModelCost
from discomfy.testing.fake_comfyui.sim_clock import run_simulated

MODELS = {
    "flux.safetensors": ModelCost(load_seconds=30, memory_gb=16, step_seconds=1.0),
    "qwen.safetensors": ModelCost(load_seconds=40, memory_gb=19, step_seconds=1.0),
    "sdxl.safetensors": ModelCost(load_seconds=15, memory_gb=14, step_seconds=0.25),
}


def cost(cache_lru: int = 0, memory_gb: float = 40) -> CostModel:
    return CostModel(MODELS, memory_gb=memory_gb, cache_lru=cache_lru)


def txt2img(checkpoint: str, seed: int, steps: int = 20) -> dict:
    return {
        "1": {"class_type": "CheckpointLoaderSimple", "inputs": {"ckpt_name": checkpoint}},
        "2": {"class_type": "CLIPTextEncode", "inputs": {"text": "a cat", "clip": ["1", 1]}},
        "3": {"class_type": "CLIPTextEncode", "inputs": {"text": "", "clip": ["1", 1]}},
        "4": {"class_type": "EmptyLatentImage", "inputs": {"width": 64, "height": 64, "batch_size": 1}},
        "5": {"class_type": "KSampler", "inputs": {"model": ["1", 0], "positive": ["2", 0], "negative": ["3", 0],
                                                  "latent_image": ["4", 0], "seed": seed, "steps": steps, "cfg": 7.0,
                                                  "sampler_name": "euler", "scheduler": "normal", "denoise": 1.0}},
        "6": {"class_type": "VAEDecode", "inputs": {"samples": ["5", 0], "vae": ["1", 2]}},
        "7": {"class_type": "SaveImage", "inputs": {"images": ["6", 0], "filename_prefix": "cost"}},
    }


async def run(fake: FakeComfyUI, session: aiohttp.ClientSession, prompt: dict) -> float:
    """Queue ``prompt``, wait for its end; the simulated seconds it took."""
    loop = asyncio.get_running_loop()
    start = loop.time()
    status, body = await post_prompt(session, fake.url, {"prompt": prompt, "client_id": "cost"})
    assert status == 200, body
    await fake.wait_finished(body["prompt_id"], timeout=24 * 3600)
    return loop.time() - start


def simulate(cost_model: CostModel, scenario):
    async def main():
        fake = FakeComfyUI(checkpoints=list(MODELS), cost_model=cost_model)
        await fake.start()
        try:
            async with aiohttp.ClientSession() as session:
                return await scenario(fake, session)
        finally:
            await fake.stop()
    return run_simulated(main)


def test_an_unchanged_prompt_rerun_is_served_from_cache_as_the_recorded_server_does():
    trace = load("success_emptyimage.json")

    async def scenario(fake, session):
        loop = asyncio.get_running_loop()
        runs = []
        for _ in range(2):
            sock = await RawSocket(session, fake.url, trace["client_id"]).connect()
            await sock.read_until(lambda f: f["message"]["type"] == "status")
            start = loop.time()
            status, body = await post_prompt(session, fake.url, trace["request"])
            frames = await sock.read_until_done(body["prompt_id"])
            runs.append((frames[1:], loop.time() - start))
            await sock.close()
        # the same prompt with a model loader: the rerun loads nothing and computes nothing
        first = await run(fake, session, txt2img("flux.safetensors", 1))
        again = await run(fake, session, txt2img("flux.safetensors", 1))
        return runs, first, again, fake.cost_model.ledger.loads

    runs, first, again, loads = simulate(cost(), scenario)
    assert shapes(runs[0][0]) == shapes(trace["ws_messages"])
    assert shapes(runs[1][0]) == shapes(trace["rerun_identical_prompt"]["ws_messages"])
    cached = [f["message"]["data"]["nodes"] for f in runs[1][0] if f["message"]["type"] == "execution_cached"]
    assert cached == [["1", "2"]]  # as recorded: every node from cache
    assert first >= 30 + 20 * 1.0 and again < 0.5
    assert loads == 1


def test_a_loader_whose_inputs_match_the_previous_prompt_is_not_run_again():
    async def scenario(fake, session):
        return [await run(fake, session, txt2img("flux.safetensors", seed)) for seed in (1, 2, 3)]

    cm = cost()
    times = simulate(cm, scenario)
    assert 50 <= times[0] < 51  # 30 s load + 20 steps x 1 s
    assert all(20 <= t < 21 for t in times[1:])  # the sampler again, no load
    assert cm.ledger.loads == 1


def test_the_classic_cache_reloads_on_every_switch_and_cache_lru_keeps_both():
    sequence = ["flux.safetensors", "sdxl.safetensors"] * 3

    async def scenario(fake, session):
        for seed, model in enumerate(sequence):
            await run(fake, session, txt2img(model, seed))

    classic, lru = cost(), cost(cache_lru=4)
    simulate(classic, scenario)
    simulate(lru, scenario)
    assert classic.ledger.loads == 6  # the previous prompt's loader only: every switch reloads
    assert lru.ledger.loads == 2  # both fit in 40 GB and stay cached
    assert lru.ledger.load_seconds == 30 + 15


def test_a_load_that_does_not_fit_evicts_the_least_recently_used_model_and_vram_follows():
    async def scenario(fake, session):
        free = []

        async def vram_free():
            async with session.get(f"{fake.url}/system_stats") as response:
                device = (await response.json())["devices"][0]
                return device["vram_total"], device["vram_free"]

        free.append(await vram_free())
        for seed, model in enumerate(["flux.safetensors", "sdxl.safetensors", "flux.safetensors",
                                      "qwen.safetensors"]):
            await run(fake, session, txt2img(model, seed))
            free.append(await vram_free())
        await run(fake, session, txt2img("sdxl.safetensors", 9))  # it was evicted: loaded again
        return free

    cm = cost(cache_lru=8, memory_gb=40)
    free = simulate(cm, scenario)
    total = 40 * GB
    assert free[0] == (total, total)
    assert free[1][1] == total - 16 * GB  # flux
    assert free[2][1] == total - 30 * GB  # flux + sdxl
    assert free[3][1] == total - 30 * GB  # flux again: cached, nothing new
    assert free[4][1] == total - 35 * GB  # qwen (19) evicted sdxl, the least recently used
    assert cm.ledger.loaded == ["flux.safetensors", "sdxl.safetensors", "qwen.safetensors", "sdxl.safetensors"]
    assert list(cm.resident) == ["qwen.safetensors", "sdxl.safetensors"]  # sdxl evicted flux (LRU) in turn


def test_hours_of_gpu_time_pass_in_seconds_on_the_simulated_clock():
    async def scenario(fake, session):
        return sum([await run(fake, session, txt2img(m, s, steps=100))
                    for s, m in enumerate(["flux.safetensors", "qwen.safetensors"] * 20)])

    started = time.perf_counter()
    simulated = simulate(cost(), scenario)
    assert simulated > 3600  # 40 prompts x 100 steps x 1 s + reloads
    assert time.perf_counter() - started < 60
