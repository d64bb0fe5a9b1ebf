"""The community plugin's audit channel (issue 22, point 6): entries are batched per server so a
flood of refusals posts a handful of messages, never one per refusal, and a failing channel
neither loses what it can still post nor stops the batching.

Time is a fake clock whose sleep jumps it forward, so the background task's windows are driven
without waiting; the last test posts through a real discord.py client to the Discord emulator."""

from __future__ import annotations

import asyncio
import logging
from types import SimpleNamespace

import discord
import pytest

from plugins.community.audit import MESSAGE_LIMIT, AuditEntry, AuditLog, channel_sender

GUILD, OTHER, NO_CHANNEL = 1, 2, 3
CHANNELS = {GUILD: 101, OTHER: 202}


class FakeTime:
    """A clock whose sleep returns at once, having moved the clock by the time slept."""

    def __init__(self) -> None:
        self.now = 0.0

    def __call__(self) -> float:
        return self.now

    async def sleep(self, seconds: float) -> None:
        self.now += seconds
        await asyncio.sleep(0)


class FakeChannels:
    """``send`` that records each post with the time it was made, or raises the next planned error."""

    def __init__(self, clock: FakeTime) -> None:
        self.clock = clock
        self.posts: list[tuple[int, str, float]] = []
        self.errors: list[Exception | None] = []  # one per coming call: None posts, else raised

    async def __call__(self, channel_id: int, content: str) -> None:
        error = self.errors.pop(0) if self.errors else None
        if error is not None:
            raise error
        self.posts.append((channel_id, content, self.clock()))

    def lines(self, channel_id: int = CHANNELS[GUILD]) -> list[str]:
        return [line for cid, content, _ in self.posts if cid == channel_id for line in content.split("\n")]


def http_error(cls: type[discord.HTTPException], status: int, message: str, code: int = 0):
    return cls(SimpleNamespace(status=status, reason=message), {"message": message, "code": code})


def entry(i: int, kind: str = "refused", guild: int = GUILD, text: str = "") -> AuditEntry:
    return AuditEntry(guild, kind, text or f"<@{1000 + i}> asked for entry {i}: banned word", float(i))


async def until(condition, steps: int = 1000) -> None:
    """Let the background task run until ``condition()`` holds."""
    for _ in range(steps):
        if condition():
            return
        await asyncio.sleep(0)
    raise AssertionError("the audit task never got there")


@pytest.fixture
def clock() -> FakeTime:
    return FakeTime()


@pytest.fixture
def channels(clock) -> FakeChannels:
    return FakeChannels(clock)


def audit_log(channels: FakeChannels, clock: FakeTime, **options) -> AuditLog:
    return AuditLog(channels, CHANNELS.get, clock=clock, sleep=clock.sleep, **options)


def assert_within_limits(posts, max_lines: int = 20) -> None:
    """Each message fits Discord and the line cap, and no two neighbours could have been one."""
    for _, content, _ in posts:
        assert len(content) <= MESSAGE_LIMIT and content.count("\n") < max_lines
    for (_, first, _), (_, second, _) in zip(posts, posts[1:]):
        lines = first.count("\n") + second.count("\n") + 2
        assert lines > max_lines or len(first) + 1 + len(second) > MESSAGE_LIMIT


async def test_a_flood_in_one_window_becomes_a_handful_of_messages(clock, channels):
    audit = audit_log(channels, clock, max_pending=100)
    await audit.start()
    texts = [f"<@{1000 + i}> asked for {'a very long prompt ' * (i % 9)}entry {i}" for i in range(300)]
    for i, text in enumerate(texts):
        audit.record(entry(i, text=text))
    await until(lambda: channels.posts)
    await audit.stop()

    assert 6 <= len(channels.posts) <= 10  # 101 lines; the length limit binds before the line cap
    assert_within_limits(channels.posts)
    assert {at for *_, at in channels.posts} == {5.0}  # one batch, when the window closed
    assert channels.lines() == ["… and 200 more refusals", *(f"refused: {t}" for t in texts[200:])]


