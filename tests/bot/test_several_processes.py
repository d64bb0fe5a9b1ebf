"""Several DisComfy processes on one PostgreSQL store (issue 24 point 2), each a bot with its own
shard of the emulator, so Discord sends each guild's commands to one process only.

The process started first is elected to schedule (discomfy.core.jobs.leadership); the other
accepts commands, writes jobs and announces them. Here: a command the follower receives is run
and delivered once by the scheduler; the per-user cap holds across the two; Cancel pressed in
the follower's guild ends a waiting job and interrupts a running one; and when the scheduler
stops with a job running on ComfyUI, the follower is elected, re-attaches to it and delivers it
once. The SIGKILL variant, with real ``discomfy run`` processes, is
tests/faults/test_scheduler_takeover.py."""

from __future__ import annotations

import asyncio
import contextlib
from pathlib import Path
from typing import Any, AsyncIterator

import pytest

from discomfy.bot.sharding import make_bot
from discomfy.core.jobs.store import JobStore
from discomfy.testing.bot_harness import build_config, install_models
from tests.bot.support import answer_text, embed_text, png_bytes
from tests.conftest import REPO_ROOT
from tests.core.postgres_server import postgres_server  # noqa: F401 - the session's server
from tests.faults.audit import until

SHARDS = 2


def settings(store_url: str, shard: int, **more: Any) -> dict[str, Any]:
    return {"discord.shard_count": SHARDS, "discord.shard_ids": [shard], "discord.dev_guild_id": 0,
            "jobs.store_url": store_url, "progress.edit_interval": 0.05, **more}


@contextlib.asynccontextmanager
async def process(emu: Any, fake: Any, root: Path, values: dict[str, Any]) -> AsyncIterator[Any]:
    """One bot as ``discomfy run`` builds it from ``values``, started against the emulator."""
    root.mkdir()
    config = build_config(root, emulator=emu, comfyui_url=fake.url, plugin_dirs=[REPO_ROOT / "plugins"],
                          workflow_dirs=[REPO_ROOT / "workflows"], settings=values)
    bot = make_bot(config)
    bot.discord_clock = emu.clock.now
    load = bot.plugins.load

    async def load_then_install() -> Any:
        report = await load()
        install_models(fake, bot)
        return report

    bot.plugins.load = load_then_install  # type: ignore[method-assign]
    async with emu.run_bot(bot):
        yield bot


@pytest.fixture
async def pair(tmp_path, discord_emulator, fake_comfyui, postgres_server):  # noqa: F811
    """Start processes on one fresh store: ``await pair.start(shard, **settings)``; the first
    started leads. Each guild of ``pair.guilds`` is on the shard of the same index."""
    store_url = await postgres_server.create_database()
    stack = contextlib.AsyncExitStack()
    guilds = [discord_emulator.add_guild(f"guild on shard {s}", shard=(s, SHARDS)) for s in range(SHARDS)]

    class Pair:
        url = store_url

        async def start(self, shard: int, name: str, **more: Any) -> Any:
            return await stack.enter_async_context(
                process(discord_emulator, fake_comfyui, tmp_path / name, settings(store_url, shard, **more)))

    Pair.guilds = guilds
    async with stack:
        yield Pair()


async def generate(emu: Any, guild: Any, user: Any, prompt: str) -> Any:
    return await emu.invoke("generate", {"prompt": prompt}, user=user, channel_id=guild.channel_id, timeout=30)


async def result_of(emu: Any, inter: Any, timeout: float = 30) -> Any:
    return await emu.wait_for_message(lambda m: m.id == inter.original_message.id and m.attachments, timeout=timeout)


async def ended(url: str, user: Any) -> Any:
    """The user's one job, once the store shows it ended (nothing is sent for it after that)."""
    async def final() -> Any:
        async with JobStore(url) as store:
            (job,) = await store.jobs_for_user(int(user.id), active_only=False)
        return job if job.is_final else None

    return await until(final, what=f"the job of {user.name} ended in the store")


