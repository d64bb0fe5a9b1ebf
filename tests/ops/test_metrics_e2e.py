"""/metrics, /healthz and /readyz scraped while the real bot runs jobs, checked against what happened."""

from __future__ import annotations

import asyncio
import contextlib
import time

from discomfy.ops.http import OpsServer
from discomfy.testing.bot_harness import running_bot
from tests.ops.support import get, scrape, value


@contextlib.asynccontextmanager
async def endpoint(bot):
    server = OpsServer(bot, "127.0.0.1", 0)
    assert await server.start()
    try:
        yield f"http://127.0.0.1:{server.port}"
    finally:
        await server.stop()


async def test_metrics_count_what_happened(discord_emulator, fake_comfyui, bot_config):
    emu = discord_emulator
    alice, bob = emu.make_user("alice"), emu.make_user("bob")
    gate = fake_comfyui.hold_at("SamplerCustomAdvanced")
    async with running_bot(emu, fake_comfyui, bot_config) as bot, endpoint(bot) as url:
        server = bot.jobs.servers.names[0]
        assert await get(url + "/healthz") == (200, "ok\n")
        await bot.wait_until_ready()
        assert await get(url + "/readyz") == (200, "ok\n")
        emu.inject_429("PATCH /webhooks/*", retry_after=0.1)
        interactions = [await emu.invoke("generate", {"prompt": f"a lighthouse {n}"}, user=user)
                        for n, user in enumerate((alice, alice, bob))]
        # the first job is held on ComfyUI: one running there, two waiting (one user each)
        while not (await bot.jobs.store.unfinished())[0].prompt_id and len(await bot.jobs.store.unfinished()) == 3:
            await asyncio.sleep(0.02)
        during = await scrape(url)
        assert value(during, "discomfy_jobs_running", server=server) == 1
        assert value(during, "discomfy_queue_length") == 2
        assert value(during, "discomfy_waiting_users") == 2
        gate.set()
        for interaction in interactions:
            await emu.wait_for_message(lambda m, i=interaction: m.id == i.original_message.id and m.attachments,
                                       timeout=15)
        while await bot.jobs.store.unfinished():
            await asyncio.sleep(0.02)
        await emu.request_reconnect()
        after = await scrape(url)
        held = bot.jobs.job_queue.policy.holdings.held(server)

    assert value(after, "discomfy_jobs_total", command="generate", outcome="delivered") == 3
    assert value(after, "discomfy_jobs_total", command="generate", outcome="failed") == 0
    for phase in ("waiting", "running", "delivering"):
        assert value(after, f"discomfy_job_{phase}_seconds_count", command="generate") == 3, phase
    # the first job waited for nothing; the others waited for the held one to finish
    assert value(after, "discomfy_job_running_seconds_sum", command="generate") > 0
    assert value(after, "discomfy_model_loads_total", server=server) == len(held) > 0  # loaded once, then held
    assert value(after, "discomfy_discord_429_total") == 1
    assert value(after, "discomfy_gateway_reconnects_total") == 1
    assert value(after, "discomfy_queue_length") == 0
    assert value(after, "discomfy_jobs_running", server=server) == 0
    assert value(after, "discomfy_servers_up") == 1
    assert value(after, "discomfy_server_up", server=server) == 1
    assert value(after, "discomfy_gateway_connected") == 1
    assert ("discomfy_event_loop_lag_seconds", ()) in after


async def test_two_bots_in_one_process_count_apart(discord_emulator, fake_comfyui, bot_config):
    from discomfy.bot.client import ComfyUIBot

    other = ComfyUIBot(bot_config)
    async with running_bot(discord_emulator, fake_comfyui, bot_config) as bot, endpoint(bot) as url:
        interaction = await discord_emulator.invoke("generate", {"prompt": "a cat"})
        await discord_emulator.wait_for_message(lambda m: m.id == interaction.original_message.id and m.attachments,
                                                timeout=15)
        while await bot.jobs.store.unfinished():
            await asyncio.sleep(0.02)
        assert value(await scrape(url), "discomfy_jobs_total", command="generate", outcome="delivered") == 1
    assert b'discomfy_jobs_total{' not in other.metrics.render()


async def test_readyz_fails_without_a_healthy_comfyui_and_healthz_still_passes(discord_emulator, fake_comfyui,
                                                                              bot_config):
    async with running_bot(discord_emulator, fake_comfyui, bot_config) as bot, endpoint(bot) as url:
        await fake_comfyui.stop()
        await bot.jobs.servers.check_all()
        status, text = await get(url + "/readyz")
        assert status == 503 and "no ComfyUI server is healthy" in text
        assert await get(url + "/healthz") == (200, "ok\n")
        assert value(await scrape(url), "discomfy_servers_up") == 0


async def test_healthz_fails_while_the_event_loop_keeps_stalling_and_recovers(discord_emulator, fake_comfyui,
                                                                             bot_config):
    bot_config.ops.loop_stall_after = 0.3

    async def hog() -> None:  # blocking calls on the loop, as a bug would make
        while True:
            time.sleep(0.5)
            await asyncio.sleep(0)

    async with running_bot(discord_emulator, fake_comfyui, bot_config) as bot, endpoint(bot) as url:
        task = asyncio.create_task(hog())
        await asyncio.sleep(2)
        status, text = await get(url + "/healthz")
        task.cancel()
        assert status == 503 and "late" in text, text
        assert value(await scrape(url), "discomfy_event_loop_lag_max_seconds") >= 0.3
        await asyncio.sleep(bot.loop_lag.interval * 3)
        assert await get(url + "/healthz") == (200, "ok\n")
