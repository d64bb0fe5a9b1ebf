"""What restart recovery does with each kind of unfinished job it finds, as the user sees it.

One real bot (its plugins, its store, the Discord emulator, the fake ComfyUI) is started once
for the module; each test writes the job as a stopped bot would have left it in the store and
calls recovery on it, then looks at what the channel shows and how the job ended. A bot start
costs seconds, a recovery a fraction of one, so mutation runs of ``bot/recovery.py``
(bench/mutation.py) stay fast. The end-to-end restarts (a bot really stopped and started, a
job really running on ComfyUI) are tests/bot/test_restart_recovery.py and tests/faults.
"""

from __future__ import annotations

import logging
import time
from collections.abc import AsyncIterator
from pathlib import Path
from types import SimpleNamespace
from typing import Any

import pytest
import pytest_asyncio
from discord.gateway import DiscordWebSocket
from discord.http import Route

from discomfy.bot import recovery
from discomfy.bot.recovery import LOST, NOT_ANNOUNCED, NOT_UPLOADED, orphaned, recover_jobs, recover_one
from discomfy.core.jobs.job import Job, JobState
from discomfy.exceptions import ComfyUIError
from discomfy.testing.bot_harness import build_config, running_bot
from discomfy.testing.discord_emulator import DiscordEmulator
from discomfy.testing.fake_comfyui import FakeComfyUI
from tests.faults.audit import until

pytestmark = pytest.mark.asyncio(loop_scope="module")
ROOT = Path(__file__).resolve().parents[2]
WORKFLOW = "generate-flux"


@pytest_asyncio.fixture(scope="module", loop_scope="module")
async def world(tmp_path_factory: pytest.TempPathFactory) -> AsyncIterator[SimpleNamespace]:
    saved = (Route.BASE, DiscordWebSocket.DEFAULT_GATEWAY)
    emu, fake = DiscordEmulator(), FakeComfyUI()
    await emu.start()
    await fake.start()
    try:
        config = build_config(ROOT, emulator=emu, comfyui_url=fake.url, store_dir=tmp_path_factory.mktemp("recovery"))
        async with running_bot(emu, fake, config) as bot:
            yield SimpleNamespace(emu=emu, fake=fake, bot=bot, user=emu.make_user("owner"))
    finally:
        await fake.stop()
        await emu.stop()
        Route.BASE, DiscordWebSocket.DEFAULT_GATEWAY = saved


async def left(world: SimpleNamespace, state: JobState = JobState.RUNNING, **fields: Any) -> Job:
    """A job as a stopped bot left it: no interaction token to use (the new process never had
    it in hand), so whatever recovery sends is a channel post."""
    values: dict[str, Any] = dict(user_id=int(world.user.id), plugin="generate", command="generate",
                                  workflow=WORKFLOW, channel_id=int(world.emu.channel_id),
                                  guild_id=int(world.emu.guild_id), parameters={"prompt": "a lighthouse"})
    values.update(fields)
    return await world.bot.jobs.store.add(Job(state=state, **values))


def shown(world: SimpleNamespace, job: Job) -> list[Any]:
    return [m for m in world.emu.messages.values()
            if not m.deleted and any((e.get("footer") or {}).get("text", "").startswith(f"Job {job.id}") for e in m.embeds)]


def buttons(message: Any) -> list[str]:
    return [c.get("label") for row in message.components for c in row.get("components", [])]


async def ended(world: SimpleNamespace, job: Job) -> Job:
    return await world.bot.jobs.store.get(job.id)


# --- a delivery the stopped bot had begun ------------------------------------------------


@pytest.mark.parametrize(("outcome", "state", "retry"), [
    ("failed+retry", JobState.FAILED, True), ("failed", JobState.FAILED, False),
    ("cancelled", JobState.CANCELLED, False), ("withheld", JobState.WITHHELD, False)])
async def test_a_failure_the_stopped_bot_was_delivering_is_finished_as_recorded(world, outcome, state, retry):
    """The stopped bot had recorded which failure it was sending: the next start sends exactly
    that one -- its words, its Retry button or none, its final state -- not a new verdict."""
    job = await left(world, server="gpu-gone", prompt_id="p-gone")
    reason = f"The image server went down ({outcome})."
    assert await world.bot.jobs.store.claim_intent(job.id, f"post:discomfy-{job.id}", outcome, note=reason,
                                                   at=world.emu.clock.now())
    assert await recover_one(world.bot, await ended(world, job)) == "failed"
    (message,) = shown(world, job)
    assert message.embeds[0]["description"] == reason
    assert ("Retry" in buttons(message)) is retry
    final = await ended(world, job)
    assert final.state is state and final.error_message == reason


async def test_a_recorded_failure_without_its_words_still_tells_the_user_the_job_was_lost(world):
    job = await left(world)
    assert await world.bot.jobs.store.claim_intent(job.id, f"post:discomfy-{job.id}", "failed+retry",
                                                   at=world.emu.clock.now())
    await recover_one(world.bot, await ended(world, job))
    (message,) = shown(world, job)
    assert message.embeds[0]["description"] == LOST and "Retry" in buttons(message)


# --- a job that never reached ComfyUI, or is unknown there ---------------------------------


async def test_a_job_whose_workflow_was_uninstalled_fails_naming_it(world):
    job = await left(world, state=JobState.QUEUED, workflow="removed-pack", progress_message_id=1)
    assert await recover_one(world.bot, job) == "failed"
    (message,) = shown(world, job)
    assert message.embeds[0]["description"] == "The workflow `removed-pack` is no longer installed on this bot."
    assert (await ended(world, job)).state is JobState.FAILED