def uploads(emu: Any, message_id: str) -> int:
    return sum(1 for r in emu.requests if r.method == "PATCH" and r.path.endswith(f"/messages/{message_id}")
               and r.files and r.status < 300)


async def test_a_command_the_follower_takes_is_run_by_the_scheduler_and_delivered_once(
        pair, discord_emulator, fake_comfyui):
    emu = discord_emulator
    leader = await pair.start(0, "leader")
    follower = await pair.start(1, "follower")
    assert leader.jobs.leadership.is_leader and not follower.jobs.leadership.is_leader
    alice = emu.make_user("alice")
    inter = await generate(emu, pair.guilds[1], alice, "a lighthouse asked of the follower")
    assert inter.response_error is None
    result = await result_of(emu, inter)
    job = await ended(pair.url, alice)
    assert job.state.value == "delivered" and uploads(emu, result.id) == 1
    assert leader.jobs.intake.taken == 1 and follower.jobs.intake.taken == 0
    assert list(fake_comfyui.worker.history) == [job.prompt_id]
    assert [s.client.connected for s in leader.jobs.servers] == [True]  # the scheduler holds the socket
    assert [s.client.connected for s in follower.jobs.servers] == [False]  # the follower opened none
    assert not emu.violations and not emu.unhandled


async def test_the_per_user_cap_holds_across_processes(pair, discord_emulator, fake_comfyui):
    emu = discord_emulator
    held = fake_comfyui.hold_at("SamplerCustomAdvanced")
    await pair.start(0, "leader", **{"limits.max_queued_per_user": 1})
    await pair.start(1, "follower", **{"limits.max_queued_per_user": 1})
    bob = emu.make_user("bob")
    first = await generate(emu, pair.guilds[0], bob, "a first lighthouse")
    second = await generate(emu, pair.guilds[1], bob, "a second lighthouse, in another guild")
    assert "You already have 1 job waiting or running" in await answer_text(emu, second)
    held.set()
    await result_of(emu, first)


async def test_cancel_in_the_followers_guild_ends_a_waiting_job_and_interrupts_a_running_one(
        pair, discord_emulator, fake_comfyui):
    emu = discord_emulator
    held = fake_comfyui.hold_at("SamplerCustomAdvanced")
    leader = await pair.start(0, "leader")
    await pair.start(1, "follower")
    carol, dave = emu.make_user("carol"), emu.make_user("dave")
    running = await generate(emu, pair.guilds[1], carol, "a lighthouse that runs")
    await until(lambda: leader.jobs.job_queue.snapshot().running, what="the first job running")
    waiting = await generate(emu, pair.guilds[1], dave, "a lighthouse that waits")
    await until(lambda: len(leader.jobs.job_queue) == 1, what="the second job waiting in the scheduler's queue")

    async def cancel(inter: Any, user: Any) -> str:
        message = emu.messages[inter.original_message.id]
        button = next(c for c in message.custom_ids if c.startswith("discomfy:cancel:"))
        return await answer_text(emu, await emu.click(message, button, user=user, timeout=15))

    assert await cancel(waiting, dave) == "Cancelled."
    await until(lambda: len(leader.jobs.job_queue) == 0, what="the scheduler dropping the cancelled job")
    assert await cancel(running, carol) == "Cancelled."
    held.set()  # the fake ComfyUI stops a prompt at its next node once the held one returns
    await emu.wait_for_message(lambda m: m.id == running.original_message.id and m.embeds
                               and "Cancelled" in (m.embeds[0].get("description") or ""), timeout=15)
    assert [(await ended(pair.url, u)).state.value for u in (carol, dave)] == ["cancelled", "cancelled"]
    assert len(fake_comfyui.worker.history) <= 1  # the waiting job never reached ComfyUI
    assert not emu.violations and not emu.unhandled


