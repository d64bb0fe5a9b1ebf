"""Every result and job button, clicked in the emulator, also after the bot restarted."""

from __future__ import annotations

import pytest

from discomfy.core.jobs.job import JobState
from discomfy.testing.bot_harness import running_bot
from tests.bot.support import (
    answer_text, assert_settled, final_state, embed_text, image_size, is_failure, job_id_of, png_bytes, wait_idle,
                               saved_outputs, wait_outcome, wait_result)


def button(message, action: str) -> str:
    return next(c for c in message.custom_ids if c.split(":")[1] == action)


async def first_result(emu, user=None, **options):
    inter = await emu.invoke("generate", {"prompt": "a red fox", "seed": 11, **options}, user=user)
    return await wait_result(emu, inter)


async def test_reroll_starts_a_new_job_with_a_new_seed(discord_emulator, fake_comfyui, bot):
    emu = discord_emulator
    result = await first_result(emu, aspect_ratio="9:16")
    click = await emu.click(result, button(result, "reroll"))
    rerolled = await wait_result(emu, click)
    assert rerolled.id != result.id and job_id_of(rerolled) != job_id_of(result)
    new_job = await bot.jobs.store.get(job_id_of(rerolled))
    assert new_job.seed != 11 and new_job.parameters["aspect_ratio"] == "9:16"
    assert rerolled.attachments[0].data in saved_outputs(fake_comfyui)
    await assert_settled(emu, bot)


async def test_edit_opens_a_modal_and_edits_the_result_image(discord_emulator, fake_comfyui, bot):
    emu = discord_emulator
    result = await first_result(emu, aspect_ratio="16:9")
    edit_id = next(c for c in result.custom_ids if c.startswith("discomfy:edit:") and c.endswith(":editflux"))
    opened = await emu.click(result, edit_id)
    assert opened.modal is not None
    submitted = await emu.submit_modal(opened, {"What should change?": "make it snow"})
    edited = await wait_result(emu, submitted)
    job = await bot.jobs.store.get(job_id_of(edited))
    assert job.workflow == "editflux" and job.parameters["prompt"] == "make it snow"
    assert result.attachments[0].data in fake_comfyui.files.files["input"].values(), "the result image was the input"
    await assert_settled(emu, bot)


async def test_info_shows_every_parameter_only_to_the_clicker(discord_emulator, fake_comfyui, bot):
    emu = discord_emulator
    result = await first_result(emu, steps=12, guidance=4.5)
    info = await emu.click(result, button(result, "info"), user=emu.make_user("bob"))
    text = await answer_text(emu, info)
    for expected in ("a red fox", "`11`", "steps", "`12`", "guidance", "`4.5`", "aspect_ratio", "generate-flux"):
        assert expected in text, f"{expected!r} missing from the info answer: {text}"
    await assert_settled(emu, bot)


async def test_only_the_owner_can_delete(discord_emulator, fake_comfyui, bot):
    emu = discord_emulator
    alice, mallory = emu.make_user("alice"), emu.make_user("mallory")
    result = await first_result(emu, user=alice)
    refused = await emu.click(result, button(result, "delete"), user=mallory)
    assert alice.mention in await answer_text(emu, refused) and "delete" in await answer_text(emu, refused)
    assert not result.deleted
    done = await emu.click(result, button(result, "delete"), user=alice)
    assert "Deleted" in await answer_text(emu, done) and result.deleted
    await assert_settled(emu, bot)


