"""Each job goes to a healthy server that has what it needs, the least busy one first."""

from __future__ import annotations

import asyncio
import dataclasses

import pytest

from discomfy.core.jobs.queue import FairQueue
from discomfy.exceptions import ComfyUIError, ValidationError, WorkflowError

from .conftest import build_pool

PARAMS = {"prompt": "a lighthouse at dusk", "steps": 4}

#: EmptyImage -> ImageBlur (simulated, slow) -> SaveImage: keeps a fake busy.
SLOW_GRAPH = {
    "1": {"class_type": "EmptyImage", "inputs": {"width": 64, "height": 64, "batch_size": 1, "color": 0}},
    "2": {"class_type": "ImageBlur", "inputs": {"image": ["1", 0], "blur_radius": 3, "sigma": 1.0}},
    "3": {"class_type": "SaveImage", "inputs": {"images": ["2", 0], "filename_prefix": "busy"}},
}


async def test_only_servers_with_the_models_are_eligible(pool, flux_spec):
    eligible = await pool.eligible(flux_spec, PARAMS)
    assert [s.name for s in eligible] == ["gpu-a", "gpu-b"]


async def test_a_lora_only_one_server_has_sends_the_job_there(pool, flux_spec):
    chosen = await pool.choose(flux_spec, {**PARAMS, "lora": "only_on_b.safetensors"})
    assert chosen.name == "gpu-b"
    both = await pool.check_choices(flux_spec, {**PARAMS, "lora": "style_a.safetensors"})
    assert {s.name for s in both} == {"gpu-a", "gpu-b"}


async def test_the_server_with_the_shorter_comfyui_queue_is_chosen(pool, fakes, flux_spec):
    assert (await pool.choose(flux_spec, PARAMS)).name == "gpu-a"  # tie: config order
    fakes["gpu-a"].simulate("ImageBlur", steps=1000, step_delay=0.05)
    client = pool.get("gpu-a").client
    for _ in range(2):  # one running, one pending on gpu-a (someone else's prompts)
        await client.queue_prompt(SLOW_GRAPH)
    await pool.check_all()
    assert pool.get("gpu-a").comfy_running + pool.get("gpu-a").comfy_pending == 2
    eligible = await pool.eligible(flux_spec, PARAMS)
    assert [s.name for s in eligible] == ["gpu-b", "gpu-a"]


async def test_jobs_our_queue_runs_on_a_server_count_towards_its_load(fakes, flux_spec):
    queue = FairQueue(max_per_user=3)
    pool = build_pool(fakes, ["gpu-a", "gpu-b"], job_queue=queue)
    await pool.start()
    try:
        queue.submit("job-1", "alice", servers=["gpu-a"])
        await queue.next("gpu-a", timeout=1)
        assert (await pool.choose(flux_spec, PARAMS)).name == "gpu-b"
        queue.release("job-1")
        assert (await pool.choose(flux_spec, PARAMS)).name == "gpu-a"
    finally:
        await pool.close()


async def test_a_model_no_server_has_is_named(fakes, flux_spec):
    pool = build_pool(fakes, ["gpu-c"])
    await pool.start()
    try:
        with pytest.raises(WorkflowError) as info:
            await pool.choose(flux_spec, PARAMS)
    finally:
        await pool.close()
    message = info.value.user_message
    # gpu-c lacks all four FLUX files: every one is named, not just the first
    for missing in ("diffusion model `flux1-dev.safetensors`", "text encoder `clip_l.safetensors`",
                    "text encoder `t5xxl_fp16.safetensors`", "VAE `ae.safetensors`"):
        assert missing in message
    assert "are not installed on any image server" in message
    assert "/generate needs them" in message and "tell the bot owner" in message


async def test_a_lora_no_server_has_is_refused_with_a_suggestion(pool, flux_spec):
    with pytest.raises(ValidationError) as info:
        await pool.check_choices(flux_spec, {**PARAMS, "lora": "style_b.safetensor"})
    assert info.value.field == "lora"
    message = info.value.user_message
    assert "The LoRA `style_b.safetensor` is not installed on any image server." in message
    assert "Did you mean `style_b.safetensors`?" in message  # gpu-c has it, but no FLUX


async def test_a_missing_node_class_is_named(pool, flux_spec):
    spec = dataclasses.replace(flux_spec, extra_node_classes=("ImpactWildcardProcessor",))
    with pytest.raises(WorkflowError) as info:
        await pool.choose(spec, PARAMS)
    assert "The node `ImpactWildcardProcessor` is not installed on any image server" in info.value.user_message


async def test_servers_lacking_different_things_are_each_named(pool, fakes, flux_spec):
    # gpu-b has the LoRA but not (any more) the VAE; gpu-a has the VAE but not the LoRA
    fakes["gpu-b"].models["vae"] = []
    await pool.refresh_object_info()
    with pytest.raises(ValidationError) as info:
        await pool.choose(flux_spec, {**PARAMS, "lora": "only_on_b.safetensors"})
    message = info.value.user_message
    assert message.startswith("No single image server has everything this job needs")
    assert "`gpu-a` lacks the LoRA `only_on_b.safetensors`" in message
    assert "`gpu-b` lacks the VAE `ae.safetensors`" in message


async def test_a_model_installed_after_start_is_found(pool, fakes, flux_spec):
    fakes["gpu-a"].loras = ["style_a.safetensors", "new_lora.safetensors"]
    chosen = await pool.choose(flux_spec, {**PARAMS, "lora": "new_lora.safetensors"})
    assert chosen.name == "gpu-a"


async def test_down_servers_are_skipped_and_named(pool, fakes, flux_spec):
    await fakes["gpu-a"].stop()
    await pool.check_all()
    assert [s.name for s in await pool.eligible(flux_spec, PARAMS)] == ["gpu-b"]
    with pytest.raises(ValidationError) as info:
        await pool.choose(flux_spec, {**PARAMS, "lora": "not_anywhere.safetensors"})
    assert "is not installed on any image server that is up" in info.value.user_message
    assert "`gpu-a` is down" in info.value.user_message


async def test_all_servers_down_says_so(pool, fakes, flux_spec):
    await asyncio.gather(*(f.stop() for f in fakes.values()))
    changed = await pool.check_all()
    assert changed == {"gpu-a": "down", "gpu-b": "down", "gpu-c": "down"}
    with pytest.raises(ComfyUIError) as info:
        await pool.choose(flux_spec, PARAMS)
    assert info.value.user_message == "All image servers are down; try again in a minute."


async def test_a_single_server_down_reads_not_reachable(fakes, flux_spec):
    pool = build_pool(fakes, ["gpu-a"])
    await pool.start()
    try:
        await fakes["gpu-a"].stop()
        assert await pool.check_all() == {"gpu-a": "down"}
        with pytest.raises(ComfyUIError) as info:
            await pool.check_choices(flux_spec, PARAMS)
    finally:
        await pool.close()
    assert info.value.user_message == "The image server is not reachable right now; try again in a minute."


async def test_a_burst_of_refreshes_costs_one_request_per_server(pool, fakes):
    before = {name: fake.count("GET", "/object_info") for name, fake in fakes.items()}
    await asyncio.gather(*(pool.refresh_object_info(max_age=0.0) for _ in range(20)))
    await pool.refresh_object_info(max_age=60.0)  # fresh enough: no request at all
    after = {name: fake.count("GET", "/object_info") for name, fake in fakes.items()}
    assert {name: after[name] - before[name] for name in fakes} == {"gpu-a": 1, "gpu-b": 1, "gpu-c": 1}
