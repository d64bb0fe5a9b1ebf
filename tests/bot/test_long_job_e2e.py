"""A job that outlives its 15-minute interaction token still reaches its user."""

from __future__ import annotations

from tests.bot.support import assert_settled, embed_text, is_result, saved_outputs, wait_idle


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


async def test_a_job_whose_message_was_deleted_gets_its_result_posted_once(discord_emulator, fake_comfyui, bot):
    """A moderator deleted the job's "running" message: the intent (edit that message) cannot be
    finished, so it moves to a channel post mentioning the user -- once."""
    from discomfy.testing.audit import jobs_in, seen

    emu = discord_emulator
    bob = emu.make_user("bob")
    fake_comfyui.simulate("SamplerCustomAdvanced", steps=30, step_delay=0.02)
    inter = await emu.invoke("generate", {"prompt": "a deleted lighthouse"}, user=bob)
    progress = inter.original_message
    (job_id,) = jobs_in(progress)
    await emu.wait_for_message(lambda m: m.id == progress.id and "Step" in embed_text(m))
    progress.deleted = True

    result = await emu.wait_for_message(lambda m: m.id != progress.id and is_result(m), timeout=10)
    assert bob.mention in result.content and result.interaction_id is None
    await assert_settled_allowing_the_404(emu, bot)
    view = seen(emu, job_id)
    assert view.kind == "result" and view.results == 1 and view.duplicates == 0, view
    assert (await bot.jobs.store.get(job_id)).delivery_intent == f"post:discomfy-{job_id}"


async def assert_settled_allowing_the_404(emu, bot):
    """The edits of the deleted message are refused by Discord (that is how the bot learns it
    is gone); nothing else may be."""
    await wait_idle(bot)
    refused = [v for v in emu.violations if "Unknown Message" in str(v) and "PATCH" in str(v)]
    assert refused, "the edit of the deleted message must have been tried and refused"
    emu.violations[:] = [v for v in emu.violations if v not in refused]
    await assert_settled(emu, bot)