async def test_the_summary_counts_each_kind_pushed_out(clock, channels):
    audit = audit_log(channels, clock, max_pending=10)
    for i in range(150):
        audit.record(entry(i))
    for i in range(60):
        audit.record(entry(i, kind="strike"))
    audit.record(entry(0, kind="spoilered"))
    await audit.flush()
    lines = channels.lines()
    assert lines[0] == "… and 150 more refusals, 51 more strikes"
    assert len(lines) == 11 and lines[-1].startswith("spoilered: ")


async def test_a_server_gets_at_most_one_batch_per_window(clock, channels):
    audit = audit_log(channels, clock)
    await audit.start()
    audit.record(entry(0))
    await until(lambda: len(channels.posts) == 1)
    clock.now += 1  # 1 s after the batch, more arrive: they wait for their own window
    audit.record(entry(1))
    audit.record(entry(2))
    await until(lambda: len(channels.posts) == 2)
    await audit.stop()
    assert [at for *_, at in channels.posts] == [5.0, 11.0]
    assert channels.posts[1][1] == "refused: <@1001> asked for entry 1: banned word\n" \
                                   "refused: <@1002> asked for entry 2: banned word"


async def test_servers_never_mix_and_one_without_a_channel_posts_nothing(clock, channels, caplog):
    audit = audit_log(channels, clock)
    for i in range(30):
        audit.record(entry(i, guild=(GUILD, OTHER, NO_CHANNEL)[i % 3]))
    with caplog.at_level(logging.DEBUG, logger="plugins.community.audit"):
        await audit.flush()
    assert {cid for cid, *_ in channels.posts} == {101, 202}
    assert channels.lines(101) == [f"refused: <@{1000 + i}> asked for entry {i}: banned word" for i in range(0, 30, 3)]
    assert channels.lines(202) == [f"refused: <@{1000 + i}> asked for entry {i}: banned word" for i in range(1, 30, 3)]
    assert "guild 3 has no audit channel: 10 audit lines dropped" in caplog.text


async def test_one_entry_is_one_line_that_fits_a_message(clock, channels):
    audit = audit_log(channels, clock)
    audit.record(entry(0, kind="settings", text="<@7> set words.refuse to:\nnsfw\n\nnude"))
    audit.record(entry(1, text="x" * 5000))
    await audit.flush()
    assert channels.lines()[0] == "settings: <@7> set words.refuse to: nsfw nude"
    assert [len(content) for _, content, _ in channels.posts[1:]] == [MESSAGE_LIMIT]


@pytest.mark.parametrize("error", [
    http_error(discord.DiscordServerError, 503, "Service Unavailable"),
    http_error(discord.HTTPException, 429, "You are being rate limited."),
    ConnectionResetError("connection reset by peer"),
    asyncio.TimeoutError(),
], ids=["503", "429", "OSError", "timeout"])
async def test_a_transient_failure_keeps_what_was_not_posted_for_the_next_window(clock, channels, caplog, error):
    audit = audit_log(channels, clock)
    await audit.start()
    for i in range(45):  # three messages; the second fails once
        audit.record(entry(i))
    channels.errors = [None, error]
    await until(lambda: not channels.errors)
    audit.record(entry(45))  # arrives while the rest waits for its retry: it joins, after it
    await until(lambda: len(channels.posts) == 3)
    await audit.stop()
    assert [at for *_, at in channels.posts] == [5.0, 10.0, 10.0]
    assert channels.lines() == [f"refused: <@{1000 + i}> asked for entry {i}: banned word" for i in range(46)]
    assert "25 lines kept for the next batch" in caplog.text


