"""Discord misbehaving while jobs run: 429s on the webhook edits that carry progress and
results, and the gateway asking the bot to reconnect mid-job (with a command sent meanwhile)."""

from __future__ import annotations

import asyncio

from discomfy.testing.bot_harness import running_bot
from tests.faults.audit import settle, until

SAMPLER = "SamplerCustomAdvanced"


def webhook_edit(rec) -> bool:
    return rec.method == "PATCH" and rec.path.startswith("/webhooks/")


def result_upload(rec) -> bool:
    return webhook_edit(rec) and any(p.filename != "preview.jpg" for p in rec.files)


def every_other(matches):
    """A 429 predicate hitting every second matching request: each request is
    limited at most once before its retry goes through, as under a busy but sane Discord."""
    seen = [0]

    def predicate(rec) -> bool:
        if not matches(rec):
            return False
        seen[0] += 1
        return seen[0] % 2 == 1

    return predicate


async def test_429_on_webhook_edits_and_results_delays_but_never_loses_or_doubles(
        discord_emulator, fake_comfyui, bot_config, fault_figures, request):
    emu, fake = discord_emulator, fake_comfyui
    fake.simulate(SAMPLER, 10, 0.05)
    users = [emu.make_user(f"user{i}") for i in range(3)]
    progress = emu.inject_429(every_other(lambda r: webhook_edit(r) and not result_upload(r)), retry_after=0.2, times=6)
    results = emu.inject_429(every_other(result_upload), retry_after=0.2, times=3)
    async with running_bot(emu, fake, bot_config) as bot:
        for round_ in range(2):
            for user in users:
                await emu.invoke("generate", {"prompt": f"rate limited {user.name} {round_}"}, user=user)
        settled = await settle(bot.jobs.store, users, emu=emu, at_least=6, timeout=40)
    limited = [r for r in emu.requests if r.status == 429]
    audit = await fault_figures.audit(request, emu, bot_config, users, faults=len(limited))
    assert progress.times == 0 and results.times == 0, "progress edits and result uploads must be limited"
    assert settled, audit.explain()
    assert audit.delivered == 6, audit.explain()
    assert not emu.violations and not emu.unhandled


async def test_result_upload_limited_until_discordpy_gives_up_is_still_delivered_once(
        discord_emulator, fake_comfyui, bot_config, fault_figures, request):
    """discord.py tries a webhook request 5 times, then raises the 429. The image exists by
    then: the bot must deliver it later (or through the channel), not throw it away."""
    emu, fake = discord_emulator, fake_comfyui
    user = emu.make_user("patient")
    async with running_bot(emu, fake, bot_config) as bot:
        await emu.invoke("generate", {"prompt": "a rate limited result"}, user=user)
        emu.inject_429(result_upload, retry_after=0.05, times=5)
        settled = await settle(bot.jobs.store, [user], emu=emu, timeout=20)
    limited = [r for r in emu.requests if r.status == 429]
    audit = await fault_figures.audit(request, emu, bot_config, [user], faults=len(limited))
    assert len(limited) == 5 and all(r.files for r in limited)
    assert settled, audit.explain()
    assert audit.delivered == 1, audit.explain()
    assert not emu.violations and not emu.unhandled


async def test_bot_stopped_while_its_result_upload_is_rate_limited_delivers_after_restart(
        discord_emulator, fake_comfyui, bot_config, fault_figures, request):
    """The store says "delivered" when the upload starts; if the bot stops while discord.py
    waits out a 429 on that upload, nothing reached the user: the next start must deliver it."""
    emu, fake = discord_emulator, fake_comfyui
    user = emu.make_user("unlucky")
    async with running_bot(emu, fake, bot_config) as bot:
        emu.inject_429(result_upload, retry_after=2.0, times=1)
        await emu.invoke("generate", {"prompt": "stopped mid-upload"}, user=user)
        await emu.wait_for_request(lambda r: r.status == 429 and r.files, timeout=10)
    async with running_bot(emu, fake, bot_config) as bot:
        settled = await settle(bot.jobs.store, [user], emu=emu, timeout=8)
    audit = await fault_figures.audit(request, emu, bot_config, [user], faults=2)
    assert settled, audit.explain()
    assert audit.delivered == 1, audit.explain()


async def test_gateway_reconnect_mid_job_keeps_jobs_and_commands_sent_meanwhile(
        discord_emulator, fake_comfyui, bot_config, fault_figures, request):
    emu, fake = discord_emulator, fake_comfyui
    fake.simulate(SAMPLER, 15, 0.05)
    first, second = users = [emu.make_user("first"), emu.make_user("second")]
    reconnects = 0
    async with running_bot(emu, fake, bot_config) as bot:
        await emu.invoke("generate", {"prompt": "before the reconnect"}, user=first)
        await until(lambda: fake.worker.running is not None, what="the job running on ComfyUI")
        # op 7 while the job runs; a command arriving during the reconnect is replayed on RESUME
        reconnect = asyncio.create_task(emu.request_reconnect())
        during = await emu.invoke("generate", {"prompt": "during the reconnect"}, user=second, wait=False)
        await reconnect
        reconnects += 1
        await during.wait_response(timeout=5)
        assert not during.original_message.ephemeral, during.original_message
        await emu.request_reconnect()
        reconnects += 1
        # and once without warning: the socket just closes, discord.py resumes by itself
        resumed = emu.gateway.resumes
        await emu.gateway.ws.close(code=4000, message=b"unknown error")
        await until(lambda: emu.gateway.resumes > resumed, what="the bot resumed after an abrupt close")
        reconnects += 1
        settled = await settle(bot.jobs.store, users, emu=emu, at_least=2, timeout=30)
    audit = await fault_figures.audit(request, emu, bot_config, users, faults=reconnects)
    assert emu.gateway.resumes == reconnects
    assert settled, audit.explain()
    assert audit.delivered == 2, audit.explain()
    assert not emu.violations and not emu.unhandled
