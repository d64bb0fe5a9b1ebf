"""Restart recovery of a job whose server is down as the bot starts: no failover will ever see
that server go down (it never was up for this process), so recovery moves the job itself to a
server that can run it -- once, only when nothing was being delivered -- and leaves a job
whose server is up where it is.

One real bot with two fake ComfyUI servers (gpu1, gpu2) for the module; each test writes the
job as a stopped bot left it and calls recovery on it. Written for the mutants of
``bot/recovery.py``'s ``_reattach`` that no test reached (bench/mutation.py, docs/mutation.md).
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from types import SimpleNamespace

import pytest
import pytest_asyncio
from discord.gateway import DiscordWebSocket
from discord.http import Route

from discomfy.bot.recovery import LOST, recover_one
from discomfy.core.jobs.job import Job, JobState
from discomfy.testing.bot_harness import build_config, install_models, running_bot
from discomfy.testing.discord_emulator import DiscordEmulator
from discomfy.testing.fake_comfyui import FakeComfyUI
from tests.bot.test_recovery_resumes import ROOT, WORKFLOW, _until_final, buttons, shown
from tests.conftest import REPO_ROOT

pytestmark = pytest.mark.asyncio(loop_scope="module")


@pytest_asyncio.fixture(scope="module", loop_scope="module")
async def world(tmp_path_factory: pytest.TempPathFactory) -> AsyncIterator[SimpleNamespace]:
    saved = (Route.BASE, DiscordWebSocket.DEFAULT_GATEWAY)
    emu, gpu1, gpu2 = DiscordEmulator(), FakeComfyUI(), FakeComfyUI()
    for started in (emu, gpu1, gpu2):
        await started.start()
    try:
        servers = [{"name": "gpu1", "url": gpu1.url}, {"name": "gpu2", "url": gpu2.url}]
        config = build_config(ROOT, emulator=emu, comfyui_url=gpu1.url, store_dir=tmp_path_factory.mktemp("down"),
                              plugin_dirs=[REPO_ROOT / "plugins"], workflow_dirs=[REPO_ROOT / "workflows"],
                              settings={"comfyui.servers": servers, "comfyui.health_interval": 3600.0})
        async with running_bot(emu, gpu1, config) as bot:
            install_models(gpu2, bot)
            await bot.jobs.servers.refresh_object_info()
            yield SimpleNamespace(emu=emu, gpu1=gpu1, gpu2=gpu2, bot=bot, user=emu.make_user("owner"))
    finally:
        for started in (gpu2, gpu1, emu):
            await started.stop()
        Route.BASE, DiscordWebSocket.DEFAULT_GATEWAY = saved


async def running_on_gpu1(world: SimpleNamespace) -> Job:
    """A job the stopped bot had queued on gpu1, as prompt ``p-before-the-stop``."""
    return await world.bot.jobs.store.add(Job(
        state=JobState.RUNNING, user_id=int(world.user.id), plugin="generate", command="generate",
        workflow=WORKFLOW, channel_id=int(world.emu.channel_id), guild_id=int(world.emu.guild_id),
        parameters={"prompt": "a lighthouse"}, server="gpu1", prompt_id="p-before-the-stop", progress_message_id=1))


async def test_a_job_whose_server_is_down_at_start_moves_to_another_and_is_delivered_there(world):
    gpu1 = world.bot.jobs.servers.get("gpu1")
    job = await running_on_gpu1(world)
    prompts = (world.gpu1.count("POST", "/prompt"), world.gpu2.count("POST", "/prompt"))
    gpu1.healthy = False
    try:
        assert await recover_one(world.bot, job) == "requeued"
        final = await _until_final(world, job)
    finally:
        gpu1.healthy = True
    assert final.state is JobState.DELIVERED and final.server == "gpu2"
    assert (world.gpu1.count("POST", "/prompt"), world.gpu2.count("POST", "/prompt")) == (prompts[0], prompts[1] + 1)
    (message,) = shown(world, job)
    assert message.attachments


async def test_a_job_moved_off_a_server_found_down_is_queued_as_a_new_one_would_be(world):
    """Moved like a new job: for its user, for the servers that can run it, grouped by the
    model files its workflow loads, past the per-user cap when a shared store already counted
    it, its abandoned server and prompt forgotten in the store."""
    queue, gpu1 = world.bot.jobs.job_queue, world.bot.jobs.servers.get("gpu1")
    cap, limit = queue.max_per_user, queue.server_limit("gpu2")
    jobs = [await running_on_gpu1(world) for _ in range(2)]
    gpu1.healthy = False
    queue.set_server_limit("gpu2", 0)  # nothing starts while the test looks
    queue.max_per_user = 1
    try:
        assert await recover_one(world.bot, jobs[0]) == "requeued"
        assert await recover_one(world.bot, jobs[1], capped=False) == "requeued"  # over the cap of 1
        waiting = {job.job_id: job for job in queue.snapshot().pending}
        for job in jobs:
            assert (waiting[job.id].user_id, waiting[job.id].servers) == (job.user_id, frozenset({"gpu2"}))
            assert waiting[job.id].models == {"flux1-dev.safetensors", "t5xxl_fp16.safetensors", "ae.safetensors",
                                              "clip_l.safetensors"}  # what generate-flux's graph loads
            stored = await world.bot.jobs.store.get(job.id)
            assert (stored.state, stored.server, stored.prompt_id) == (JobState.QUEUED, None, None)
    finally:
        queue.max_per_user = cap
        queue.set_server_limit("gpu2", limit)
        gpu1.healthy = True
    for job in jobs:
        assert (await _until_final(world, job)).state is JobState.DELIVERED


async def test_a_job_whose_server_is_up_stays_with_it_and_a_prompt_it_lost_is_reported_lost(world):
    job = await running_on_gpu1(world)
    prompts = world.gpu2.count("POST", "/prompt")
    assert await recover_one(world.bot, job) == "failed"
    (message,) = shown(world, job)
    assert message.embeds[0]["description"] == LOST and "Retry" in buttons(message)
    assert world.gpu2.count("POST", "/prompt") == prompts
