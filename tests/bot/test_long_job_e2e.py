"""A job that outlives its 15-minute interaction token still reaches its user."""

from __future__ import annotations

from tests.bot.support import assert_settled, embed_text, is_result, saved_outputs


async def test_a_16_minute_job_is_delivered_through_the_channel_with_a_mention(discord_emulator, fake_comfyui, bot):
    emu = discord_emulator
    alice = emu.make_user("alice")
    fake_comfyui.simulate("SamplerCustomAdvanced", steps=40, step_delay=0.01)
    inter = await emu.invoke("generate", {"prompt": "a slow sunrise"}, user=alice)
    progress = inter.original_message
    await emu.wait_for_message(lambda m: m.id == progress.id and "Step" in embed_text(m))
    emu.clock.advance(16 * 60)  # Discord now refuses this interaction's token

    result = await emu.wait_for_message(lambda m: m.id != progress.id and is_result(m), timeout=10)
    assert alice.mention in result.content
    assert result.attachments[0].data in saved_outputs(fake_comfyui)
    assert not result.ephemeral and result.interaction_id is None, "sent as a channel message"
    await emu.wait_for_message(lambda m: m.id == progress.id and "finished" in embed_text(m))
    assert not progress.custom_ids, "the stale Cancel button is gone"
    await assert_settled(emu, bot)
