"""Restart recovery over the whole store, as an operator reads it in the log, and the jobs whose
delivery had begun when they meet a dead end: they are finished through the recorded intent
(the same message, the same nonce), never left open because a delivery "is under way".

Same stage as tests/bot/test_recovery_resumes.py (one real bot for the module). Written to kill
mutants of ``bot/recovery.py`` the other recovery tests let live (bench/mutation.py,
docs/mutation.md).
"""

from __future__ import annotations

import logging
from typing import Any

import pytest

from discomfy.bot import recovery
from discomfy.bot.recovery import recover_jobs, recover_one
from discomfy.core.jobs.job import JobState
from discomfy.exceptions import ComfyUIError
from tests.bot.test_recovery_resumes import _final, buttons, ended, left, shown, world  # noqa: F401 - fixture
from tests.faults.audit import until

pytestmark = pytest.mark.asyncio(loop_scope="module")


async def delivering_a_result(world, **fields: Any):
    job = await left(world, **fields)
    assert await world.bot.jobs.store.claim_intent(job.id, f"post:discomfy-{job.id}", "result", at=world.emu.clock.now())
    return await ended(world, job)


async def test_the_log_says_how_many_jobs_went_which_way(world, caplog):
    await left(world, state=JobState.ACCEPTED)  # never announced: one failure
    waiting = [await left(world, state=JobState.QUEUED, progress_message_id=1) for _ in range(2)]  # two requeued
    with caplog.at_level(logging.INFO, logger="discomfy.bot.recovery"):
        counts = await recover_jobs(world.bot)
    (line,) = [r.getMessage() for r in caplog.records if r.getMessage().startswith("recovered jobs")]
    assert counts == {"followed": 0, "delivered": 0, "requeued": 2, "failed": 1}
    assert line == "recovered jobs after restart: {'followed': 0, 'delivered': 0, 'requeued': 2, 'failed': 1}"
    for job in waiting:
        await until(lambda job=job: _final(world, job), timeout=30)


async def test_with_a_shared_store_a_waiting_job_nobody_is_delivering_is_recovered_at_once(world):
    """Several processes on one store: a waiting job no delivery has begun on is nobody's
    half-done work (unlike a fresh accepted job, left to its process): it is queued again."""
    fresh = await left(world, state=JobState.ACCEPTED)
    waiting = await left(world, state=JobState.QUEUED, progress_message_id=1)
    assert await recover_jobs(world.bot, shared=True) == {"followed": 0, "delivered": 0, "requeued": 1, "failed": 0}
    await until(lambda: _final(world, waiting), timeout=30)
    assert (await ended(world, fresh)).state is JobState.ACCEPTED
    assert await world.bot.jobs.store.finish(fresh.id, "failed", intent=None)  # leave nothing open


async def test_a_crashing_recovery_of_a_job_being_delivered_finishes_that_delivery(world, monkeypatch):
    job = await delivering_a_result(world, state=JobState.QUEUED, progress_message_id=1)

    async def broken(bot: Any, job: Any, **kwargs: Any) -> str:
        raise RuntimeError("bug in recovery")

    monkeypatch.setattr(recovery, "recover_one", broken)
    await recover_jobs(world.bot)
    final = await ended(world, job)
    assert final.state is JobState.FAILED and final.delivery_intent == f"post:discomfy-{job.id}"
    (message,) = shown(world, job)
    assert message.nonce == f"discomfy-{job.id}" and "Retry" in buttons(message)


async def test_a_job_being_delivered_whose_workflow_is_gone_is_told_so_through_that_delivery(world):
    job = await delivering_a_result(world, state=JobState.QUEUED, workflow="removed-pack", progress_message_id=1)
    assert await recover_one(world.bot, job) == "failed"
    (message,) = shown(world, job)
    assert message.embeds[0]["description"] == "The workflow `removed-pack` is no longer installed on this bot."
    assert message.nonce == f"discomfy-{job.id}"
    assert (await ended(world, job)).state is JobState.FAILED


