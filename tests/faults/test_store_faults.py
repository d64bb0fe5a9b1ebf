"""The job store unable to write when a job is accepted: the disk full, or the store locked by
another process. The user must get a clear ephemeral refusal in time, nothing may reach
ComfyUI, no row may be half-written or left open, and the bot must work again once the disk
has room or the lock is gone. Every scenario runs on SQLite and on PostgreSQL (the session's
throwaway server, tests/core/postgres_server.py); store_faults.py makes each fault on each."""

from __future__ import annotations

import pytest

from discomfy.config import override
from discomfy.core.jobs.store import JobStore, JobStoreError
from discomfy.testing.bot_harness import running_bot
from tests.core.postgres_server import postgres_server  # noqa: F401 - the session's server
from tests.faults.audit import settle, until
from tests.faults.store_faults import FILLER_USER, StoreFaults


@pytest.fixture(params=["sqlite", "postgresql"])
async def faults(request, bot_config, monkeypatch):
    """The store's faults, on each engine: a PostgreSQL run gets a fresh schema."""
    if request.param == "postgresql":
        server = request.getfixturevalue("postgres_server")
        override(bot_config, "jobs.store_url", await server.create_database())
    made = StoreFaults(bot_config, monkeypatch)
    assert made.store.engine == request.param
    return made


def prompts_queued(fake) -> int:
    return fake.count("POST", "/prompt") + fake.count("POST", "/upload")


async def test_disk_full_when_a_job_is_accepted(discord_emulator, fake_comfyui, bot_config, faults,
                                                fault_figures, request):
    emu, fake = discord_emulator, fake_comfyui
    await faults.fill_disk()
    async with JobStore.from_config(bot_config) as store:
        old_jobs = await store.jobs_for_user(FILLER_USER, active_only=False, limit=1000)

    user = emu.make_user("unlucky")
    async with running_bot(emu, fake, bot_config):
        refused = await emu.invoke("generate", {"prompt": "no room for me"}, user=user, timeout=3)
    answer = refused.original_message
    assert answer.ephemeral and "could not save your job" in answer.content and "try again" in answer.content, answer
    assert prompts_queued(fake) == 0
    assert await faults.intact() == "ok"
    async with JobStore.from_config(bot_config) as store:
        assert await store.jobs_for_user(int(user.id), active_only=False) == []
        assert len(await store.jobs_for_user(FILLER_USER, active_only=False, limit=1000)) == len(old_jobs) > 0

    # the owner frees space: the same store takes jobs again
    await faults.free_disk()
    async with running_bot(emu, fake, bot_config) as bot:
        await emu.invoke("generate", {"prompt": "room again"}, user=user)
        settled = await settle(bot.jobs.store, [user], emu=emu, timeout=20)
    audit = await fault_figures.audit(request, emu, bot_config, [user], faults=1)
    assert settled and audit.delivered == 1, audit.explain()
    assert not emu.violations and not emu.unhandled


async def test_store_locked_by_another_process_when_a_job_is_accepted(discord_emulator, fake_comfyui, bot_config,
                                                                      faults, fault_figures, request):
    emu, fake = discord_emulator, fake_comfyui
    user = emu.make_user("blocked")
    async with running_bot(emu, fake, bot_config) as bot:
        # another process (a backup tool, a second bot on the same store) holds the write lock
        await faults.lock()
        try:
            refused = await emu.invoke("generate", {"prompt": "locked out"}, user=user, wait=False)
            try:
                await refused.wait_response(timeout=3.5)
            except AssertionError:
                pass  # judged below, after the figures are recorded
        finally:
            await faults.unlock()
        queued_while_locked = prompts_queued(fake)
        # the lock is gone: the next attempt goes through
        await emu.invoke("generate", {"prompt": "unlocked"}, user=user)
        settled = await settle(bot.jobs.store, [user], emu=emu, timeout=5)
    assert await faults.intact() == "ok"
    audit = await fault_figures.audit(request, emu, bot_config, [user], faults=1)
    answer = refused.original_message
    assert answer is not None, f"the user got no answer while the store was locked: {refused.response_error}"
    assert refused.response_type == 4 and answer.ephemeral, refused.response
    assert "could not save your job" in answer.content and "try again" in answer.content, answer
    assert queued_while_locked == 0
    assert settled and audit.delivered == 1, audit.explain()
    assert not emu.violations and not emu.unhandled


async def test_store_locked_while_a_job_finishes_leaves_no_job_open(discord_emulator, fake_comfyui, bot_config,
                                                                    faults, monkeypatch, fault_figures, request):
    """The store refuses writes (locked) exactly when the running job's result arrives. Nothing
    is sent before its delivery intent is recorded (else a stop right then could send it
    twice), so the result waits for the lock; once the lock is gone the user gets it once and
    the store keeps no job open."""
    emu, fake = discord_emulator, fake_comfyui
    fake.simulate("SamplerCustomAdvanced", 6, 0.05)
    refusals: list[JobStoreError] = []

    class ImpatientStore(JobStore):  # the same failure as the default wait, sooner; counts its refusals
        @classmethod
        def from_config(cls, config, **kwargs):
            return super().from_config(config, **{**kwargs, "busy_timeout": 0.3})

        async def claim_intent(self, *args, **kwargs):
            try:
                return await super().claim_intent(*args, **kwargs)
            except JobStoreError as exc:
                refusals.append(exc)
                raise

    user = emu.make_user("unlucky")
    monkeypatch.setattr("discomfy.bot.job_runner.JobStore", ImpatientStore)
    async with running_bot(emu, fake, bot_config) as bot:
        await emu.invoke("generate", {"prompt": "locked at the finish"}, user=user)

        async def on_comfyui() -> bool:
            jobs = await bot.jobs.store.jobs_for_user(int(user.id), active_only=False)
            return bool(jobs and jobs[0].prompt_id)

        await until(on_comfyui, what="the job running on ComfyUI")
        await faults.lock()
        try:
            await until(lambda: fake.worker.running is None and not fake.worker.pending, what="ComfyUI done")
            await until(lambda: len(refusals) >= 2, what="the delivery intent refused twice by the locked store")
            sent_while_locked = [r for r in emu.requests if r.files and "Job " in str(r.json)]
        finally:
            await faults.unlock()
        settled = await settle(bot.jobs.store, [user], emu=emu, timeout=5)
    assert await faults.intact() == "ok"
    audit = await fault_figures.audit(request, emu, bot_config, [user], faults=1)
    assert settled, audit.explain()
    assert sent_while_locked == [], "a result was sent before its delivery intent was recorded"
