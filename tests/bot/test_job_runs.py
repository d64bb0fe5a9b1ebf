"""What the bot holds in memory about a job (its JobRun) goes when the job ends, whichever way."""

from __future__ import annotations

from tests.bot.support import assert_settled, embed_text, is_failure, wait_outcome, wait_result
from tests.bot.test_buttons_e2e import button


async def test_no_job_run_outlives_its_job(discord_emulator, fake_comfyui, bot):
    emu = discord_emulator
    alice = emu.make_user("alice")
    await wait_result(emu, await emu.invoke("generate", {"prompt": "delivered", "seed": 1}, user=alice))

    fake_comfyui.simulate("SamplerCustomAdvanced", steps=200, step_delay=0.02)
    running = await emu.invoke("generate", {"prompt": "running"}, user=alice)
    waiting = await emu.invoke("generate", {"prompt": "waiting"}, user=alice)
    await emu.wait_for_message(lambda m: m.id == running.original_message.id and "Step" in embed_text(m))
    assert len(list(bot.jobs.generation.runs)) == 2  # both are held while they live
    for inter in (waiting, running):
        message = inter.original_message
        await emu.click(message, button(message, "cancel"), user=alice)
    assert is_failure(await wait_outcome(emu, running))

    await assert_settled(emu, bot)
    assert list(bot.jobs.generation.runs) == []
