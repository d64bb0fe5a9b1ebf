"""Restart recovery of a waiting job that had input images: they lived only in the stopped
process's memory, so recovery reads them again from where Discord serves them, checks them like
the first time, and queues the job with them -- or, when one cannot be read or is no image,
asks its user to run the command again (no Retry: the image would be missing again).

Same stage as tests/bot/test_recovery_resumes.py (one real bot for the module). Written to kill
the mutants of ``bot/recovery.py``'s ``read_inputs_again`` that no test reached
(bench/mutation.py, docs/mutation.md).
"""

from __future__ import annotations

import logging

import pytest

from discomfy.bot.recovery import NOT_UPLOADED, recover_one
from discomfy.core.jobs.job import JobState
from discomfy.testing.discord_emulator.message_ops import make_attachment
from tests.bot.support import png_bytes
from tests.bot.test_recovery_resumes import _until_final, buttons, ended, left, shown, world  # noqa: F401 - fixture

pytestmark = pytest.mark.asyncio(loop_scope="module")
WORKFLOW = "editflux"


async def waiting_with(world, **input_urls: str):
    if world.bot.plugins.workflows.get(WORKFLOW) is None:
        pytest.fail(f"the test needs an image workflow; {WORKFLOW} is not installed")
    return await left(world, state=JobState.QUEUED, workflow=WORKFLOW, progress_message_id=1,
                      parameters={"prompt": "make it red", "image": "cat.png"}, input_urls=input_urls)


async def test_a_waiting_job_runs_with_its_image_read_again_from_discord(world):
    data = png_bytes(96, 64, "blue")
    served = make_attachment(world.emu, world.emu.channel_id, "cat.png", data)
    job = await waiting_with(world, image=served.url)
    assert await recover_one(world.bot, job) == "requeued"
    final = await _until_final(world, job)
    assert final.state is JobState.DELIVERED
    assert world.fake.files.files["input"].get("cat.png") == data  # the very bytes, under the user's file name
    (message,) = shown(world, job)
    assert message.attachments


@pytest.mark.parametrize("case", ["gone", "not an image", "no address"])
async def test_an_image_that_cannot_be_read_again_asks_for_the_command_again(world, caplog, case):
    if case == "gone":
        url = f"{world.emu.base_url}/attachments/{world.emu.channel_id}/1/cat.png"  # nothing served there
    elif case == "not an image":
        url = make_attachment(world.emu, world.emu.channel_id, "cat.png", b"plain text, not a picture").url
    else:
        url = ""
    job = await waiting_with(world, image=url)
    with caplog.at_level(logging.WARNING, logger="discomfy.bot.recovery"):
        assert await recover_one(world.bot, job) == "failed"
    (message,) = shown(world, job)
    assert message.embeds[0]["description"] == NOT_UPLOADED and "Retry" not in buttons(message)
    assert (await ended(world, job)).state is JobState.FAILED
    reads = [r.getMessage() for r in caplog.records if "could not read its input" in r.getMessage()]
    assert reads == ([f"job {job.id}: could not read its input image again: Discord did not hand over `cat.png` "
                      "(HTTP 404); please attach it again."] if case == "gone" else [])
