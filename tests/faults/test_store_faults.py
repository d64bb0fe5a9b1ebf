"""The job store unable to write when a job is accepted: the disk full, or the file locked by
another process. The user must get a clear ephemeral refusal in time, nothing may reach
ComfyUI, no row may be half-written or left open, and the bot must work again once the disk
has room or the lock is gone."""

from __future__ import annotations

import asyncio
import sqlite3

import pytest

from discomfy.core.jobs.store import JobStore, JobStoreError
from discomfy.core.jobs.job import Job
from discomfy.testing.bot_harness import running_bot
from tests.faults.audit import settle, until

FILLER_USER = 1


def store_path(config) -> str:
    return JobStore.from_config(config).path


async def fill_the_disk(config) -> int:
    """Write finished jobs until a store capped at its current size refuses; return the cap."""
    async with JobStore.from_config(config):
        pass  # creates the file with its schema
    with sqlite3.connect(store_path(config)) as conn:
        pages = conn.execute("PRAGMA page_count").fetchone()[0]
    rows = 0
    async with JobStore.from_config(config, pragmas={"max_page_count": pages}) as capped:
        for words in (40, 8, 1, 0):  # big rows first, then ever smaller ones into the gaps
            with pytest.raises(JobStoreError):
                while True:
                    await capped.add(Job(user_id=FILLER_USER, plugin="old", state="delivered",
                                         parameters={"prompt": "an old job " * words}))
                    rows += 1
    assert rows >= 1, "the cap must leave room for some rows, so the file is really full afterwards"
    return pages


def integrity(config) -> str:
    with sqlite3.connect(store_path(config)) as conn:
        return conn.execute("PRAGMA integrity_check").fetchone()[0]


def prompts_queued(fake) -> int:
    return fake.count("POST", "/prompt") + fake.count("POST", "/upload")


async def test_disk_full_when_a_job_is_accepted(discord_emulator, fake_comfyui, bot_config, monkeypatch,
                                                fault_figures, request):
    emu, fake = discord_emulator, fake_comfyui
    pages = await fill_the_disk(bot_config)
    async with JobStore.from_config(bot_config) as store:
        old_jobs = await store.jobs_for_user(FILLER_USER, active_only=False, limit=1000)

    class FullDisk(JobStore):
        @classmethod
        def from_config(cls, config, **kwargs):
            return super().from_config(config, pragmas={"max_page_count": pages}, **kwargs)

    user = emu.make_user("unlucky")
    with monkeypatch.context() as patch:
        patch.setattr("discomfy.bot.job_runner.JobStore", FullDisk)
        async with running_bot(emu, fake, bot_config):
            refused = await emu.invoke("generate", {"prompt": "no room for me"}, user=user, timeout=3)
    answer = refused.original_message
    assert answer.ephemeral and "could not save your job" in answer.content and "try again" in answer.content, answer
    assert prompts_queued(fake) == 0
    assert integrity(bot_config) == "ok"
    async with JobStore.from_config(bot_config) as store:
        assert await store.jobs_for_user(int(user.id), active_only=False) == []
        assert len(await store.jobs_for_user(FILLER_USER, active_only=False, limit=1000)) == len(old_jobs)

    # the owner frees space: the same store file takes jobs again
    async with running_bot(emu, fake, bot_config) as bot:
        await emu.invoke("generate", {"prompt": "room again"}, user=user)
        settled = await settle(bot.jobs.store, [user], emu=emu, timeout=20)
    audit = await fault_figures.audit(request, emu, bot_config, [user], faults=1)
    assert settled and audit.delivered == 1, audit.explain()
    assert not emu.violations and not emu.unhandled


async def test_store_locked_by_another_process_when_a_job_is_accepted(discord_emulator, fake_comfyui, bot_config,
                                                                      fault_figures, request):
    emu, fake = discord_emulator, fake_comfyui
    user = emu.make_user("blocked")
    async with running_bot(emu, fake, bot_config) as bot:
        # another process (a backup tool, a second bot on the same file) holds the write lock
        other = sqlite3.connect(store_path(bot_config), isolation_level=None)
        try:
            other.execute("BEGIN IMMEDIATE")
            refused = await emu.invoke("generate", {"prompt": "locked out"}, user=user, wait=False)
            try:
                await refused.wait_response(timeout=3.5)
            except AssertionError:
                pass  # judged below, after the figures are recorded
            other.execute("ROLLBACK")
        finally:
            other.close()
        queued_while_locked = prompts_queued(fake)
        # the lock is gone: the next attempt goes through
        await emu.invoke("generate", {"prompt": "unlocked"}, user=user)
        settled = await settle(bot.jobs.store, [user], emu=emu, timeout=5)
    assert integrity(bot_config) == "ok"
    audit = await fault_figures.audit(request, emu, bot_config, [user], faults=1)
    answer = refused.original_message
    assert answer is not None, f"the user got no answer while the store was locked: {refused.response_error}"
    assert refused.response_type == 4 and answer.ephemeral, refused.response
    assert "could not save your job" in answer.content and "try again" in answer.content, answer
    assert queued_while_locked == 0
    assert settled and audit.delivered == 1, audit.explain()
    assert not emu.violations and not emu.unhandled


async def test_store_locked_while_a_job_finishes_leaves_no_job_open(discord_emulator, fake_comfyui, bot_config,
                                                                    monkeypatch, fault_figures, request):
    """The store refuses writes (locked) exactly when the running job's result arrives. Nothing
    is sent before its delivery intent is recorded (else a stop right then could send it
    twice), so the result waits for the lock; once the lock is gone the user gets it once and
    the store keeps no job open."""
    emu, fake = discord_emulator, fake_comfyui
    fake.simulate("SamplerCustomAdvanced", 6, 0.05)

    class ImpatientStore(JobStore):  # the same failure as the default 5 s wait, sooner
        @classmethod
        def from_config(cls, config, **kwargs):
            return super().from_config(config, **{**kwargs, "busy_timeout": 0.3})

    user = emu.make_user("unlucky")
    monkeypatch.setattr("discomfy.bot.job_runner.JobStore", ImpatientStore)
    async with running_bot(emu, fake, bot_config) as bot:
        await emu.invoke("generate", {"prompt": "locked at the finish"}, user=user)

        async def on_comfyui() -> bool:
            jobs = await bot.jobs.store.jobs_for_user(int(user.id), active_only=False)
            return bool(jobs and jobs[0].prompt_id)

        await until(on_comfyui, what="the job running on ComfyUI")
        other = sqlite3.connect(store_path(bot_config), isolation_level=None)
        try:
            other.execute("BEGIN IMMEDIATE")
            await until(lambda: fake.worker.running is None and not fake.worker.pending, what="ComfyUI done")
            await asyncio.sleep(1.5)  # several refused store writes
            sent_while_locked = [r for r in emu.requests if r.files and "Job " in str(r.json)]
            other.execute("ROLLBACK")
        finally:
            other.close()
        settled = await settle(bot.jobs.store, [user], emu=emu, timeout=5)
    assert integrity(bot_config) == "ok"
    audit = await fault_figures.audit(request, emu, bot_config, [user], faults=1)
    assert settled, audit.explain()
    assert sent_while_locked == [], "a result was sent before its delivery intent was recorded"
