"""A job still running on ComfyUI when the bot restarted is followed by the new process as its
own: the queue counts it as running, for its user (the per-user cap, /status's "whose") and on
its server (that slot is taken), and its run is registered so a Cancel reaches it; its message
shows the sampler's progress; when ComfyUI finishes, its user gets the result once.

Written to kill the mutants of ``bot/recovery.py``'s ``_adopt`` that the end-to-end restart
tests let live (bench/mutation.py, docs/mutation.md).
"""

from __future__ import annotations

import re

from discomfy.testing.bot_harness import running_bot
from tests.bot.test_restart_recovery import SLOW_SAMPLER, deliveries, start_job, until


async def test_a_job_followed_after_a_restart_is_running_for_its_user_on_its_server(discord_emulator, fake_comfyui,
                                                                                  bot_config):
    emu = discord_emulator
    sampler = fake_comfyui.hold_at(SLOW_SAMPLER[0])  # still running when the new bot looks
    bot_config.set("comfyui.job_deadline", 3600.0)
    bot_config.set("comfyui.servers", [{"name": "gpu1", "url": fake_comfyui.url}])  # not the queue's default name
    interaction = await start_job(emu, fake_comfyui, bot_config, wait_for_prompt=True)
    before = len(emu.requests)
    async with running_bot(emu, fake_comfyui, bot_config) as bot:
        (job,) = await bot.jobs.store.unfinished()

        async def adopted():
            return bot.jobs.job_queue.snapshot().running

        (running,) = await until(adopted)
        assert (running.job_id, running.user_id, running.server) == (job.id, job.user_id, "gpu1") and job.server == "gpu1"
        assert job.id in bot.jobs.generation.runs.tasks()  # what a Cancel looks up
        sampler.set()

        async def delivered():
            return (await bot.jobs.store.get(job.id)).is_final

        await until(delivered, timeout=30)
    assert len(deliveries(emu, interaction)) == 1
    # the new process shows the sampler's steps on the job's message as the old one did
    edits = [r.json["embeds"][0] for r in emu.requests[before:] if r.method == "PATCH" and not r.files
             and r.path.endswith(f"/messages/{interaction.original_message.id}")]
    assert any(e.get("title") == "/generate · flux" and re.search(r"\nStep \d+/20\n", e.get("description", ""))
               for e in edits), edits
    assert not emu.violations and not emu.unhandled


async def test_a_job_followed_after_a_restart_that_outlives_its_deadline_is_reported_failed_once(
        discord_emulator, fake_comfyui, bot_config):
    """ComfyUI never finishes the job the new process follows: at the job deadline its user is
    told, in plain words, on the job's own message, and its slot on the server is freed."""
    emu = discord_emulator
    fake_comfyui.hold_at(SLOW_SAMPLER[0])  # never let go
    bot_config.set("comfyui.job_deadline", 3600.0)
    interaction = await start_job(emu, fake_comfyui, bot_config, wait_for_prompt=True)
    bot_config.set("comfyui.job_deadline", 2.0)
    async with running_bot(emu, fake_comfyui, bot_config) as bot:
        (job,) = await bot.jobs.store.unfinished()

        async def ended_and_freed():  # the store is final before the follower frees the slot
            current = await bot.jobs.store.get(job.id)
            return current if current.is_final and not bot.jobs.job_queue.snapshot().running else None

        final = await until(ended_and_freed, timeout=30)
        assert final.state == "failed"
    message = emu.messages[interaction.original_message.id]
    assert [e.get("description") for e in message.embeds] == ["The job did not finish within 2 seconds."]
    assert not emu.violations and not emu.unhandled
