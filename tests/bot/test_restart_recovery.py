"""The bot stopped and started mid-job: every job still ends delivered or clearly failed, once."""

from __future__ import annotations

import asyncio

from discomfy.core.jobs.store import JobStore
from discomfy.testing.bot_harness import running_bot

SLOW_SAMPLER = ("SamplerCustomAdvanced", 20, 0.05)  # about a second of "sampling"


async def until(predicate, timeout: float = 10.0):
    """Wait for a condition the test cannot subscribe to (store rows, fake server state)."""
    loop = asyncio.get_running_loop()
    end = loop.time() + timeout
    while not (value := await predicate()):
        assert loop.time() < end, "condition not met in time"
        await asyncio.sleep(0.02)
    return value


async def stored_job(config):
    async with JobStore.from_config(config) as store:
        jobs = await store.jobs_for_user(int(discord_user_id(config)), active_only=False)
    return jobs[0] if jobs else None


def discord_user_id(config):
    return config.get("test_user_id")


async def start_job(emu, fake, config, *, wait_for_prompt: bool):
    """Start /generate with bot A and stop A once the job reached ComfyUI (or our queue)."""
    fake.simulate(*SLOW_SAMPLER)
    alice = emu.make_user("alice")
    config.set("test_user_id", alice.id)
    async with running_bot(emu, fake, config) as bot:
        interaction = await emu.invoke("generate", {"prompt": "a slow lighthouse"}, user=alice)
        if wait_for_prompt:
            await until(lambda: _has_prompt(bot))
    return interaction


async def _settled(bot):
    return not await bot.jobs.store.unfinished()


async def _has_prompt(bot):
    jobs = await bot.jobs.store.unfinished()
    return bool(jobs and jobs[0].prompt_id)


def deliveries(emu, interaction):
    message = interaction.original_message
    return [r for r in emu.requests if r.method == "PATCH" and r.path.endswith(f"/messages/{message.id}") and r.files]


async def test_job_running_on_comfyui_is_followed_after_restart_and_delivered_once(discord_emulator, fake_comfyui, bot_config):
    emu = discord_emulator
    interaction = await start_job(emu, fake_comfyui, bot_config, wait_for_prompt=True)
    async with running_bot(emu, fake_comfyui, bot_config) as bot:
        message = await emu.wait_for_message(lambda m: m.id == interaction.original_message.id and m.attachments, timeout=15)
        assert message.attachments[0].data.startswith(b"\x89PNG")
        await until(lambda: _settled(bot))
    assert len(deliveries(emu, interaction)) == 1
    job = await stored_job(bot_config)
    assert job.state == "delivered"
    assert not emu.violations and not emu.unhandled


async def test_job_that_finished_while_the_bot_was_down_is_delivered_from_history(discord_emulator, fake_comfyui, bot_config):
    emu = discord_emulator
    interaction = await start_job(emu, fake_comfyui, bot_config, wait_for_prompt=True)
    job = await stored_job(bot_config)
    await until(lambda: _in_history(fake_comfyui, job.prompt_id))
    async with running_bot(emu, fake_comfyui, bot_config) as bot:
        message = await emu.wait_for_message(lambda m: m.id == interaction.original_message.id and m.attachments, timeout=15)
        await until(lambda: _settled(bot))
    assert message.attachments and len(deliveries(emu, interaction)) == 1
    assert (await stored_job(bot_config)).state == "delivered"


async def _in_history(fake, prompt_id):
    from discomfy.core.comfyui.client import ComfyUIClient

    async with ComfyUIClient(fake.url) as client:
        return prompt_id in await client.get_history(prompt_id)


async def test_job_lost_by_a_restarted_comfyui_is_reported_with_a_retry_button_that_works(discord_emulator, fake_comfyui, bot_config):
    emu = discord_emulator
    # The job stays on the sampler until the restart loses it, however slow the machine: with only
    # the sampler's second, a loaded machine sometimes finished it first and it was delivered. And
    # no deadline may end it first either: a loop stalled 41 s (PostgreSQL copy, 4 workers on 2
    # cores) let the first bot fail it as "did not finish within 60 seconds" before it stopped.
    fake_comfyui.hold_at(SLOW_SAMPLER[0])
    bot_config.set("comfyui.job_deadline", 3600.0)
    interaction = await start_job(emu, fake_comfyui, bot_config, wait_for_prompt=True)
    await fake_comfyui.restart(lose_queue=True)
    fake_comfyui.clear_faults()  # lets the Retry's job run through
    async with running_bot(emu, fake_comfyui, bot_config):
        failed = await emu.wait_for_message(lambda m: m.id == interaction.original_message.id and m.embeds
                                            and "failed" in m.embeds[0].get("title", ""), timeout=15)
        assert "lost" in failed.embeds[0]["description"]
        retry = next(c for c in failed.custom_ids if c.startswith("discomfy:retry:"))
        clicked = await emu.click(failed, retry, user=emu.users[str(bot_config.test_user_id)])
        result = await emu.wait_for_message(lambda m: m.id == clicked.original_message.id and m.attachments, timeout=15)
        assert result.attachments[0].data.startswith(b"\x89PNG")
    assert not emu.violations and not emu.unhandled


async def test_a_job_waiting_in_our_queue_is_requeued_after_restart_with_the_models_it_loads(
        discord_emulator, fake_comfyui, bot_config):
    """Model-aware scheduling groups jobs by their models: a job taken back into the queue after a
    restart must say which ones it needs, as it did when it was first queued."""
    emu = discord_emulator
    fake_comfyui.simulate(*SLOW_SAMPLER)
    alice, bob = emu.make_user("alice"), emu.make_user("bob")
    async with running_bot(emu, fake_comfyui, bot_config) as bot:
        await emu.invoke("generate", {"prompt": "a slow lighthouse"}, user=alice)
        await emu.invoke("generate", {"prompt": "a patient harbour"}, user=bob)  # waits: one slot
        await until(lambda: _waiting_with_message(bot))
        first_models = {j.job_id: j.models for j in bot.jobs.job_queue.snapshot().pending}
    (waiting_id, models), = first_models.items()
    assert "flux1-dev.safetensors" in models
    async with running_bot(emu, fake_comfyui, bot_config) as bot:
        snapshot = bot.jobs.job_queue.snapshot()
        again = {j.job_id: j.models for j in (*snapshot.pending, *snapshot.running)}
        assert again.get(waiting_id) == models
        await until(lambda: _settled(bot), timeout=20)


async def _waiting_with_message(bot):
    pending = bot.jobs.job_queue.snapshot().pending
    if not pending:
        return False
    job = await bot.jobs.store.get(pending[0].job_id)
    return job is not None and job.progress_message_id is not None