@pytest.mark.parametrize("error", [
    http_error(discord.Forbidden, 403, "Missing Access", 50001),
    http_error(discord.NotFound, 404, "Unknown Channel", 10003),
    RuntimeError("Session is closed"),
], ids=["403", "404", "other"])
async def test_a_permanent_failure_drops_the_batch_with_a_log_line_and_the_task_lives_on(
        clock, channels, caplog, error):
    audit = audit_log(channels, clock)
    await audit.start()
    for i in range(30):
        audit.record(entry(i))
    channels.errors = [error]
    await until(lambda: not channels.errors)
    audit.record(entry(30))
    audit.record(entry(31, guild=OTHER))
    await until(lambda: len(channels.posts) == 2)
    await audit.stop()
    assert channels.lines() == ["refused: <@1030> asked for entry 30: banned word"]
    assert channels.lines(202) == ["refused: <@1031> asked for entry 31: banned word"]
    assert "audit channel of guild 1 refused the post" in caplog.text and "30 lines dropped" in caplog.text


async def test_stop_posts_what_is_pending(clock, channels):
    async def window_never_closes(seconds: float) -> None:
        await asyncio.get_running_loop().create_future()

    audit = AuditLog(channels, CHANNELS.get, clock=clock, sleep=window_never_closes)
    await audit.start()
    audit.record(entry(0))
    audit.record(entry(1, guild=OTHER))
    await asyncio.sleep(0)  # the task is now waiting for the window
    await audit.stop()
    assert [(cid, at) for cid, _, at in channels.posts] == [(101, 0.0), (202, 0.0)]
    await audit.stop()  # twice is harmless


async def test_end_to_end_no_429_no_violation_no_ping(discord_emulator):
    """200 entries through discord.py to the emulated audit channel: ten messages, each within
    Discord's limits, none rate limited, and none allowed to ping its mentions or @everyone."""
    emu = discord_emulator
    audit_channel = emu.add_channel("audit")
    alice = emu.make_user("alice")
    client = discord.Client(intents=discord.Intents.default(), guild_ready_timeout=0.05)
    texts = [f"{alice.mention} asked for @everyone in job {i}: banned word" for i in range(200)]
    async with emu.run_bot(client):
        audit = AuditLog(channel_sender(client), {int(emu.guild_id): int(audit_channel)}.get)
        for i, text in enumerate(texts):
            audit.record(AuditEntry(int(emu.guild_id), "refused", text, float(i)))
        await audit.flush()

    posts = [r for r in emu.requests if r.method == "POST" and r.path == f"/channels/{audit_channel}/messages"]
    assert len(posts) == 10 and all(r.status == 200 for r in posts)
    assert all(r.json["allowed_mentions"] == {"parse": []} for r in posts)
    assert not [r for r in emu.requests if r.status == 429]
    assert not emu.violations and not emu.unhandled
    lines = [line for m in emu.channel_messages(audit_channel) for line in m.content.split("\n")]
    assert lines == [f"refused: {text}" for text in texts]


async def test_flush_waits_for_the_batch_the_background_task_is_posting(clock, channels):
    """The window closed and the task took the batch; a flush at that moment (what a test, or
    a stop, calls to see everything posted) returns only once that batch is posted too."""
    release = asyncio.Event()
    sent = channels.__call__

    async def slow_send(channel_id: int, content: str) -> None:
        await release.wait()
        await sent(channel_id, content)

    audit = AuditLog(slow_send, CHANNELS.get, clock=clock, sleep=clock.sleep)
    await audit.start()
    audit.record(entry(0))
    await until(lambda: not audit._pending)  # the task has taken the batch and is posting it
    flushing = asyncio.create_task(audit.flush())
    for _ in range(50):  # every step the flush could take without the batch being posted
        await asyncio.sleep(0)
    assert not flushing.done(), "flush returned while a batch was still being posted"
    release.set()
    await flushing
    assert channels.lines() == ["refused: <@1000> asked for entry 0: banned word"]
    await audit.stop()
