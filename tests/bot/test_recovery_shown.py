"""Restart recovery of a result whose send may have landed before the stop, when ComfyUI can no
longer give it again (its server restarted and lost the prompt): if the job's message already
shows the result, the job is recorded delivered and the user keeps that one message; only when
nothing shows it is the user told the job was lost, with Retry.

Same stage as tests/bot/test_recovery_resumes.py (one real bot for the module). Written to kill
the mutants of ``bot/recovery.py``'s ``_already_shown`` that no test reached
(bench/mutation.py, docs/mutation.md).
"""

from __future__ import annotations

import io
import logging

import discord
import pytest

from discomfy.bot.recovery import LOST, recover_one
from discomfy.core.jobs.job import JobState
from tests.bot.support import png_bytes
from tests.bot.test_recovery_resumes import buttons, ended, left, shown, world  # noqa: F401 - fixture

pytestmark = pytest.mark.asyncio(loop_scope="module")


async def lost_on_comfyui(world, intent: str, message_id: int | None = None):
    """A job whose result delivery was under way (intent recorded) on a server that no longer
    knows its prompt."""
    server = world.bot.jobs.servers.primary
    job = await left(world, server=server.name, prompt_id="lost-in-restart", progress_message_id=message_id)
    intent = intent.format(id=job.id, message=message_id)
    assert await world.bot.jobs.store.claim_intent(job.id, intent, "result", at=world.emu.clock.now())
    return await ended(world, job)


async def posted_by_the_bot(world, job_id: str, *, with_file: bool = True) -> discord.Message:
    embed = discord.Embed(title="/generate · flux").set_footer(text=f"Job {job_id}")
    files = [discord.File(io.BytesIO(png_bytes()), "out.png")] if with_file else []
    return await world.bot.get_partial_messageable(int(world.emu.channel_id)).send(embed=embed, files=files)


@pytest.mark.parametrize("intent", ["edit:{message}", "post:discomfy-{id}"])
async def test_a_result_that_landed_before_the_stop_is_recorded_not_replaced_by_lost(world, intent):
    message = await posted_by_the_bot(world, "0" * 12)
    job = await lost_on_comfyui(world, intent, message_id=message.id)
    await message.edit(embed=discord.Embed(title="/generate · flux").set_footer(text=f"Job {job.id}"))  # file kept
    assert await recover_one(world.bot, job) == "delivered"
    final = await ended(world, job)
    assert final.state is JobState.DELIVERED and final.result_message_id == message.id
    assert [m.id for m in shown(world, job)] == [str(message.id)]


@pytest.mark.parametrize("intent", ["edit:{message}", "post:discomfy-{id}", "original"])
async def test_a_result_that_did_not_land_is_reported_lost_with_retry(world, intent):
    """The job's message shows no file (the edit never landed), there is no post, or the
    interaction's reply was never looked up: the user is told, once, with Retry."""
    placeholder = await posted_by_the_bot(world, "0" * 12, with_file=False)
    job = await lost_on_comfyui(world, intent, message_id=placeholder.id)
    assert await recover_one(world.bot, job) == "failed"
    (message,) = [m for m in shown(world, job) if m.embeds[0].get("description") == LOST]
    assert "Retry" in buttons(message)
    assert (await ended(world, job)).state is JobState.FAILED


async def test_a_reply_recovery_cannot_look_at_is_logged_and_the_loss_reported(world, caplog):
    placeholder = await posted_by_the_bot(world, "0" * 12)
    job = await lost_on_comfyui(world, "edit:{message}", message_id=placeholder.id)
    world.emu.inject_error("GET /channels/*/messages/*", 403, 50001, "Missing Access")
    with caplog.at_level(logging.INFO, logger="discomfy.bot.recovery"):
        assert await recover_one(world.bot, job) == "failed"
    (line,) = [r.getMessage() for r in caplog.records if "could not look" in r.getMessage()]
    assert line == f"job {job.id}: could not look at its message (403 Forbidden (error code: 50001): Missing Access)"
    assert (await ended(world, job)).state is JobState.FAILED


async def test_only_the_bots_posts_since_the_intent_count_not_the_older_queued_message(world):
    """The job's "Queued" message (no file) was posted long before the delivery began: the
    look for the result starts at the intent (less a minute), so the result post is found."""
    server = world.bot.jobs.servers.primary
    job = await left(world, server=server.name, prompt_id="lost-in-restart")
    await posted_by_the_bot(world, job.id, with_file=False)  # the old "Queued" message
    world.emu.clock.advance(600)
    assert await world.bot.jobs.store.claim_intent(job.id, f"post:discomfy-{job.id}", "result", at=world.emu.clock.now())
    message = await posted_by_the_bot(world, job.id)
    assert await recover_one(world.bot, await ended(world, job)) == "delivered"
    assert (await ended(world, job)).result_message_id == message.id