async def test_cancel_removes_a_waiting_job_and_interrupts_a_running_one(discord_emulator, fake_comfyui, bot):
    emu = discord_emulator
    alice, mallory = emu.make_user("alice"), emu.make_user("mallory")
    fake_comfyui.simulate("SamplerCustomAdvanced", steps=200, step_delay=0.02)
    running = await emu.invoke("generate", {"prompt": "first"}, user=alice)
    waiting = await emu.invoke("generate", {"prompt": "second"}, user=alice)
    await emu.wait_for_message(lambda m: m.id == running.original_message.id and "Step" in embed_text(m))
    pending_msg = waiting.original_message
    assert "Position in queue: **1**" in embed_text(pending_msg)

    refused = await emu.click(pending_msg, button(pending_msg, "cancel"), user=mallory)
    assert alice.mention in await answer_text(emu, refused)
    cancel_waiting = await emu.click(pending_msg, button(pending_msg, "cancel"), user=alice)
    assert "Cancelled" in await answer_text(emu, cancel_waiting)
    assert await final_state(bot, job_id_of(pending_msg)) == JobState.CANCELLED
    assert "Cancelled" in embed_text(pending_msg) and not pending_msg.custom_ids

    run_msg = running.original_message
    cancel_running = await emu.click(run_msg, button(run_msg, "cancel"), user=alice)
    ended = await wait_outcome(emu, running)
    assert is_failure(ended) and "cancel" in embed_text(ended).lower()
    assert "Cancel" in await answer_text(emu, cancel_running)
    assert await final_state(bot, job_id_of(run_msg)) == JobState.CANCELLED
    assert len(fake_comfyui.worker.history) == 1, "the waiting job never reached ComfyUI"
    await assert_settled(emu, bot)


async def test_a_cancel_read_before_the_job_started_still_interrupts_comfyui(discord_emulator, fake_comfyui, bot):
    """A Cancel click reads the job from the store, then cancels it. Read while the prompt was
    being queued and applied once the bot had written "running", it used to find no prompt to
    interrupt and leave it to the run, which had already looked: the user read "Cancelled" while
    the GPU finished the job for nothing."""
    emu = discord_emulator
    await emu.invoke("loras")  # warm the bot's view of the server before slowing it down
    fake_comfyui.slow_http(0.3)
    fake_comfyui.simulate("SamplerCustomAdvanced", steps=200, step_delay=0.05)  # 10 s unless interrupted
    inter = await emu.invoke("generate", {"prompt": "a cancel that arrives late"})
    progress = inter.original_message
    await emu.wait_for_message(lambda m: m.id == progress.id and "Starting" in embed_text(m))
    job_id = button(progress, "cancel").split(":")[2]
    read_by_the_click = await bot.jobs.store.get(job_id)
    assert read_by_the_click.prompt_id is None, "still queueing the prompt"
    fake_comfyui.slow_http(0)
    # a step shown means the run is past queueing: its own check for a cancel is behind it
    await emu.wait_for_message(lambda m: m.id == progress.id and "Step" in embed_text(m), timeout=30)
    assert await bot.jobs.cancel(read_by_the_click)
    ended = await wait_outcome(emu, inter)
    assert "cancelled" in embed_text(ended)
    assert await final_state(bot, job_id) == JobState.CANCELLED
    entries = list(fake_comfyui.worker.history.values())
    assert entries and not any(entry["status"]["completed"] for entry in entries), "ComfyUI was not interrupted"
    await assert_settled(emu, bot)


async def test_buttons_work_after_the_bot_restarts(discord_emulator, fake_comfyui, bot_config):
    emu = discord_emulator
    alice, bob = emu.make_user("alice"), emu.make_user("bob")
    async with running_bot(emu, fake_comfyui, bot_config):
        result = await first_result(emu, user=alice)
        other = await first_result(emu, user=alice, prompt="an owl")
        opened = await emu.click(other, next(c for c in other.custom_ids if c.endswith(":editqwen")), user=alice)
    async with running_bot(emu, fake_comfyui, bot_config) as second:
        # a modal opened before the restart is answered after it
        edited = await wait_result(emu, await emu.submit_modal(opened, {"What should change?": "add a moon"}))
        assert (await second.jobs.store.get(job_id_of(edited))).workflow == "editqwen"
        info = await emu.click(result, button(result, "info"), user=bob)
        assert "a red fox" in await answer_text(emu, info)
        reroll = await emu.click(result, button(result, "reroll"), user=bob)
        rerolled = await wait_result(emu, reroll)
        assert (await second.jobs.store.get(job_id_of(rerolled))).user_id == int(bob.id)
        opened = await emu.click(other, next(c for c in other.custom_ids if c.endswith(":editflux")), user=bob)
        edited = await wait_result(emu, await emu.submit_modal(opened, {"What should change?": "add a sun"}))
        assert (await second.jobs.store.get(job_id_of(edited))).workflow == "editflux"
        refused = await emu.click(result, button(result, "delete"), user=bob)
        assert not result.deleted and alice.mention in await answer_text(emu, refused)
        deleted = await emu.click(result, button(result, "delete"), user=alice)
        assert "Deleted" in await answer_text(emu, deleted) and result.deleted
        await assert_settled(emu, second)