async def test_when_the_scheduler_stops_the_follower_takes_over_and_delivers_the_running_job_once(
        pair, discord_emulator, fake_comfyui, tmp_path):
    emu = discord_emulator
    held = fake_comfyui.hold_at("SamplerCustomAdvanced")
    async with contextlib.AsyncExitStack() as first_only:
        leader = await first_only.enter_async_context(
            process(emu, fake_comfyui, tmp_path / "leader", settings(pair.url, 0)))
        follower = await pair.start(1, "follower")
        erin = emu.make_user("erin")
        inter = await generate(emu, pair.guilds[1], erin, "a lighthouse outliving its scheduler")
        await until(lambda: leader.jobs.job_queue.snapshot().running, what="the job running on ComfyUI")
    # the scheduler is gone; ComfyUI still runs the prompt it queued
    await asyncio.wait_for(follower.jobs.leadership.elected.wait(), 10)
    held.set()
    result = await result_of(emu, inter)
    assert (await ended(pair.url, erin)).state.value == "delivered" and uploads(emu, result.id) == 1
    assert not emu.violations and not emu.unhandled


async def test_fairness_holds_across_processes_one_queue_serves_users_in_turn(pair, discord_emulator, fake_comfyui):
    """Alice sends three jobs through one process, then Bob one through the other, while one
    slot runs Alice's first: Bob's starts before her third (users in turn, as one process's
    round-robin queue serves them), not after it (first come, first served)."""
    emu = discord_emulator
    held = fake_comfyui.hold_at("SamplerCustomAdvanced")
    leader = await pair.start(0, "leader")
    await pair.start(1, "follower")
    alice, bob = emu.make_user("alice"), emu.make_user("bob")
    await generate(emu, pair.guilds[1], alice, "alice's first lighthouse")
    await until(lambda: leader.jobs.job_queue.snapshot().running, what="alice's first job on ComfyUI")
    for n in ("second", "third"):
        await generate(emu, pair.guilds[1], alice, f"alice's {n} lighthouse")
    await until(lambda: len(leader.jobs.job_queue) == 2, what="alice's two jobs waiting")
    bobs_answer = await generate(emu, pair.guilds[0], bob, "bob's lighthouse")
    await until(lambda: len(leader.jobs.job_queue) == 3, what="bob's job waiting behind alice's")
    shown = embed_text(emu.messages[bobs_answer.original_message.id])
    assert "Queued" in shown and "Position in queue" not in shown  # only the scheduler knows the place
    held.set()
    bobs = await ended(pair.url, bob)

    async def alices_ended() -> Any:
        async with JobStore(pair.url) as store:
            jobs = sorted(await store.jobs_for_user(int(alice.id), active_only=False), key=lambda j: j.created_at)
        return jobs if all(j.is_final for j in jobs) else None

    first, second, third = await until(alices_ended, what="alice's jobs ended")
    assert first.started_at < second.started_at < bobs.started_at < third.started_at


async def test_an_image_sent_to_the_follower_is_read_again_by_the_scheduler(pair, discord_emulator, fake_comfyui):
    emu = discord_emulator
    leader = await pair.start(0, "leader")
    await pair.start(1, "follower")
    hana = emu.make_user("hana")
    inter = await emu.invoke("editflux", {"prompt": "add a hat"}, user=hana, channel_id=pair.guilds[1].channel_id,
                             attachments={"image": ("cat.png", png_bytes(), "image/png")}, timeout=30)
    await result_of(emu, inter)
    assert (await ended(pair.url, hana)).state.value == "delivered"
    assert leader.jobs.intake.taken == 1  # the scheduler, which never saw the interaction, ran it
    assert fake_comfyui.count("POST", "/upload/image") == 1  # with the image it read again


async def test_a_lost_notification_is_made_up_for_by_the_schedulers_poll(pair, discord_emulator, monkeypatch):
    emu = discord_emulator
    leader = await pair.start(0, "leader", **{"jobs.poll_interval": 0.5})
    follower = await pair.start(1, "follower")

    async def lost(kind: str, job_id: str) -> None:
        return None  # as if the notification never arrived

    monkeypatch.setattr(follower.jobs.leadership, "announce", lost)
    ivan = emu.make_user("ivan")
    inter = await generate(emu, pair.guilds[1], ivan, "a lighthouse nobody announced")
    await result_of(emu, inter)
    assert leader.jobs.intake.taken == 1


