"""ComfyUI misbehaving while jobs run: its socket dropped again and again, or the whole server
restarted with its queue lost. Every job must still end delivered or clearly failed, once."""

from __future__ import annotations

import asyncio
import contextlib

from discomfy.testing.bot_harness import running_bot
from tests.faults.audit import settle, until

SAMPLER = "SamplerCustomAdvanced"  # the /generate workflow's sampler


async def start_jobs(emu, users, per_user: int, prompt: str = "a lighthouse") -> list:
    interactions = []
    for round_ in range(per_user):
        for user in users:
            inter = await emu.invoke("generate", {"prompt": f"{prompt} {user.name} {round_}"}, user=user)
            assert inter.original_message is not None and not inter.original_message.ephemeral, inter.original_message
            interactions.append(inter)
    return interactions


@contextlib.asynccontextmanager
async def dropping_sockets(fake, intervals=(0.2, 0.3, 0.25)):
    """Close ComfyUI's sockets from the server side every few hundred ms; yields [drops, drops
    while a prompt was running] (the second shows the fault hit jobs)."""
    drops = [0, 0]

    async def dropper() -> None:
        i = 0
        while True:
            await asyncio.sleep(intervals[i % len(intervals)])
            i += 1
            if fake.sockets:
                drops[1] += fake.worker.running is not None
                await fake.drop_sockets()
                drops[0] += 1

    task = asyncio.create_task(dropper())
    try:
        yield drops
    finally:
        task.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await task


async def test_socket_dropped_every_few_hundred_ms_loses_no_job(discord_emulator, fake_comfyui, bot_config,
                                                                fault_figures, request):
    emu, fake = discord_emulator, fake_comfyui
    fake.simulate(SAMPLER, 8, 0.05)
    users = [emu.make_user(f"user{i}") for i in range(3)]
    async with running_bot(emu, fake, bot_config) as bot:
        async with dropping_sockets(fake) as drops:
            await start_jobs(emu, users, per_user=2)
            settled = await settle(bot.jobs.store, users, emu=emu, at_least=6, timeout=40)
        reconnects = bot.jobs.servers.primary.client.socket.connect_count
    audit = await fault_figures.audit(request, emu, bot_config, users, faults=drops[0])
    assert drops[0] >= 3, "the scenario must actually drop the socket while jobs run"
    assert drops[1] >= 1, "at least one drop must hit a running prompt"
    assert reconnects > drops[0] // 2, f"the client reconnected {reconnects} times after {drops[0]} drops"
    assert settled, audit.explain()
    # ComfyUI kept every prompt: a dropped socket alone must not fail a job
    assert audit.delivered == audit.jobs == 6, audit.explain()
    assert not emu.violations and not emu.unhandled


async def test_comfyui_restarted_mid_job_fails_the_lost_job_clearly_and_runs_the_rest(
        discord_emulator, fake_comfyui, bot_config, fault_figures, request):
    emu, fake = discord_emulator, fake_comfyui
    fake.simulate(SAMPLER, 20, 0.05)
    users = [emu.make_user(f"user{i}") for i in range(3)]
    async with running_bot(emu, fake, bot_config) as bot:
        await start_jobs(emu, users, per_user=1)
        # the first job is running on ComfyUI, the other two wait in the bot's fair queue
        await until(lambda: fake.worker.running is not None, what="a prompt running on ComfyUI")
        await fake.restart(lose_queue=True)
        settled = await settle(bot.jobs.store, users, emu=emu, at_least=3, timeout=40)
    audit = await fault_figures.audit(request, emu, bot_config, users, faults=1)
    assert settled, audit.explain()
    failed = [v for v in audit.verdicts if v.state != "delivered"]
    assert len(failed) == 1, audit.explain()
    assert "lost" in failed[0].reason and "try again" in failed[0].reason.lower(), failed[0].reason
    assert audit.delivered == 2, audit.explain()
    assert not emu.violations and not emu.unhandled


async def test_comfyui_restarted_twice_while_a_burst_runs(discord_emulator, fake_comfyui, bot_config,
                                                          fault_figures, request):
    """Restarts at arbitrary moments (between prompts, during uploads of results, mid-sampling)."""
    emu, fake = discord_emulator, fake_comfyui
    fake.simulate(SAMPLER, 6, 0.05)
    users = [emu.make_user(f"user{i}") for i in range(4)]
    async with running_bot(emu, fake, bot_config) as bot:
        await start_jobs(emu, users, per_user=2)
        restarts = 0
        for _ in range(2):
            await until(lambda: fake.worker.running is not None, what="a prompt running on ComfyUI")
            await fake.restart(lose_queue=True)
            restarts += 1
        settled = await settle(bot.jobs.store, users, emu=emu, at_least=8, timeout=60)
    audit = await fault_figures.audit(request, emu, bot_config, users, faults=restarts)
    assert settled, audit.explain()
    assert audit.delivered >= audit.jobs - restarts, audit.explain()
    assert audit.failed >= 1, "each restart lost a running prompt: at least one job must have been hit"
    assert not emu.violations and not emu.unhandled


async def test_comfyui_answering_500_mid_burst_fails_only_the_hit_jobs_clearly(discord_emulator, fake_comfyui, bot_config,
                                                                               fault_figures, request):
    """HTTP errors on whatever ComfyUI request comes next (queueing, history, downloads)."""
    emu, fake = discord_emulator, fake_comfyui
    fake.simulate(SAMPLER, 4, 0.05)
    users = [emu.make_user(f"user{i}") for i in range(4)]
    async with running_bot(emu, fake, bot_config) as bot:
        await start_jobs(emu, users, per_user=1)
        fake.fail_http(500, times=3)
        settled = await settle(bot.jobs.store, users, emu=emu, at_least=4, timeout=30)
    all_answered = fake.take_http_failure() is None
    audit = await fault_figures.audit(request, emu, bot_config, users, faults=3)
    assert all_answered, "the injected 500s must all have been answered while the jobs ran"
    hit = [(m, p) for m, p, _ in fake.failed_requests if p == "/prompt" or p.startswith(("/history/", "/view", "/upload"))]
    assert hit, f"the 500s must hit job requests, not only health probes: {fake.failed_requests}"
    assert settled and audit.delivered >= 1, audit.explain()
    failed = [v for v in audit.verdicts if v.state != "delivered"]
    assert len(failed) <= len(hit), f"only jobs hit by a 500 may fail: {len(failed)} failed, {len(hit)} hit"
    for verdict in failed:  # may be empty: the client retries reads, so a hit job can still be delivered
        assert "image server" in verdict.reason and "try again" in verdict.reason.lower(), verdict.reason
    assert len(failed) + audit.delivered == audit.jobs == 4, audit.explain()
    assert not emu.violations and not emu.unhandled
