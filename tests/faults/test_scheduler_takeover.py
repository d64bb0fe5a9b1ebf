"""SIGKILL of the scheduling process, with real ``discomfy run`` processes on one PostgreSQL store.

Two processes hold one shard each of the emulator; the first started schedules. A member of the
second process's guild asks for an image: that process accepts it, the scheduler runs it on
ComfyUI, and is killed (SIGKILL: no clean-up, its lock connection simply dies) while the prompt
is still sampling. The other process must be elected within the 5 s goal, re-attach to the
prompt, deliver the image exactly once, and go on scheduling new jobs; the killed process,
started again, joins as a follower. Last, the new scheduler's lock connection is cut while it
lives: it exits with status 1 naming why, and the first process leads again."""

from __future__ import annotations

import asyncio
import json
import signal
import sys
import time
from pathlib import Path
from typing import Any

import asyncpg
import pytest

from discomfy.bot.client import ComfyUIBot
from discomfy.core.jobs.leadership_postgres import LEADER_SQL
from discomfy.core.jobs.store import JobStore
from discomfy.testing.bot_harness import install_models
from tests.core.postgres_server import postgres_server  # noqa: F401 - the session's server
from tests.faults.audit import until
from tests.ops.test_sigterm import run_env

TAKEOVER_GOAL = 5.0  # seconds from the scheduler's death to another process leading (issue 24)


class Process:
    """One ``discomfy run`` on shard ``shard`` of 2, its log in ``root``."""

    def __init__(self, config: Any, root: Path, store_url: str, shard: int) -> None:
        self.root, self.shard = root, shard
        self.env = run_env(config)
        self.env.update({"DISCOMFY_JOBS__STORE_URL": store_url, "DISCOMFY_DISCORD__SHARD_COUNT": "2",
                         "DISCOMFY_DISCORD__SHARD_IDS": f"@json {json.dumps([shard])}",
                         "DISCOMFY_DISCORD__DEV_GUILD_ID": "0"})
        self.proc: asyncio.subprocess.Process | None = None

    async def start(self, emu: Any) -> Process:
        self.root.mkdir(exist_ok=True)
        with open(self.root / "bot.log", "ab") as log:
            self.proc = await asyncio.create_subprocess_exec(
                sys.executable, "-m", "discomfy", "--root", str(self.root), "run", env=self.env,
                stdout=log, stderr=log, cwd=self.root)
        await emu.gateway.wait_for_shards([(self.shard, 2)], 60)
        return self

    async def kill(self) -> None:
        if self.proc is not None and self.proc.returncode is None:
            self.proc.send_signal(signal.SIGKILL)
            await self.proc.wait()

    def log(self) -> str:
        return (self.root / "bot.log").read_text(errors="replace")[-3000:]


async def leader_pid(url: str) -> int | None:
    """The operating-system pid in the scheduling process's application_name, or None."""
    conn = await asyncpg.connect(url)
    try:
        rows = await conn.fetch(LEADER_SQL)
    finally:
        await conn.close()
    return int(rows[0]["application_name"].rsplit(" ", 1)[1]) if rows else None


async def _is(value: Any, expected: Any) -> bool:
    return await value == expected


@pytest.mark.timeout(360)  # three `discomfy run` starts: two minutes on a loaded 2-core machine
async def test_sigkill_of_the_scheduler_mid_job_another_process_takes_over_and_delivers_once(
        tmp_path, discord_emulator, fake_comfyui, bot_config, postgres_server):  # noqa: F811
    emu, fake = discord_emulator, fake_comfyui
    probe = ComfyUIBot(bot_config)
    await probe.plugins.load()
    install_models(fake, probe)
    guilds = [emu.add_guild(f"guild on shard {s}", shard=(s, 2)) for s in range(2)]
    store_url = await postgres_server.create_database()
    held = fake.hold_at("SamplerCustomAdvanced")
    first = Process(bot_config, tmp_path / "first", store_url, 0)
    second = Process(bot_config, tmp_path / "second", store_url, 1)
    try:
        await first.start(emu)
        await until(lambda: leader_pid(store_url), what="the first process elected", timeout=30)
        await second.start(emu)
        assert await leader_pid(store_url) == first.proc.pid
        frank, gina = emu.make_user("frank"), emu.make_user("gina")
        asked = await emu.invoke("generate", {"prompt": "a lighthouse whose scheduler dies"}, user=frank,
                                 channel_id=guilds[1].channel_id, timeout=30)
        async with JobStore(store_url) as store:
            async def running() -> Any:
                (job,) = await store.jobs_for_user(int(frank.id), active_only=False)
                return job if job.state.value == "running" else None

            job = await until(running, what="the job running on ComfyUI", timeout=30)
        await first.kill()
        killed_at = time.monotonic()
        await until(lambda: leader_pid(store_url), what="another process elected", timeout=TAKEOVER_GOAL)
        took = time.monotonic() - killed_at
        assert await leader_pid(store_url) == second.proc.pid
        held.set()  # ComfyUI finishes the prompt the dead scheduler queued
        result = await emu.wait_for_message(lambda m: m.id == asked.original_message.id and m.attachments,
                                            timeout=30)
        await first.start(emu)  # back, as a follower: its guild's commands reach it again
        later = await emu.invoke("generate", {"prompt": "a lighthouse for the new scheduler"}, user=gina,
                                 channel_id=guilds[0].channel_id, timeout=30)
        await emu.wait_for_message(lambda m: m.id == later.original_message.id and m.attachments, timeout=30)
        async with JobStore(store_url) as store:
            ended = {u.name: (await store.jobs_for_user(int(u.id), active_only=False))[0] for u in (frank, gina)}
        # the scheduler's lock connection dies while it lives: it stops, exit status 1, and says why
        conn = await asyncpg.connect(store_url)
        try:
            (row,) = await conn.fetch(LEADER_SQL)
            await conn.execute("SELECT pg_terminate_backend($1)", row["pid"])
        finally:
            await conn.close()
        status = await asyncio.wait_for(second.proc.wait(), 30)
        await until(lambda: _is(leader_pid(store_url), first.proc.pid), what="the first process elected again")
    finally:
        for process in (first, second):
            await process.kill()
    uploads = [r for r in emu.requests if r.method == "PATCH" and r.files and r.status < 300
               and r.path.endswith(f"/messages/{result.id}")]
    assert len(uploads) == 1, "the result was uploaded more than once"
    assert [ended[n].state.value for n in ("frank", "gina")] == ["delivered", "delivered"]
    assert ended["frank"].prompt_id == job.prompt_id  # re-attached to the prompt, not run again
    assert list(fake.worker.history).count(job.prompt_id) == 1 and len(fake.worker.history) == 2
    assert took < TAKEOVER_GOAL, f"{took:.1f} s from the scheduler's death to another process leading"
    assert status == 1 and "This process stopped because it lost the scheduling lock" in second.log(), second.log()
    assert not emu.violations and not emu.unhandled, second.log()