@pytest.mark.timeout(300)  # four bot starts and four jobs: minutes on a loaded 2-core machine
async def test_a_rolling_restart_of_both_processes_loses_nothing(pair, discord_emulator, fake_comfyui, tmp_path):
    """Each process is stopped and started again in turn, the scheduler first, while jobs wait and
    run: every job is delivered exactly once (``discomfy run`` closes the bot the same way after
    SIGTERM; bench/soak.py --processes 3 --term-every does it with real signals)."""
    emu = discord_emulator
    fake_comfyui.simulate("SamplerCustomAdvanced", 10, 0.1)  # about a second per job
    users = [emu.make_user(f"roller{i}") for i in range(4)]
    stack = contextlib.AsyncExitStack()
    first = await stack.enter_async_context(process(emu, fake_comfyui, tmp_path / "a1", settings(pair.url, 0)))
    async with contextlib.AsyncExitStack() as second_stack:
        second = await second_stack.enter_async_context(
            process(emu, fake_comfyui, tmp_path / "b1", settings(pair.url, 1)))
        asked = [await generate(emu, pair.guilds[i % 2], u, f"a rolling lighthouse {i}") for i, u in enumerate(users)]
        await stack.aclose()  # the scheduler stops first, its jobs waiting and running
        await asyncio.wait_for(second.jobs.leadership.elected.wait(), 10)
        first = await pair.start(0, "a2")
    # the second (now scheduling) stops; the first, started again, takes over
    await asyncio.wait_for(first.jobs.leadership.elected.wait(), 10)
    await pair.start(1, "b2")
    for inter in asked:
        await result_of(emu, inter, timeout=60)
    for user in users:
        assert (await ended(pair.url, user)).state.value == "delivered"
    for inter in asked:
        assert uploads(emu, inter.original_message.id) == 1
    assert not emu.violations and not emu.unhandled


async def test_a_scheduler_that_loses_its_lock_connection_stops_and_another_leads(
        pair, discord_emulator, postgres_server):  # noqa: F811
    import asyncpg

    from discomfy.core.jobs.leadership_postgres import LEADER_SQL

    leader = await pair.start(0, "leader")
    follower = await pair.start(1, "follower")
    conn = await asyncpg.connect(postgres_server.url())
    try:
        (row,) = await conn.fetch(LEADER_SQL)
        await conn.execute("SELECT pg_terminate_backend($1)", row["pid"])  # its connection dies, it lives
    finally:
        await conn.close()
    await asyncio.wait_for(follower.jobs.leadership.elected.wait(), 10)
    await until(lambda: leader.is_closed(), what="the deposed scheduler stopping itself", timeout=10)
    assert "lost the scheduling lock" in leader.jobs.stopped_because


async def test_status_in_the_followers_guild_shows_the_schedulers_queue(pair, discord_emulator, fake_comfyui):
    """/status answered by a process that does not schedule shows the queue as the store has it:
    the job running on ComfyUI and the one waiting, not its own empty queue."""
    emu = discord_emulator
    held = fake_comfyui.hold_at("SamplerCustomAdvanced")
    leader = await pair.start(0, "leader")
    await pair.start(1, "follower")
    jo, kim = emu.make_user("jo"), emu.make_user("kim")
    await generate(emu, pair.guilds[0], jo, "a lighthouse that runs")
    await until(lambda: leader.jobs.job_queue.snapshot().running, what="jo's job on ComfyUI")
    await generate(emu, pair.guilds[0], kim, "a lighthouse that waits")
    await until(lambda: len(leader.jobs.job_queue) == 1, what="kim's job waiting")
    status = await emu.invoke("status", {}, user=kim, channel_id=pair.guilds[1].channel_id, timeout=15)
    text = await answer_text(emu, status, timeout=15)
    (running,) = leader.jobs.job_queue.snapshot().running
    assert f"1 waiting · running: `{running.job_id}` (<@{jo.id}>)" in text
    held.set()
