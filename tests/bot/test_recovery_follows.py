"""A job still running on ComfyUI when the bot restarted is followed by the new process as its
own: the queue counts it as running, for its user (the per-user cap, /status's "whose") and on
its server (that slot is taken), and its run is registered so a Cancel reaches it; when ComfyUI
finishes, its user gets the result once.

Written to kill the mutants of ``bot/recovery.py``'s ``_adopt`` that the end-to-end restart
tests let live (bench/mutation.py, docs/mutation.md).
"""

from __future__ import annotations

from discomfy.testing.bot_harness import running_bot
from tests.bot.test_restart_recovery import SLOW_SAMPLER, deliveries, start_job, until


async def test_a_job_followed_after_a_restart_is_running_for_its_user_on_its_server(discord_emulator, fake_comfyui,
                                                                                  bot_config):
    emu = discord_emulator
    sampler = fake_comfyui.hold_at(SLOW_SAMPLER[0])  # still running when the new bot looks
    bot_config.set("comfyui.job_deadline", 3600.0)
    interaction = await start_job(emu, fake_comfyui, bot_config, wait_for_prompt=True)
    async with running_bot(emu, fake_comfyui, bot_config) as bot:
        (job,) = await bot.jobs.store.unfinished()

        async def adopted():
            return bot.jobs.job_queue.snapshot().running

        (running,) = await until(adopted)
        assert (running.job_id, running.user_id, running.server) == (job.id, job.user_id, job.server)
        assert job.id in bot.jobs.generation.runs.tasks()  # what a Cancel looks up
        sampler.set()

        async def delivered():
            return (await bot.jobs.store.get(job.id)).is_final

        await until(delivered, timeout=30)
    assert len(deliveries(emu, interaction)) == 1
    assert not emu.violations and not emu.unhandled