async def test_a_job_never_announced_is_reported_with_retry(world):
    job = await left(world, state=JobState.ACCEPTED)
    assert await recover_one(world.bot, job) == "failed"
    (message,) = shown(world, job)
    assert message.embeds[0]["description"] == NOT_ANNOUNCED and "Retry" in buttons(message)


async def test_a_job_whose_image_lived_only_in_the_old_process_asks_for_it_again(world):
    job = await left(world, state=JobState.QUEUED, workflow="editflux", progress_message_id=1,
                     parameters={"prompt": "make it red", "image": "cat.png"}, input_urls={})
    if world.bot.plugins.workflows.get(job.workflow) is None:
        pytest.fail(f"the test needs an image workflow; {job.workflow} is not installed")
    assert await recover_one(world.bot, job) == "failed"
    (message,) = shown(world, job)
    assert message.embeds[0]["description"] == NOT_UPLOADED and "Retry" not in buttons(message)


async def test_a_prompt_comfyui_no_longer_knows_is_reported_lost_with_retry(world):
    server = world.bot.jobs.servers.primary
    job = await left(world, server=server.name, prompt_id="never-queued-here", progress_message_id=1)
    assert await recover_one(world.bot, job) == "failed"
    (message,) = shown(world, job)
    assert message.embeds[0]["description"] == LOST and "Retry" in buttons(message)
    assert (await ended(world, job)).state is JobState.FAILED


async def test_a_waiting_job_is_queued_again_and_then_delivered_once(world):
    job = await left(world, state=JobState.QUEUED, progress_message_id=1)
    assert await recover_one(world.bot, job) == "requeued"
    final = await _until_final(world, job)
    assert final.state is JobState.DELIVERED
    (message,) = shown(world, job)
    assert message.attachments


# --- which jobs a restart looks at ----------------------------------------------------------


async def test_with_a_shared_store_a_job_another_process_still_holds_is_left_to_it(world):
    """Several processes on one store: an accepted job younger than ``ORPHANED_AFTER`` is its
    accepting process's; older, that process is taken for dead and the job is recovered."""
    now = time.time()  # recovery's clock: the store's updated_at is wall time
    fresh = await left(world, state=JobState.ACCEPTED)
    stale = await left(world, state=JobState.ACCEPTED)
    await world.bot.jobs.store.execute("UPDATE jobs SET updated_at = ? WHERE id = ?",
                                       (now - recovery.ORPHANED_AFTER - 5, stale.id), write=True)
    await world.bot.jobs.store.execute("UPDATE jobs SET updated_at = ? WHERE id = ?",
                                       (now - recovery.ORPHANED_AFTER + 5, fresh.id), write=True)
    counts = await recover_jobs(world.bot, shared=True)
    assert counts["failed"] >= 1
    assert (await ended(world, stale)).state is JobState.FAILED
    assert (await ended(world, fresh)).state is JobState.ACCEPTED and not shown(world, fresh)
    assert await world.bot.jobs.store.finish(fresh.id, "failed", intent=None)  # leave nothing open


async def test_a_half_done_job_is_orphaned_only_after_the_grace_period():
    accepted = Job(user_id=1, plugin="p", state=JobState.ACCEPTED, updated_at=1000.0)
    delivering = Job(user_id=1, plugin="p", state=JobState.QUEUED, updated_at=1000.0, delivery_intent="post:x")
    waiting = Job(user_id=1, plugin="p", state=JobState.QUEUED, updated_at=1000.0)
    grace = recovery.ORPHANED_AFTER
    assert not orphaned(accepted, 1000.0 + grace) and orphaned(accepted, 1000.0 + grace + 0.5)
    assert orphaned(delivering, 1000.0 + grace + 0.5)
    assert not orphaned(waiting, 1000.0 + grace + 0.5)


@pytest.mark.parametrize("error", [RuntimeError("bug in recovery"),
                                   ComfyUIError("The image server is not reachable right now.", detail="refused")])
async def test_a_recovery_that_crashes_still_ends_the_job_with_a_plain_failure(world, monkeypatch, caplog, error):
    """The user reads plain words (the error's own, when it has words for users) with Retry;
    the operator's log names the job and carries the traceback."""
    job = await left(world, state=JobState.QUEUED, progress_message_id=1)

    async def broken(bot: Any, job: Any, **kwargs: Any) -> str:
        raise error

    monkeypatch.setattr(recovery, "recover_one", broken)
    with caplog.at_level(logging.ERROR):
        counts = await recover_jobs(world.bot)
    assert counts["failed"] >= 1
    (message,) = shown(world, job)
    words = message.embeds[0]["description"]
    assert "Retry" in buttons(message) and "bug in recovery" not in words
    assert (words == "The image server is not reachable right now.") is isinstance(error, ComfyUIError)
    logged = [(r.getMessage(), r.exc_info and r.exc_info[1]) for r in caplog.records if r.name == "discomfy.bot.recovery"]
    assert (f"recovery of job {job.id} failed", error) in logged


async def _until_final(world: SimpleNamespace, job: Job) -> Job:
    return await until(lambda: _final(world, job), timeout=30, what=f"job {job.id} ended")


async def _final(world: SimpleNamespace, job: Job) -> Job | None:
    current = await ended(world, job)
    return current if current.is_final else None