async def test_reroll_of_an_edit_reuses_the_image_comfyui_stored_even_when_it_was_renamed(discord_emulator, fake_comfyui, bot):
    emu = discord_emulator
    await wait_result(emu, await emu.invoke("editflux", {"prompt": "a"},
                                            attachments={"image": ("photo.png", png_bytes(90, 60, "red"), "image/png")}))
    second = await wait_result(emu, await emu.invoke("editflux", {"prompt": "b"},
                                                     attachments={"image": ("photo.png", png_bytes(60, 90, "blue"), "image/png")}))
    await wait_idle(bot)  # the store is updated right after the message is sent
    assert (await bot.jobs.store.get(job_id_of(second))).parameters["image"] == "photo (1).png", "ComfyUI renamed the clash"
    click = await emu.click(second, button(second, "reroll"))
    rerolled = await wait_result(emu, click)
    graph = list(fake_comfyui.worker.history.values())[-1]["prompt"][2]
    assert [n["inputs"]["image"] for n in graph.values() if n["class_type"] == "LoadImage"] == ["photo (1).png"]
    assert image_size(rerolled.attachments[0].data)[0] < image_size(rerolled.attachments[0].data)[1], "the portrait input"
    await assert_settled(emu, bot)


async def test_a_job_lost_by_a_comfyui_restart_offers_retry_with_the_same_seed(discord_emulator, fake_comfyui, bot):
    emu = discord_emulator
    fake_comfyui.simulate("SamplerCustomAdvanced", steps=100, step_delay=0.02)
    inter = await emu.invoke("generate", {"prompt": "lost", "seed": 99})
    await emu.wait_for_message(lambda m: m.id == inter.original_message.id and "Step" in embed_text(m))
    await fake_comfyui.restart()
    failed = await wait_outcome(emu, inter)
    assert is_failure(failed) and "lost this job" in embed_text(failed)
    fake_comfyui.simulate("SamplerCustomAdvanced", steps=1, step_delay=0)
    retried = await wait_result(emu, await emu.click(failed, button(failed, "retry")))
    assert (await bot.jobs.store.get(job_id_of(retried))).seed == 99
    await assert_settled(emu, bot)


@pytest.mark.parametrize("sampler_delay", [0.02, 0.0], ids=["interrupted-in-comfyui", "finished-before-the-interrupt"])
async def test_cancel_while_the_inputs_upload_is_honoured(discord_emulator, fake_comfyui, bot, sampler_delay):
    emu = discord_emulator
    await emu.invoke("loras")  # warm the bot's view of the server before slowing it down
    fake_comfyui.slow_http(0.3)
    fake_comfyui.simulate("KSampler", steps=100, step_delay=sampler_delay)
    inter = await emu.invoke("editflux", {"prompt": "x"}, attachments={"image": ("a.png", png_bytes(), "image/png")})
    progress = inter.original_message
    await emu.wait_for_message(lambda m: m.id == progress.id and "Starting" in embed_text(m))
    cancel = button(progress, "cancel")
    job_id = cancel.split(":")[2]
    assert (await bot.jobs.store.get(job_id)).prompt_id is None, "still uploading"
    click = await emu.click(progress, cancel)
    assert "Cancelled" in await answer_text(emu, click)
    ended = await wait_outcome(emu, inter)
    assert "cancelled" in embed_text(ended)
    fake_comfyui.slow_http(0)
    if sampler_delay:  # the interrupt reached ComfyUI while it sampled
        assert not any(entry["status"]["completed"] for entry in fake_comfyui.worker.history.values())
    assert await final_state(bot, job_id) == JobState.CANCELLED
    await assert_settled(emu, bot)