async def test_a_waiting_job_is_queued_again_as_a_new_one_would_be(world):
    """Requeued like a new job: only for the servers that can run it, grouped by the model
    files its workflow loads, past the per-user cap when a shared store already counted it, and
    with the old server and prompt forgotten (a second restart before it runs must queue it
    again, not look for the abandoned prompt)."""
    queue, server = world.bot.jobs.job_queue, world.bot.jobs.servers.primary
    limit, cap = queue.server_limit(server.name), queue.max_per_user
    jobs = [await left(world, state=JobState.QUEUED, progress_message_id=1, server="gpu-gone", prompt_id="p-old")
            for _ in range(2)]
    queue.set_server_limit(server.name, 0)  # nothing starts while the test looks
    queue.max_per_user = 1
    try:
        assert await recover_one(world.bot, jobs[0]) == "requeued"
        assert await recover_one(world.bot, jobs[1], capped=False) == "requeued"  # over the cap of 1
        waiting = {job.job_id: job for job in queue.snapshot().pending}
        for job in jobs:  # generate-flux's graph loads these four files
            assert waiting[job.id].servers == frozenset({server.name})
            assert waiting[job.id].models == {"flux1-dev.safetensors", "t5xxl_fp16.safetensors", "ae.safetensors",
                                              "clip_l.safetensors"}
            stored = await ended(world, job)
            assert (stored.state, stored.server, stored.prompt_id) == (JobState.QUEUED, None, None)
    finally:
        queue.max_per_user = cap
        queue.set_server_limit(server.name, limit)
    for job in jobs:
        await until(lambda job=job: _final(world, job), timeout=30)


@pytest.mark.parametrize("prompt", ["finished", "unknown"])
async def test_a_job_being_delivered_whose_server_did_not_answer_is_followed_and_ends_through_that_delivery(
        world, monkeypatch, caplog, prompt):
    """The stopped bot had begun delivering the job's result when it stopped, and at the restart
    its server does not answer: recovery follows the job. When the server answers, the job ends
    through the delivery already recorded -- the same nonce, one message -- with its result
    (the prompt is in ComfyUI's history) or with the loss (ComfyUI no longer knows it)."""
    if prompt == "finished":
        done = await left(world, state=JobState.QUEUED, progress_message_id=1)
        assert await recover_one(world.bot, done) == "requeued"
        prompt_id = (await until(lambda: _final(world, done), timeout=30)).prompt_id
    else:
        prompt_id = "p-unknown-to-comfyui"
    server = world.bot.jobs.servers.primary
    job = await delivering_a_result(world, server=server.name, prompt_id=prompt_id, progress_message_id=1)
    real = server.client.get_history

    async def not_answering(*args: Any, **kwargs: Any) -> Any:
        monkeypatch.setattr(server.client, "get_history", real)  # only the restart's look fails
        raise ComfyUIError("The image server is not reachable right now.", detail="connection refused")

    monkeypatch.setattr(server.client, "get_history", not_answering)
    with caplog.at_level(logging.WARNING, logger="discomfy.bot.recovery"):
        assert await recover_one(world.bot, job) == "followed"
    assert f"job {job.id}: connection refused; following it until the server answers" in caplog.messages
    final = await until(lambda: _final(world, job), timeout=30)
    (message,) = shown(world, job)
    assert message.nonce == f"discomfy-{job.id}" and final.delivery_intent == f"post:discomfy-{job.id}"
    if prompt == "finished":
        assert final.state is JobState.DELIVERED and message.attachments
    else:
        assert final.state is JobState.FAILED and not message.attachments


async def test_a_job_being_delivered_whose_result_is_in_comfyuis_history_is_finished_through_that_delivery(world):
    """The stopped bot had begun delivering the result of a prompt ComfyUI has in its history:
    the restart finishes that delivery (the same nonce, one message), not a new one."""
    done = await left(world, state=JobState.QUEUED, progress_message_id=1)
    assert await recover_one(world.bot, done) == "requeued"
    prompt_id = (await until(lambda: _final(world, done), timeout=30)).prompt_id
    job = await delivering_a_result(world, server=world.bot.jobs.servers.primary.name, prompt_id=prompt_id,
                                    progress_message_id=1)
    assert await recover_one(world.bot, job) == "delivered"
    final = await ended(world, job)
    (message,) = shown(world, job)
    assert final.state is JobState.DELIVERED and message.attachments and message.nonce == f"discomfy-{job.id}"
